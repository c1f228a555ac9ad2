"""The runner: claims due videos with a lease and drives each through its phases.

Phases, persisted on the video so that any runner can resume after a crash:

    validate -> image -> submit -> (submitting) -> poll -> download -> finalize -> done

`submitting` is written and committed *before* the provider's create call and replaced by
`poll` together with the provider's job id right after it. A video found in `submitting` has an
unknown outcome and is never blindly submitted again. Every write is fenced by the lease: a
runner that lost its lease (it stalled past the expiry and another runner took over) cannot
change the video any more.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models import Video, utcnow
from services import catalog, credits, images
from services.config import Settings
from services.db import Database
from services.events import (CALLING_API, COMPLETED, DOWNLOADING, IMAGE, PROCESSING, SAVING, UPDATING,
                             VALIDATING, WAITING, EventLog)
from services.providers import Provider, ProviderError, ProviderJob
from services.storage import Storage

log = logging.getLogger(__name__)
ACTIVE_STATUSES = ('queued', 'running')
CLAIM_BATCH = 50  # videos claimed per pass: a burst of 1,000 starts in steps, not all at once
# The step a failure is reported under, by the phase it happened in.
FAILURE_STEP = {'validate': VALIDATING, 'image': IMAGE, 'submit': CALLING_API, 'submitting': CALLING_API,
                'poll': PROCESSING, 'download': DOWNLOADING, 'finalize': UPDATING}


class LeaseLost(Exception):
    """Another runner owns this video now; stop touching it."""


class JobFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Runner:
    def __init__(self, db: Database, events: EventLog, provider: Provider, storage: Storage,
                 settings: Settings) -> None:
        self.db = db
        self.events = events
        self.provider = provider
        self.storage = storage
        self.settings = settings
        self.owner = f'{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}'
        self.jobs: dict[str, asyncio.Task] = {}
        self._chores: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(self._run(), name='video-runner')

    async def stop(self) -> None:
        """Stop working and hand every held video back, so the next runner resumes it at once."""
        if self._loop_task:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for task in list(self.jobs.values()):
            task.cancel()
        await asyncio.gather(*self.jobs.values(), return_exceptions=True)
        await self.db.call(self._release_all)

    def wake(self) -> None:
        """Look for due videos now (a submit just queued one)."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def _run(self) -> None:
        renew_every = self.settings.lease_seconds / 3
        last_renewal = 0.0
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + 3600
        while True:
            more_due = False
            try:
                if loop.time() >= next_sweep:  # temp files of downloads cut short by a crash
                    next_sweep = loop.time() + 3600
                    await asyncio.to_thread(self.storage.sweep_temp)
                if loop.time() - last_renewal >= renew_every:
                    last_renewal = loop.time()
                    lost = await self.db.call(self._renew, list(self.jobs))
                    for video_id in lost:
                        task = self.jobs.get(video_id)
                        if task is not None and not task.done():  # not one that just finished or paused
                            log.info('lease on video %s lost (cancelled or taken over); stopping its job', video_id)
                            task.cancel()
                free = self.settings.max_concurrent_jobs - len(self.jobs)
                if free > 0:
                    claimed = await self.db.call(self._claim, free)
                    for video_id in claimed:
                        self.jobs[video_id] = loop.create_task(self._work(video_id), name=f'video-{video_id}')
                    more_due = len(claimed) == CLAIM_BATCH  # take the next batch after this pass
            except Exception:
                log.exception('runner loop error; retrying')
            self._wake.clear()
            if more_due:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(self.settings.runner_idle_seconds, renew_every))

    # --- leases --------------------------------------------------------------------------------

    def _claim(self, limit: int) -> list[str]:
        """Take up to `limit` due videos: one conditional UPDATE ... RETURNING, so that of two
        runners racing for a video exactly one gets it (SQLite serialises writers; PostgreSQL
        re-checks the WHERE clause on the locked row)."""
        now = utcnow()
        expiry = now + timedelta(seconds=self.settings.lease_seconds)
        with self.db.session() as session:
            candidates = session.exec(
                select(Video.id).where(Video.status.in_(ACTIVE_STATUSES), _lease_free(now),
                                       or_(Video.next_attempt_at.is_(None), Video.next_attempt_at <= now))
                .order_by(Video.created_at).limit(min(limit, CLAIM_BATCH))).all()
            if not candidates:
                return []
            return list(session.execute(
                update(Video).where(Video.id.in_(candidates), Video.status.in_(ACTIVE_STATUSES), _lease_free(now))
                .values(lease_owner=self.owner, lease_expires_at=expiry, attempts=Video.attempts + 1)
                .returning(Video.id)).scalars())

    def _renew(self, video_ids: list[str]) -> list[str]:
        """Extend our leases; return the videos we no longer hold."""
        if not video_ids:
            return []
        expiry = utcnow() + timedelta(seconds=self.settings.lease_seconds)
        with self.db.session() as session:
            session.exec(update(Video).where(Video.id.in_(video_ids), Video.lease_owner == self.owner)
                         .values(lease_expires_at=expiry))
            held = set(session.exec(select(Video.id).where(Video.id.in_(video_ids),
                                                          Video.lease_owner == self.owner)).all())
        return [video_id for video_id in video_ids if video_id not in held]

    def _release_all(self) -> None:
        with self.db.session() as session:
            session.exec(update(Video).where(Video.lease_owner == self.owner)
                         .values(lease_owner=None, lease_expires_at=None))

    # --- one video -----------------------------------------------------------------------------

    async def _work(self, video_id: str) -> None:
        try:
            video = await self.db.call(self._load, video_id)
            started = video.started_at or utcnow()
            remaining = (started + timedelta(seconds=self.settings.job_timeout_seconds) - utcnow()).total_seconds()
            try:
                await asyncio.wait_for(self._advance(video_id), timeout=max(remaining, 0.001))
            except asyncio.TimeoutError:
                await self._forget_render(video_id)
                raise JobFailed('timeout', f'The video took longer than {self.settings.job_timeout_seconds / 60:g} '
                                'minutes and was stopped.') from None
        except JobFailed as failure:
            await self._finish_failed(video_id, failure.code, failure.message)
        except ProviderError as error:  # transient: try the same phase again later
            await self._retry_later(video_id, error)
        except LeaseLost:
            log.info('video %s is worked by another runner now', video_id)
        except asyncio.CancelledError:
            pass  # shutdown or lost lease: the video stays resumable
        except Exception:
            log.exception('video %s failed unexpectedly', video_id)
            await self._finish_failed(video_id, 'internal_error', 'Something went wrong on our side.')
        finally:
            self.jobs.pop(video_id, None)

    async def _advance(self, video_id: str) -> None:
        phases = {'validate': self._validate, 'image': self._prepare_image, 'submit': self._submit,
                  'submitting': self._reconcile, 'poll': self._poll, 'download': self._download,
                  'finalize': self._finalize}
        video = await self.db.call(self._load, video_id)
        if video.lease_owner != self.owner and not video.is_terminal:
            raise LeaseLost
        # Read once: every write goes through `_save`, which keeps this copy in step with the row
        # (and fails if the lease was lost, so a stale copy can never be written back).
        while not video.is_terminal and video.phase != 'done':
            await phases[video.phase](video)

    async def _validate(self, video: Video) -> None:
        valid = video.model in catalog.MODELS and video.size in catalog.sizes_for(video.model) \
            and video.seconds in catalog.SECONDS
        await self._save(video, (VALIDATING, '🔍 Validating request parameters...'),
                         status='running', started_at=video.started_at or utcnow(),
                         phase=video.phase if not valid else 'image' if video.reference_path else 'submit')
        if not valid:
            raise JobFailed('invalid_request', f'{video.model} cannot make a {video.seconds} s video at {video.size}.')

    async def _prepare_image(self, video: Video) -> None:
        await self._save(video, (IMAGE, '📸 Downloading and processing reference image...'))
        source = self.storage.path(video.reference_path)
        try:
            fitted = await asyncio.to_thread(images.fit, await asyncio.to_thread(source.read_bytes), video.size)
        except (OSError, ValueError) as error:
            raise JobFailed('invalid_image', 'The reference image could not be read.') from error
        relative = await asyncio.to_thread(self.storage.save_bytes, 'references', '.jpg', fitted)
        original = video.reference_path
        await self._save(video, (IMAGE, '✅ Image processed successfully'), phase='submit', reference_path=relative)
        await asyncio.to_thread(self.storage.delete, original)

    async def _submit(self, video: Video) -> None:
        # Committed before the call: from here on, a crash leaves a video that is never created
        # again blindly, only reconciled (see _reconcile).
        await self._save(video, (CALLING_API, f'🤖 Calling {self.provider.label} API (model: {video.model})...'),
                         phase='submitting', submitted_at=utcnow())
        image = await asyncio.to_thread(self.storage.path(video.reference_path).read_bytes) \
            if video.reference_path else None
        try:
            if video.remix_of:  # a remix of an earlier render, with the same unknown-outcome care
                source_job = await self.db.call(self._source_job, video.remix_of)
                if not source_job:
                    raise JobFailed('remix_source_gone', 'The video this remixes is no longer available.')
                job = await self.provider.remix(source_job, prompt=video.prompt)
            else:
                job = await self.provider.create(prompt=video.prompt, model=video.model, size=video.size,
                                                 seconds=video.seconds, image=image)
        except ProviderError as error:
            if not error.transient:
                raise JobFailed(error.code, error.message) from error
            if not error.outcome_unknown:  # refused before any render started: safe to create again
                await self._save(video, phase='submit')
            raise  # retried later; an unknown outcome stays `submitting` and is reconciled
        await self._adopt(video, job.id, f'✅ Video job submitted (Job ID: {job.id})')

    async def _reconcile(self, video: Video) -> None:
        """A create whose answer never arrived: adopt the render if the provider has it, else stop.
        Two such videos with the same settings may find the same render; the unique provider id
        lets one adopt it, and the other looks again without it."""
        since = (video.submitted_at or video.created_at) - timedelta(seconds=60)  # allow for clock skew
        taken = set(await self.db.call(self._adopted_jobs))
        while found := await self.provider.find(prompt=video.prompt, model=video.model, size=video.size,
                                                seconds=video.seconds, since=since, exclude=taken):
            try:
                await self._adopt(video, found, f'🔁 Found the render started before the interruption (Job ID: {found})')
                return
            except IntegrityError:  # another video adopted it first
                taken.add(found)
        raise JobFailed('submit_lost', 'The connection to the video service broke before it confirmed this video, '
                        'and it has no record of it, so the video was stopped. You were not charged.')

    async def _adopt(self, video: Video, job_id: str, message: str) -> None:
        try:
            await self._save(video, (CALLING_API, message),
                             (WAITING, '⏳ Waiting for AI processing (this may take 2-5 minutes)...'),
                             phase='poll', provider_job_id=job_id)
        except LeaseLost:  # cancelled (or taken over) while the create was in flight
            await self._delete_quietly(job_id)
            raise

    async def _poll(self, video: Video) -> None:
        started = video.submitted_at or utcnow()
        failures = 0
        while True:
            try:
                job = await self.provider.retrieve(video.provider_job_id)
            except ProviderError as error:
                if not error.transient:
                    raise JobFailed(error.code, error.message) from error
                failures += 1  # polling is free: keep trying until the job timeout
                await asyncio.sleep(error.retry_after or min(self.settings.poll_max_seconds,
                                                             self.settings.poll_min_seconds * 2 ** failures))
                continue
            failures = 0
            if job.status == 'failed':
                raise JobFailed(job.error_code or 'provider_failed', job.error_message or 'The video service could not make this video.')
            if job.status == 'completed':
                await self._save(video, (PROCESSING, f'⏳ Processing video... ({_elapsed(started)}s elapsed)', 100),
                                 phase='download', progress=100)
                return
            if job.progress != video.progress:
                await self._save(video, (PROCESSING, f'⏳ Processing video... ({_elapsed(started)}s elapsed)',
                                         job.progress), progress=job.progress)
            await asyncio.sleep(self._poll_delay(job))

    async def _download(self, video: Video) -> None:
        await self._save(video, (DOWNLOADING, '💾 Downloading generated video...'))
        video_temp, thumb_temp = self.storage.temp_path('.mp4'), self.storage.temp_path('.jpg')
        try:
            await self.provider.download(video.provider_job_id, 'video', video_temp)
            await self.provider.download(video.provider_job_id, 'thumbnail', thumb_temp)
            video_path = await asyncio.to_thread(self.storage.adopt, video_temp, 'videos', '.mp4')
            thumb_path = await asyncio.to_thread(self.storage.adopt, thumb_temp, 'thumbnails', '.jpg')
        except ProviderError as error:
            if error.transient:
                raise  # retried later as a download, never as a render
            raise JobFailed(error.code, f'The finished video could not be downloaded: {error.message}') from error
        finally:
            for temp in (video_temp, thumb_temp):
                temp.unlink(missing_ok=True)
        await self._save(video, (SAVING, '📦 Saving video to storage...'),
                         phase='finalize', video_path=video_path, thumbnail_path=thumb_path)

    async def _finalize(self, video: Video) -> None:
        await self._save(video, (UPDATING, '🗃️ Updating records...'),
                         (COMPLETED, '🎉 Video generation completed successfully!', None, 'completed'),
                         status='completed', phase='done', progress=100, finished_at=utcnow(),
                         lease_owner=None, lease_expires_at=None)

    def _poll_delay(self, job: ProviderJob) -> float:
        delay = job.poll_after if job.poll_after is not None else self.settings.poll_max_seconds / 2
        delay = min(max(delay, self.settings.poll_min_seconds), self.settings.poll_max_seconds)
        return delay * random.uniform(0.9, 1.1)  # spread many videos' polls instead of waking them together

    # --- writes ----------------------------------------------------------------------------------

    async def _save(self, video: Video, *events: tuple, **changes) -> None:
        """Apply `changes` and append `events` — (step, message[, progress[, status]]) — in one
        transaction, fenced by our lease; then publish the events and update our copy of `video`."""
        for event in await self.db.call(self._save_tx, video.id, events, changes):
            self.events.publish(event)
        for name, value in changes.items():
            setattr(video, name, value)

    def _save_tx(self, video_id: str, events: tuple, changes: dict) -> list:
        with self.db.session() as session:
            if changes:
                result = session.exec(update(Video).where(Video.id == video_id, Video.lease_owner == self.owner)
                                      .values(**changes))
                if result.rowcount != 1:
                    raise LeaseLost
            elif session.exec(select(Video.lease_owner).where(Video.id == video_id)).first() != self.owner:
                raise LeaseLost
            return [self.events.add(session, video_id, step, message, progress=progress, status=status)
                    for step, message, progress, status in ((*e, None, None)[:4] for e in events)]

    async def _finish_failed(self, video_id: str, code: str, message: str) -> None:
        log.info('video %s failed: %s: %s', video_id, code, message)
        try:
            event = await self.db.call(self._fail_tx, video_id, code, message)
        except LeaseLost:
            return
        if event is not None:
            self.events.publish(event)

    def _fail_tx(self, video_id: str, code: str, message: str):
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None or video.is_terminal:
                return None
            step = FAILURE_STEP.get(video.phase, COMPLETED)  # read before the update below changes it
            result = session.exec(update(Video).where(Video.id == video_id, Video.lease_owner == self.owner).values(
                status='failed', phase='done', error_code=code[:64], error_message=message[:1000],
                finished_at=utcnow(), lease_owner=None, lease_expires_at=None))
            if result.rowcount != 1:
                raise LeaseLost
            refunded = credits.refund(session, video_id, f'Refund: {message}')
            note = f' {refunded} credits were refunded.' if refunded else ''
            return self.events.add(session, video_id, step, f'❌ Generation failed: {message}{note}',
                                   status='failed')

    async def _retry_later(self, video_id: str, error: ProviderError) -> None:
        """Hand the video back with a backoff; after `retry_max` retries, fail and refund."""
        video = await self.db.call(self._load, video_id)
        if video.retries >= self.settings.retry_max:
            await self._finish_failed(video_id, error.code, f'{error.message} We gave up after {video.retries} retries.')
            return
        try:
            event = await self.db.call(self._retry_tx, video_id, error)
        except LeaseLost:
            return
        if event is not None:
            self.events.publish(event)

    def _retry_tx(self, video_id: str, error: ProviderError):
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None or video.is_terminal:
                return None
            step, retry = FAILURE_STEP.get(video.phase, WAITING), video.retries + 1  # before the update
            delay = error.retry_after or self.settings.retry_base_seconds * 2 ** video.retries * random.uniform(0.75, 1.25)
            result = session.exec(update(Video).where(Video.id == video_id, Video.lease_owner == self.owner).values(
                retries=Video.retries + 1, next_attempt_at=utcnow() + timedelta(seconds=delay),
                lease_owner=None, lease_expires_at=None))
            if result.rowcount != 1:
                raise LeaseLost
            return self.events.add(session, video_id, step, f'⚠️ {error.message} Trying again in {delay:.1f} s '
                                   f'(retry {retry} of {self.settings.retry_max}).')

    async def _forget_render(self, video_id: str) -> None:
        """Ask the provider to drop a render we no longer want (best effort)."""
        video = await self.db.call(self._load, video_id)
        if video is not None and video.provider_job_id:
            await self._delete_quietly(video.provider_job_id)

    async def forget(self, job_id: str) -> None:
        """Drop a render nobody wants any more (a cancelled video), without waiting for it."""
        task = asyncio.get_running_loop().create_task(self._delete_quietly(job_id))
        self._chores.add(task)  # held until done, so the task cannot be garbage-collected
        task.add_done_callback(self._chores.discard)

    async def _delete_quietly(self, job_id: str) -> None:
        try:
            await asyncio.wait_for(self.provider.delete(job_id), self.settings.provider_timeout_seconds)
        except Exception as error:  # the provider may not allow it; nothing more we can do
            log.info('could not delete render %s: %s', job_id, error)

    def _adopted_jobs(self) -> list[str]:
        with self.db.session() as session:
            return list(session.exec(select(Video.provider_job_id).where(Video.provider_job_id.is_not(None))))

    def _source_job(self, video_id: str) -> str | None:
        with self.db.session() as session:
            return session.exec(select(Video.provider_job_id).where(Video.id == video_id)).first()

    def _load(self, video_id: str) -> Video:
        with self.db.session() as session:
            return session.get(Video, video_id)


def _lease_free(now: datetime):
    return or_(Video.lease_expires_at.is_(None), Video.lease_expires_at < now)


def _elapsed(since: datetime) -> int:
    return max(0, round((utcnow() - since).total_seconds()))
