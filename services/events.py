"""The step log of every video: rows in the database, mirrored live to subscribers.

A writer adds an event inside its own transaction (`add`) and publishes it after the commit
(`publish`). A reader replays from the database (`since`) and follows live (`subscribe`); it
drops duplicates by event id, so subscribing before replaying loses nothing.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

from sqlalchemy import insert
from sqlmodel import Session, select

from models import Video, VideoEvent
from services.db import Database

log = logging.getLogger(__name__)
Listener = Callable[[VideoEvent], None]

# The seed's step numbers, kept so that its clients read our logs the same way.
STARTED, VALIDATING, IMAGE, CALLING_API, WAITING, PROCESSING, DOWNLOADING, SAVING, UPDATING, COMPLETED = range(10)


class EventLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._listeners: dict[str | None, set[Listener]] = defaultdict(set)

    @staticmethod
    def add(session: Session, video_id: str, step: int, message: str, *,
            progress: int | None = None, status: str | None = None) -> VideoEvent:
        """Append an event inside the caller's transaction; publish it after the commit."""
        event = VideoEvent(video_id=video_id, step=step, message=message[:1000], progress=progress, status=status)
        # A plain INSERT ... RETURNING: the event is written once and never changed, so the ORM's
        # unit of work (the costliest part of a runner step) has nothing to track.
        event.id = session.execute(insert(VideoEvent).values(
            video_id=event.video_id, step=event.step, message=event.message, progress=event.progress,
            status=event.status, created_at=event.created_at).returning(VideoEvent.id)).scalar_one()
        return event

    def publish(self, event: VideoEvent) -> None:
        """Hand a committed event to everyone following its video (and to those following all)."""
        for listener in [*self._listeners.get(event.video_id, ()), *self._listeners.get(None, ())]:
            try:
                listener(event)
            except Exception:  # one broken page must not stop the job or other pages
                log.exception('event listener failed for video %s', event.video_id)

    def subscribe(self, video_id: str | None, listener: Listener) -> Callable[[], None]:
        """Follow one video's events (or every video's, with None). Returns the unsubscribe."""
        self._listeners[video_id].add(listener)

        def unsubscribe() -> None:
            listeners = self._listeners.get(video_id)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[video_id]
        return unsubscribe

    async def follow(self, video_id: str, after_id: int = 0, *, recheck_seconds: float = 3.0,
                     max_seconds: float | None = None) -> AsyncIterator[VideoEvent]:
        """Every event of a video after `after_id`, in order and each once: the stored ones first,
        then the live pushes. Subscribes before reading, so nothing slips in between; re-reads the
        database when no push came for `recheck_seconds` (another replica's runner may be working
        it). Ends after the terminal event, or at once if the video ended before `after_id`."""
        queue: asyncio.Queue[VideoEvent] = asyncio.Queue()
        unsubscribe = self.subscribe(video_id, queue.put_nowait)
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        last = after_id
        try:
            pending = await self.db.call(self.since, video_id, last)
            if not pending and await self.db.call(self._finished, video_id):
                return
            while True:
                for event in pending:
                    if event.id <= last:
                        continue  # a push that the database read also found
                    last = event.id
                    yield event
                    if event.status:
                        return
                wait = recheck_seconds if deadline is None else min(recheck_seconds, deadline - time.monotonic())
                if wait <= 0:
                    return
                try:
                    pending = [await asyncio.wait_for(queue.get(), wait)]
                    while not queue.empty():
                        pending.append(queue.get_nowait())
                    pending.sort(key=lambda e: e.id)
                except asyncio.TimeoutError:
                    pending = await self.db.call(self.since, video_id, last)
        finally:
            unsubscribe()

    def _finished(self, video_id: str) -> bool:
        with self.db.session() as session:
            video = session.get(Video, video_id)
            return video is None or video.is_terminal

    def since(self, video_id: str, after_id: int = 0) -> list[VideoEvent]:
        """Every stored event of a video after `after_id`, oldest first."""
        with self.db.session() as session:
            return list(session.exec(select(VideoEvent).where(
                VideoEvent.video_id == video_id, VideoEvent.id > after_id).order_by(VideoEvent.id)))

    def listener_count(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())
