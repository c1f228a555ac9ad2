"""Videos over HTTP: generate (idempotent, rate-limited), list, read, events, content, cancel, delete.

Thin routes: every rule is in services/videos.py (submit, cancel, delete, page) and
services/access.py (who may see what). A video that is not the caller's answers exactly like one
that does not exist.
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.media import file_response
from api.v1.auth import RateLimit
from api.v1.problems import ApiError, not_found, responses
from api.v1.schemas import EventList, EventOut, GenerateRequest, VideoOut, VideoPage, VideoStatus
from models import User, Video, utcnow
from services import Services, access
from services.videos import KeyReused, SubmitError, VideoRequest

MAX_ID = 64
MAX_EVENT_ID = 2 ** 53  # larger ids cannot exist, and would overflow the database's integers

# How a SubmitError's field maps to a status and a stable code.
SUBMIT_ERRORS = {'credits': (402, 'insufficient_credits'), 'plan': (403, 'plan_cannot_generate'),
                 'user': (403, 'account_disabled')}
# OpenAPI links: where the id of a new video can be used (clients and API fuzzers follow them).
VIDEO_LINKS = {name: {'operationId': operation, 'parameters': {'video_id': '$response.body#/id'}}
               for name, operation in (('GetVideo', 'getVideo'), ('GetVideoEvents', 'getVideoEvents'),
                                       ('StreamVideo', 'streamVideo'), ('GetVideoContent', 'getVideoContent'),
                                       ('CancelVideo', 'cancelVideo'), ('DeleteVideo', 'deleteVideo'))}
GENERATE_BODY = {
    'requestBody': {
        'required': True,
        'content': {
            'application/json': {'schema': GenerateRequest.model_json_schema()},
            'multipart/form-data': {'schema': {
                'type': 'object', 'required': ['prompt'],
                'properties': {'prompt': {'type': 'string'}, 'model': {'type': 'string'},
                               'size': {'type': 'string'}, 'seconds': {'type': 'integer'},
                               'image': {'type': 'string', 'format': 'binary'}}}},
        },
    },
}


def router(services: Services, api_user, stream_user) -> APIRouter:
    routes = APIRouter(tags=['videos'])
    limit = RateLimit(services.settings.api_generate_per_minute)
    in_flight: set[tuple[int, str]] = set()  # (user, idempotency key) of submits being worked now

    @routes.post('/videos/generate', status_code=201, response_model=VideoOut, openapi_extra=GENERATE_BODY,
                 operation_id='generateVideo',
                 responses={200: {'description': 'The video made earlier with this Idempotency-Key',
                                  'model': VideoOut}, 201: {'description': 'A new video', 'links': VIDEO_LINKS},
                            **responses(401, 402, 403, 409, 413, 415, 422, 429)})
    async def generate(request: Request, response: Response, user: User = Depends(api_user),
                       idempotency_key: str | None = Header(None, max_length=64, description=(
                           'Repeat a request with the same key to get the same video, charged once. '
                           'A different request with a used key is refused (422).'))) -> VideoOut:
        """Charge the caller and queue a video. JSON (`image` as base64) or multipart/form-data
        (`image` as a file). 201 for a new video, 200 for a repeat of an earlier request."""
        key = (idempotency_key or '').strip() or uuid.uuid4().hex
        if (wait := limit.take(user.id)) is not None:
            raise ApiError(429, 'rate_limited', f'At most {limit.per_minute} videos a minute; try again in {wait} s.',
                           headers={'Retry-After': str(wait)})
        flight = (user.id, key)
        if flight in in_flight:
            raise ApiError(409, 'request_in_flight', 'A request with this Idempotency-Key is still being worked; '
                           'repeat it when that one has been answered.')
        in_flight.add(flight)  # before the body is read: a slow upload holds its key too
        try:
            video_request = await read_generate_request(request, services.settings.max_upload_bytes)
            started = utcnow()
            video = await services.videos.submit(user.id, video_request, key)
        except KeyReused:
            raise ApiError(422, 'idempotency_key_reused', 'This Idempotency-Key was already used for a '
                           'different request.') from None
        except SubmitError as error:
            status, code = SUBMIT_ERRORS.get(error.field, (422, f'invalid_{error.field}'))
            raise ApiError(status, code, error.message, field=error.field) from None
        finally:
            in_flight.discard(flight)
        if video.created_at < started:
            response.status_code = 200
        return VideoOut.of(video)

    @routes.get('/videos', response_model=VideoPage, operation_id='listVideos', responses=responses(401, 422))
    async def list_videos(user: User = Depends(api_user), status: VideoStatus | None = None,
                          model: str | None = Query(None, max_length=64),
                          search: str | None = Query(None, max_length=200, description='Words in the prompt'),
                          cursor: str | None = Query(None, max_length=200),
                          limit: int = Query(24, ge=1, le=100)) -> VideoPage:
        """The caller's videos, newest first, a page at a time (follow `next_cursor`)."""
        try:
            videos, next_cursor = await services.db.call(services.videos.page, user_id=user.id, status=status,
                                                         model=model, search=search, cursor=cursor, limit=limit)
        except SubmitError as error:
            raise ApiError(422, 'invalid_cursor', error.message) from None
        return VideoPage(videos=[VideoOut.of(video) for video in videos], next_cursor=next_cursor)

    @routes.get('/videos/{video_id}', response_model=VideoOut, operation_id='getVideo', responses=responses(401, 404))
    async def get_video(video_id: str, user: User = Depends(api_user)) -> VideoOut:
        return VideoOut.of(await visible_video(services, user, video_id))

    @routes.get('/videos/{video_id}/events', response_model=EventList, operation_id='getVideoEvents', responses=responses(401, 404, 422))
    async def video_events(video_id: str, user: User = Depends(api_user),
                           after: int = Query(0, ge=0, le=MAX_EVENT_ID,
                                              description='Only events with a larger id')) -> EventList:
        """The video's step log from the database, oldest first."""
        video = await visible_video(services, user, video_id)
        events = await services.db.call(services.events.since, video.id, after)
        return EventList(events=[EventOut.of(event) for event in events])

    @routes.get('/videos/{video_id}/content', response_class=Response, operation_id='getVideoContent', responses={
        200: {'description': 'The file (answers Range requests)',
              'content': {'video/mp4': {}, 'image/jpeg': {}}},
        206: {'description': 'Part of the file, for a Range request'}, **responses(401, 404, 422)})
    async def video_content(video_id: str, user: User = Depends(api_user),
                            variant: str = Query('video', pattern='^(video|thumbnail)$'),
                            download: bool = False) -> Response:
        """The finished video (MP4) or its thumbnail (JPEG), with HTTP Range support for seeking."""
        await visible_video(services, user, video_id)
        content = await services.db.call(file_response, services, user, video_id, variant, download)
        if content is None:
            raise ApiError(404, 'content_not_available', 'This video has no such file (yet).')
        return content

    @routes.post('/videos/{video_id}/cancel', response_model=VideoOut, operation_id='cancelVideo', responses=responses(401, 404, 409))
    async def cancel_video(video_id: str, user: User = Depends(api_user)) -> VideoOut:
        """Stop a queued or running video; its price is refunded in full."""
        video = await visible_video(services, user, video_id)
        if video.is_terminal or not await services.videos.cancel(user, video.id):
            raise ApiError(409, 'video_finished', 'This video has already finished; there is nothing to cancel.')
        return VideoOut.of(await services.db.call(services.videos.get, video.id))

    @routes.delete('/videos/{video_id}', status_code=204, response_class=Response, operation_id='deleteVideo',
                   responses=responses(401, 404, 409))
    async def delete_video(video_id: str, user: User = Depends(api_user)) -> Response:
        """Delete a finished video and its files (cancel a running one first)."""
        video = await visible_video(services, user, video_id)
        if not video.is_terminal:
            raise ApiError(409, 'video_active', 'This video is still being made; cancel it first.')
        if not await services.videos.delete(user, video.id):
            raise not_found()
        return Response(status_code=204)

    return routes


async def visible_video(services: Services, user: User, video_id: str) -> Video:
    """The video if the caller may see it (services/access.py) and it is not deleted; else 404."""
    video = await services.db.call(services.videos.get, video_id) if len(video_id) <= MAX_ID else None
    if not access.can_view(user, video) or video.deleted_at is not None:
        raise not_found()
    return video


async def read_generate_request(request: Request, max_image_bytes: int) -> VideoRequest:
    """The generate request from a JSON or a multipart body; 4xx problems for anything else."""
    content_type = request.headers.get('content-type', '').split(';')[0].strip().lower()
    image: bytes | None = None
    if content_type == 'application/json' or content_type.endswith('+json'):
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise ApiError(422, 'invalid_json', 'The body is not valid JSON.') from None
        if not isinstance(data, dict):
            raise ApiError(422, 'invalid_json', 'The body must be a JSON object.')
    elif content_type == 'multipart/form-data':
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception:  # malformed multipart, too many parts: the client's mistake, never ours
            raise ApiError(422, 'invalid_form', 'The multipart body could not be read.') from None
        data = {name: value for name, value in form.items() if isinstance(value, str) and name != 'image'}
        upload = form.get('image')
        if isinstance(upload, UploadFile):
            image = await upload.read(max_image_bytes + 1)
        elif isinstance(upload, str) and upload:
            data['image'] = upload  # base64 in a text field works too
    else:
        raise ApiError(415, 'unsupported_media_type', 'Send the request as application/json or multipart/form-data.')
    try:
        body = GenerateRequest.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    if body.image:
        image = decode_image(body.image)
    if image is not None and len(image) > max_image_bytes:
        raise ApiError(413, 'image_too_large', f'The reference image can have at most {max_image_bytes // 2**20} MB.')
    if image is not None and not image:
        image = None
    return VideoRequest(prompt=body.prompt, model=body.model, size=body.size, seconds=body.seconds, image=image)


def decode_image(text: str) -> bytes:
    if text.startswith('data:') and ',' in text:  # a data: URL, as a browser makes them
        text = text.split(',', 1)[1]
    try:
        return base64.b64decode(''.join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, 'invalid_image', 'The image is not valid base64.') from None
