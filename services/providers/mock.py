"""A stand-in for the remote Videos API: same calls, same statuses, real MP4s, no cost.

Jobs live as small JSON files (as a remote service would keep them), so a restarted app finds
the renders it started. A job renders for `render_seconds`; its progress eases out as the seed's
did (44% at a quarter of the time). A prompt containing `mock:refuse` is refused by moderation,
so the failure path can be tried by hand.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import time
from datetime import datetime
from pathlib import Path

from services import media
from services.providers import ProviderError, ProviderJob


class MockProvider:
    name = 'mock'
    label = 'Sora 2 (mock)'

    def __init__(self, root: Path, *, render_seconds: float = 12.0, poll_seconds: float = 2.0) -> None:
        self.root = root
        self.render_seconds = render_seconds
        self.poll_seconds = poll_seconds
        (root / 'jobs').mkdir(parents=True, exist_ok=True)
        (root / 'clips').mkdir(parents=True, exist_ok=True)
        self.creates = 0  # renders started, as a billing meter would count them
        self._render_locks: dict[str, asyncio.Lock] = {}

    async def create(self, *, prompt: str, model: str, size: str, seconds: int,
                     image: bytes | None) -> ProviderJob:
        job_id = f'mock_job_{secrets.token_hex(8)}'
        job = {'id': job_id, 'created': time.time(), 'prompt': prompt, 'model': model, 'size': size,
               'seconds': seconds, 'refused': 'mock:refuse' in prompt.lower(), 'image': None}
        if image is not None:
            job['image'] = hashlib.sha256(image).hexdigest()[:16]
            image_path = self.root / 'clips' / f'{job["image"]}.jpg'
            if not image_path.exists():
                image_path.write_bytes(image)
        self._write(job)
        self.creates += 1
        return self._state(job)

    async def remix(self, job_id: str, prompt: str) -> ProviderJob:
        """A new job with the source's model, size, length and image and the new prompt."""
        try:
            source = self._read(job_id)
        except ProviderError:
            raise ProviderError('remix_source_gone', 'The video service no longer has the video to remix.') from None
        if self._state(source).status != 'completed':
            raise ProviderError('remix_source_not_ready', 'Only a completed video can be remixed.')
        job = {**source, 'id': f'mock_job_{secrets.token_hex(8)}', 'created': time.time(), 'prompt': prompt,
               'refused': 'mock:refuse' in prompt.lower(), 'remix_of': job_id}
        self._write(job)
        self.creates += 1
        return self._state(job)

    async def retrieve(self, job_id: str) -> ProviderJob:
        return self._state(self._read(job_id))

    async def download(self, job_id: str, variant: str, dest: Path) -> None:
        job = self._read(job_id)
        if self._state(job).status != 'completed':
            raise ProviderError('video_not_ready', 'The video is not ready yet.')
        clip = await self._clip(job)
        if variant == 'video':
            await asyncio.to_thread(shutil.copyfile, clip, dest)
        elif variant == 'thumbnail':
            await media.thumbnail(clip, dest)
        else:
            raise ProviderError('invalid_variant', f'Unknown variant {variant!r}.')

    async def delete(self, job_id: str) -> None:
        (self.root / 'jobs' / f'{os.path.basename(job_id)}.json').unlink(missing_ok=True)

    async def find(self, *, prompt: str, model: str, size: str, seconds: int, since: datetime,
                   exclude: set[str]) -> str | None:
        """The newest render with these settings created after `since` (for reconciling)."""
        jobs = [json.loads(path.read_text()) for path in (self.root / 'jobs').glob('*.json')]
        for job in sorted(jobs, key=lambda j: j['created'], reverse=True):
            if job['created'] >= since.timestamp() and job['id'] not in exclude and \
                    (job['prompt'], job['model'], job['size'], job['seconds']) == (prompt, model, size, seconds):
                return job['id']
        return None

    def _state(self, job: dict) -> ProviderJob:
        fraction = min(1.0, (time.time() - job['created']) / max(self.render_seconds, 1e-6))
        if job['refused'] and fraction >= 0.25:
            return ProviderJob(job['id'], 'failed', 0, 'moderation_blocked',
                               'Your request was blocked by the moderation system.')
        if fraction >= 1.0:
            return ProviderJob(job['id'], 'completed', 100)
        progress = int(100 * (1 - (1 - fraction) ** 2))
        return ProviderJob(job['id'], 'queued' if progress == 0 else 'in_progress', progress,
                           poll_after=self.poll_seconds)

    async def _clip(self, job: dict) -> Path:
        """One rendered clip per (size, length, image), shared by every job that asks for it."""
        key = f'{job["size"]}_{job["seconds"]}_{job["image"] or "none"}'
        clip = self.root / 'clips' / f'{key}.mp4'
        async with self._render_locks.setdefault(key, asyncio.Lock()):
            if not clip.exists():
                image = self.root / 'clips' / f'{job["image"]}.jpg' if job['image'] else None
                partial = clip.with_suffix(f'.{secrets.token_hex(4)}.part')
                await media.render_clip(partial, job['size'], job['seconds'], image)
                os.replace(partial, clip)
        return clip

    def _read(self, job_id: str) -> dict:
        path = self.root / 'jobs' / f'{os.path.basename(job_id)}.json'
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise ProviderError('video_not_found', f'No video job {job_id}.') from None

    def _write(self, job: dict) -> None:
        path = self.root / 'jobs' / f'{job["id"]}.json'
        temp = path.with_suffix('.tmp')
        temp.write_text(json.dumps(job))
        os.replace(temp, path)
