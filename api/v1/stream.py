"""A video's steps as Server-Sent Events, for `EventSource` and scripts.

One SSE event per `VideoEvent`, with the event's id as `id:`, so a client that reconnects with
`Last-Event-ID` gets exactly the events it missed. The database is the truth: the stream
subscribes first, then replays from the database, then follows the live pushes, dropping ids it
has sent; it also re-reads the database every few seconds, in case the video is worked by another
replica's runner (whose pushes never reach this process). It ends after the terminal event, or
after 30 minutes; a comment line every 15 s keeps proxies from closing an idle connection.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, Query
from sse_starlette import EventSourceResponse

from api.v1.problems import responses
from api.v1.schemas import EventOut
from api.v1.videos import MAX_EVENT_ID, visible_video
from models import User
from services import Services

MAX_STREAM_SECONDS = 30 * 60
DATABASE_RECHECK_SECONDS = 3.0
RETRY_MILLISECONDS = 2000  # what an EventSource waits before reconnecting


def router(services: Services, stream_user) -> APIRouter:
    routes = APIRouter(tags=['videos'])

    @routes.get('/videos/{video_id}/stream', response_class=EventSourceResponse, operation_id='streamVideo', responses={
        200: {'description': 'text/event-stream: one event per step; `data` is JSON with step, message, '
                             'timestamp, and progress, status and video_url where they apply',
              'content': {'text/event-stream': {'schema': {'type': 'string'}}}},
        **responses(401, 404, 422)})
    async def stream_video(video_id: str, user: User = Depends(stream_user),
                           last_event_id: str | None = Header(None, max_length=32, description=(
                               'The id of the last event received: the stream resumes after it.')),
                           after: int = Query(0, ge=0, le=MAX_EVENT_ID, description=(
                               'Like Last-Event-ID, for clients that cannot set headers'))) -> EventSourceResponse:
        """Follow a video's steps live (Server-Sent Events), from the start or after Last-Event-ID."""
        video = await visible_video(services, user, video_id)
        resume = after
        if last_event_id and last_event_id.strip().isdigit():
            resume = max(resume, min(int(last_event_id.strip()), MAX_EVENT_ID))
        return EventSourceResponse(follow(services, video.id, resume), ping=services.settings.sse_heartbeat_seconds,
                                   headers={'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no'})

    return routes


async def follow(services: Services, video_id: str, after_id: int,
                 max_seconds: float = MAX_STREAM_SECONDS) -> AsyncIterator[dict]:
    """The SSE events of one video after `after_id`, until its terminal event or `max_seconds`."""
    first = True
    async for event in services.events.follow(video_id, after_id, recheck_seconds=DATABASE_RECHECK_SECONDS,
                                              max_seconds=max_seconds):
        message = {'id': str(event.id), 'data': json.dumps(EventOut.of(event).payload(), ensure_ascii=False)}
        if first:
            message['retry'] = RETRY_MILLISECONDS
            first = False
        yield message
