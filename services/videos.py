"""Submitting videos: validate, price and, in one transaction, charge and queue.

Used by the generate page and (later) the HTTP API alike, so every rule lives here once.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy import update
from sqlmodel import Session, func, select

from models import CreditEntry, User, Video, VideoEvent, utcnow
from services import access, catalog, credits, images, paging
from services.config import Settings
from services.db import Database
from services.events import STARTED, UPDATING, EventLog
from services.storage import Storage

log = logging.getLogger(__name__)
PROMPT_MIN, PROMPT_MAX = 10, 2000


@dataclass
class VideoRequest:
    prompt: str
    model: str = catalog.DEFAULT_MODEL
    size: str = catalog.DEFAULT_SIZE
    seconds: int = catalog.DEFAULT_SECONDS
    image: bytes | None = None  # the user's reference image, as uploaded
    remix_of: str | None = None  # the completed video this one remixes (its render is the source)


class SubmitError(Exception):
    """A reason, fit to show the user, why a video was not queued. `field` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class KeyReused(SubmitError):
    """The idempotency key was used before, for a different request."""

    def __init__(self) -> None:
        super().__init__('idempotency_key', 'This idempotency key was already used for a different request.')


def prompt_error(prompt: str | None) -> str | None:
    text = (prompt or '').strip()
    if not text:
        return 'Describe the video you want.'
    if len(text) < PROMPT_MIN:
        return f'The prompt needs at least {PROMPT_MIN} characters ({len(text)} so far).'
    if len(text) > PROMPT_MAX:
        return f'The prompt can have at most {PROMPT_MAX:,} characters ({len(text):,} now).'
    if any(ord(ch) < 32 and ch not in '\n\t' for ch in text):
        return 'The prompt contains control characters.'
    return None


def options_error(model: str, size: str, seconds: int) -> tuple[str, str] | None:
    if model not in catalog.MODELS:
        return 'model', 'Choose one of the offered models.'
    if size not in catalog.sizes_for(model):
        return 'size', f'{catalog.MODELS[model]} cannot make videos at {size}; choose another size.'
    if seconds not in catalog.SECONDS:
        return 'seconds', 'Choose a length of 4, 8 or 12 seconds.'
    return None


class Videos:
    def __init__(self, db: Database, events: EventLog, storage: Storage, settings: Settings,
                 on_submitted: Callable[[], None] = lambda: None,
                 on_cancelled: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.db = db
        self.events = events
        self.storage = storage
        self.settings = settings
        self.on_submitted = on_submitted
        self.on_cancelled = on_cancelled  # drops a started render at the provider

    def price(self, model: str, size: str, seconds: int) -> int:
        return catalog.price(model, size, seconds, self.settings.credits_per_second)

    async def submit(self, user_id: int, request: VideoRequest, idempotency_key: str,
                     within: Callable[[Session, Video], None] | None = None) -> Video:
        """Charge the user and queue a video; the same key returns the same video, charged once.
        `within` runs inside the same transaction with the new video (an admin's audit entry).

        Raises SubmitError with a message for the user when the request cannot be taken."""
        if not idempotency_key or len(idempotency_key) > 64:
            raise SubmitError('request', 'This form has expired; reload the page and try again.')
        if error := prompt_error(request.prompt):
            raise SubmitError('prompt', error)
        if error := options_error(request.model, request.size, request.seconds):
            raise SubmitError(*error)
        reference = None
        if request.image is not None:
            try:
                cleaned = await asyncio.to_thread(images.validate, request.image,
                                                  max_bytes=self.settings.max_upload_bytes,
                                                  max_pixels=self.settings.max_image_pixels)
            except images.ImageRejected as rejection:
                raise SubmitError('image', str(rejection)) from None
            reference = await asyncio.to_thread(self.storage.save_bytes, 'references', '.jpg', cleaned)
        try:
            video, event = await self.db.call(self._submit_tx, user_id, request, idempotency_key, reference, within)
        except BaseException:
            self.storage.delete(reference)
            raise
        if event is None:  # a repeat of an earlier submit
            self.storage.delete(reference)
        else:
            self.events.publish(event)
            self.on_submitted()
        return video

    def _submit_tx(self, user_id: int, request: VideoRequest, key: str, reference: str | None, within=None):
        fingerprint = request_fingerprint(request)
        try:
            with self.db.session() as session:
                if existing := self._by_key(session, user_id, key):
                    return self._same_request(existing, fingerprint), None
                user = session.get(User, user_id)
                if user is None or user.disabled:
                    raise SubmitError('user', 'Your account cannot generate videos.')
                if not catalog.plan(user.plan).can_generate:
                    raise SubmitError('plan', f'Your {catalog.plan(user.plan).label} plan cannot generate videos; '
                                      'ask an administrator to upgrade it.')
                cost = self.price(request.model, request.size, request.seconds)
                video = Video(id=uuid.uuid4().hex, user_id=user_id, idempotency_key=key,
                              prompt=request.prompt.strip(), model=request.model, size=request.size,
                              seconds=request.seconds, cost=cost, reference_path=reference,
                              provider=self.settings.provider, request_hash=fingerprint, remix_of=request.remix_of)
                session.add(video)
                session.flush()
                try:
                    credits.reserve(session, user_id, video.id, cost)
                except credits.InsufficientCredits:
                    raise SubmitError('credits', f'This video costs {cost:,} credits and you have '
                                      f'{user.credits:,}. Choose a shorter or smaller video, '
                                      'or ask an administrator for credits.') from None
                event = self.events.add(session, video.id, STARTED, '🚀 Video generation task started')
                if within:
                    within(session, video)
                return video, event
        except IntegrityError:  # the same key won a race in another transaction
            with self.db.session() as session:
                if existing := self._by_key(session, user_id, key):
                    return self._same_request(existing, fingerprint), None
            raise

    @staticmethod
    def _same_request(video: Video, fingerprint: str) -> Video:
        if video.request_hash and video.request_hash != fingerprint:
            raise KeyReused
        return video

    async def cancel(self, user: User, video_id: str,
                     within: Callable[[Session, Video], None] | None = None) -> bool:
        """Stop a queued or running video and refund it in full (see docs/architecture.md for the
        policy). A render already started is deleted at the provider where it allows that.
        Returns False when the video is not the user's to cancel or has already ended."""
        result = await self.db.call(self._cancel_tx, user, video_id, within)
        if result is None:
            return False
        event, provider_job_id = result
        self.events.publish(event)
        if provider_job_id and self.on_cancelled:
            await self.on_cancelled(provider_job_id)
        return True

    def _cancel_tx(self, user: User, video_id: str, within=None):
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if not access.can_view(user, video) or video.is_terminal:
                return None
            result = session.exec(update(Video).where(Video.id == video_id, Video.status.in_(('queued', 'running')))
                                  .values(status='cancelled', phase='done', error_code='cancelled',
                                          error_message='Cancelled at your request.', finished_at=utcnow(),
                                          lease_owner=None, lease_expires_at=None))
            if result.rowcount != 1:
                return None
            if within:
                within(session, video)
            refunded = credits.refund(session, video_id, 'Refund: cancelled')
            event = self.events.add(session, video_id, UPDATING, f'🛑 Cancelled. {refunded:,} credits were refunded.',
                                    status='cancelled')
            return event, video.provider_job_id

    async def retry(self, user: User, video_id: str, key: str,
                    within: Callable[[Session, Video], None] | None = None) -> Video:
        """Queue a failed or cancelled video again: a new video with the same settings (and
        reference image), charged to its owner at today's price like any submit."""
        source = await self.db.call(self.get, str(video_id)[:32])
        if not access.can_view(user, source) or source.deleted_at is not None:
            raise SubmitError('video', 'There is no such video.')
        if source.status not in ('failed', 'cancelled'):
            raise SubmitError('video', 'Only a failed or cancelled video can be retried.')
        image = None
        if source.reference_path:
            try:
                image = await asyncio.to_thread(self.storage.path(source.reference_path).read_bytes)
            except (OSError, ValueError):
                raise SubmitError('image', 'The reference image of this video is gone; '
                                  'start a new video instead.') from None
        request = VideoRequest(source.prompt, source.model, source.size, source.seconds, image, source.remix_of)
        return await self.submit(source.user_id, request, key, within)

    async def remix(self, user: User, video_id: str, prompt: str, key: str,
                    within: Callable[[Session, Video], None] | None = None) -> Video:
        """Queue a remix of a completed video: the provider changes its render as `prompt` says.
        A new video with the source's settings, charged to its owner like any submit."""
        source = await self.db.call(self.get, str(video_id)[:32])
        if not access.can_play(user, source) or source.deleted_at is not None:
            raise SubmitError('video', 'There is no such video.')
        if source.status != 'completed' or not source.provider_job_id:
            raise SubmitError('video', 'Only a completed video can be remixed.')
        if source.provider != self.settings.provider:
            raise SubmitError('video', 'This video was made by another video service and cannot be remixed here.')
        request = VideoRequest(prompt or '', source.model, source.size, source.seconds, None, source.id)
        return await self.submit(source.user_id, request, key, within)

    @staticmethod
    def _by_key(session, user_id: int, key: str) -> Video | None:
        return session.exec(select(Video).where(Video.user_id == user_id, Video.idempotency_key == key)).first()

    def get(self, video_id: str) -> Video | None:
        with self.db.session() as session:
            return session.get(Video, video_id)

    def page(self, *, user_id: int | None = None, status: str | None = None, model: str | None = None,
             review: str | None = None, search: str | None = None, cursor: str | None = None,
             limit: int = 24) -> tuple[list[Video], str | None]:
        """Videos newest first, filtered, one page at a time (keyset paging: fast on page 1,000
        too). `user_id=None` lists everyone's (admins). Returns the page and the cursor of the
        next one, or None at the end. Deleted videos are never listed."""
        query = select(Video).where(Video.deleted_at.is_(None))
        if user_id is not None:
            query = query.where(Video.user_id == user_id)
        if status:
            query = query.where(Video.status == status)
        if model:
            query = query.where(Video.model == model)
        if review:
            query = query.where(Video.review_status == review)
        if search and search.strip():
            query = query.where(Video.prompt.ilike(paging.like(search), escape='\\'))
        try:
            if (after := paging.older_than(cursor)) is not None:
                query = query.where(after)
        except paging.BadCursor as error:
            raise SubmitError('cursor', str(error)) from None
        with self.db.session() as session:
            return paging.fetch(session, query.order_by(Video.created_at.desc(), Video.id.desc()), limit,
                                paging.video_cursor)

    def ledger(self, video_id: str) -> list[CreditEntry]:
        """The credit entries of one video (its charge, and its refund if it had one), oldest first."""
        with self.db.session() as session:
            return list(session.exec(select(CreditEntry).where(CreditEntry.video_id == video_id)
                                     .order_by(CreditEntry.id)))

    def recent(self, user_id: int, limit: int = 50) -> list[Video]:
        return self.page(user_id=user_id, limit=limit)[0]

    def count(self, user_id: int) -> int:
        with self.db.session() as session:
            return session.exec(select(func.count()).select_from(Video)
                                .where(Video.user_id == user_id, Video.deleted_at.is_(None))).one()

    async def delete(self, user: User, video_id: str) -> bool:
        """Delete a finished video of the user's (or any, for an admin): its files go, its row
        stays (marked deleted) so that the ledger keeps its history. A running video must be
        cancelled first. Returns False when there is nothing the user may delete."""
        video = await self.db.call(self._delete_tx, user, video_id)
        if video is None:
            return False
        for relative in (video.video_path, video.thumbnail_path, video.reference_path):
            await asyncio.to_thread(self.storage.delete, relative)
        return True

    def _delete_tx(self, user: User, video_id: str) -> Video | None:
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if not access.can_view(user, video) or video.deleted_at is not None or not video.is_terminal:
                return None
            video.deleted_at = utcnow()
            session.add(video)
            return video


def request_fingerprint(request: VideoRequest) -> str:
    """What makes two requests the same request (for idempotency keys)."""
    digest = hashlib.sha256()
    for part in (request.prompt.strip(), request.model, request.size, str(request.seconds)):
        digest.update(part.encode() + b'\0')
    digest.update(hashlib.sha256(request.image).digest() if request.image is not None else b'-')
    if request.remix_of:  # only then, so that earlier requests keep their fingerprints
        digest.update(b'\0remix:' + request.remix_of.encode())
    return digest.hexdigest()


def step_timings(events: list[VideoEvent]) -> list[tuple[int, datetime, float]]:
    """(step, when it began, seconds until the next step began or the last event) per step, in
    the order the steps first appeared."""
    starts: dict[int, datetime] = {}
    for event in events:
        starts.setdefault(event.step, event.created_at)
    order = sorted(starts.items(), key=lambda item: item[1])
    end = events[-1].created_at if events else None
    return [(step, began, max(0.0, ((order[n + 1][1] if n + 1 < len(order) else end) - began).total_seconds()))
            for n, (step, began) in enumerate(order)]
