"""A local emulator of the OpenAI Videos API, for tests and benchmarks: a real HTTP server.

It serves create, retrieve, list, delete, content (video and thumbnail) and remix the way the
real API does (statuses, progress, `openai-poll-after-ms`, error bodies), renders real MP4s,
and counts every call so tests can assert how many renders were started. Faults can be
switched on: scripted per endpoint (`script`), at random (`fault_rate`), or by holding an
endpoint until it is released (`hold`), which lets a test kill the app at an exact point.

    with Emulator(render_seconds=0.3).running() as emulator:   # in a thread of this process
        emulator.script['create'] = ['500']
    python -m tests.emulator --port 8765                      # on its own
"""
from __future__ import annotations

import argparse
import asyncio
import io
import random
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web
from PIL import Image

from services import media

SIZES = ('720x1280', '1280x720', '1024x1792', '1792x1024')
FAULTS = ('500', '429', 'hang', 'drop')  # what a fault storm draws from
CHUNK = 16 * 1024  # small enough that a held download has sent part of a clip


class Emulator:
    def __init__(self, *, render_seconds: float = 1.0, poll_after_ms: int = 200,
                 models: tuple[str, ...] = ('sora-2', 'sora-2-pro'), content_ttl: float = 3600,
                 hang_seconds: float = 3600) -> None:
        self.render_seconds = render_seconds
        self.poll_after_ms = poll_after_ms
        self.models = set(models)
        self.content_ttl = content_ttl
        self.hang_seconds = hang_seconds
        self.jobs: dict[str, dict] = {}
        self.calls: Counter[str] = Counter()  # by endpoint: create, retrieve, list, delete, content, remix
        self.script: dict[str, list[str]] = {}  # endpoint -> faults to answer with, one per call
        self.fault_rate = 0.0
        self.hold: set[str] = set()  # endpoints (or 'create_after') that wait until released
        self.slow_content = 0.0  # seconds between chunks of a download
        self._released = threading.Event()
        self._clips = Path(tempfile.mkdtemp(prefix='emulator-clips-'))
        self._clip_locks: dict[str, asyncio.Lock] = {}
        self.url = ''

    # --- what tests read -------------------------------------------------------------------------

    @property
    def creates(self) -> int:
        """Renders started: every job this emulator ever created (deleted ones included)."""
        return sum(1 for job in self.jobs.values() if not job.get('remix'))

    def release(self) -> None:
        self.hold.clear()
        self._released.set()

    # --- the server ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes([
            web.post('/v1/videos', self.create),
            web.get('/v1/videos', self.list),
            web.get('/v1/videos/{id}', self.retrieve),
            web.delete('/v1/videos/{id}', self.delete),
            web.get('/v1/videos/{id}/content', self.content),
            web.post('/v1/videos/{id}/remix', self.remix),
            web.get('/_emulator/stats', self.stats),
        ])
        return app

    @contextmanager
    def running(self, port: int = 0) -> Iterator[Emulator]:
        """Serve from a thread with its own event loop; yields once the port answers."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app(), handle_signals=False, access_log=None)

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, '127.0.0.1', port)
            loop.run_until_complete(site.start())
            self.url = f'http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1'
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, name='videos-api-emulator', daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield self
        finally:
            self.release()
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

    # --- endpoints -------------------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.StreamResponse:
        self.calls['create'] += 1
        if fault := await self._fault('create', request):
            return fault
        form = await request.post()
        prompt, model = str(form.get('prompt', '')), str(form.get('model', 'sora-2'))
        size, seconds = str(form.get('size', '720x1280')), str(form.get('seconds', '4'))
        if model not in self.models:
            return _error(404, 'model_not_found', f"The model '{model}' does not exist or you do not have access to it.")
        if not prompt or len(prompt) > 32000:
            return _error(400, 'invalid_request', 'prompt must be 1 to 32,000 characters.')
        if size not in SIZES or seconds not in ('4', '8', '12'):
            return _error(400, 'invalid_request', 'Invalid size or seconds.')
        reference = form.get('input_reference')
        if reference is not None:
            with Image.open(io.BytesIO(reference.file.read())) as image:
                if f'{image.width}x{image.height}' != size:
                    return _error(400, 'invalid_request', 'Inpaint image must match the requested width and height')
        job = self._new_job(prompt, model, size, seconds)
        if 'create_after' in self.hold:  # the render has started, but the answer is held back
            await self._wait_release()
        return web.json_response(self._video(job))

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        self.calls['retrieve'] += 1
        if fault := await self._fault('retrieve', request):
            return fault
        job = self.jobs.get(request.match_info['id'])
        if job is None or job.get('deleted'):
            return _error(404, 'video_not_found', 'Video not found.')
        return web.json_response(self._video(job), headers={'openai-poll-after-ms': str(self.poll_after_ms)})

    async def list(self, request: web.Request) -> web.StreamResponse:
        self.calls['list'] += 1
        if fault := await self._fault('list', request):
            return fault
        order = request.query.get('order', 'desc')
        limit = min(int(request.query.get('limit', '20')), 100)
        jobs = sorted((j for j in self.jobs.values() if not j.get('deleted')), key=lambda j: j['seq'],
                      reverse=order == 'desc')
        if after := request.query.get('after'):
            ids = [j['id'] for j in jobs]
            jobs = jobs[ids.index(after) + 1:] if after in ids else []
        page = jobs[:limit]
        return web.json_response({'object': 'list', 'data': [self._video(j) for j in page],
                                  'first_id': page[0]['id'] if page else None,
                                  'last_id': page[-1]['id'] if page else None, 'has_more': len(jobs) > limit})

    async def delete(self, request: web.Request) -> web.StreamResponse:
        self.calls['delete'] += 1
        if fault := await self._fault('delete', request):
            return fault
        job = self.jobs.get(request.match_info['id'])
        if job is None or job.get('deleted'):
            return _error(404, 'video_not_found', 'Video not found.')
        job['deleted'] = True
        return web.json_response({'id': job['id'], 'object': 'video.deleted', 'deleted': True})

    async def content(self, request: web.Request) -> web.StreamResponse:
        self.calls['content'] += 1
        if fault := await self._fault('content', request):
            return fault
        job = self.jobs.get(request.match_info['id'])
        if job is None or job.get('deleted'):
            return _error(404, 'video_not_found', 'Video not found.')
        state = self._video(job)
        if state['status'] != 'completed':
            return _error(409, 'video_not_ready', 'Video is not ready yet.')
        if time.time() > state['expires_at']:
            return _error(404, 'video_expired', 'The video content has expired.')
        variant = request.query.get('variant', 'video')
        if variant not in ('video', 'thumbnail'):
            return _error(400, 'invalid_request', f'Unsupported variant {variant}.')
        data = await self._clip(job['size'], job['seconds'], variant)
        response = web.StreamResponse(headers={
            'Content-Type': 'video/mp4' if variant == 'video' else 'image/jpeg', 'Content-Length': str(len(data))})
        await response.prepare(request)
        for start in range(0, len(data), CHUNK):
            if self.slow_content:
                await asyncio.sleep(self.slow_content)
            if 'content_mid' in self.hold and start > 0:
                await self._wait_release()
            await response.write(data[start:start + CHUNK])
        await response.write_eof()
        return response

    async def remix(self, request: web.Request) -> web.StreamResponse:
        self.calls['remix'] += 1
        if fault := await self._fault('remix', request):
            return fault
        source = self.jobs.get(request.match_info['id'])
        if source is None or source.get('deleted'):
            return _error(404, 'video_not_found', 'Video not found.')
        body = await request.json()
        job = self._new_job(str(body.get('prompt', '')), source['model'], source['size'], source['seconds'])
        job['remix'] = source['id']
        return web.json_response(self._video(job))

    async def stats(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response({'calls': dict(self.calls), 'creates': self.creates})

    # --- helpers ---------------------------------------------------------------------------------

    def _new_job(self, prompt: str, model: str, size: str, seconds: str) -> dict:
        job = {'id': f'video_{secrets.token_hex(12)}', 'seq': len(self.jobs), 'created': time.time(),
               'prompt': prompt, 'model': model, 'size': size, 'seconds': seconds}
        self.jobs[job['id']] = job
        return job

    def _video(self, job: dict) -> dict:
        elapsed = time.time() - job['created']
        fraction = min(1.0, elapsed / self.render_seconds) if self.render_seconds > 0 else 1.0
        refused = 'refuse' in job['prompt'].lower()
        status = 'failed' if refused and fraction >= 0.5 else \
            'completed' if fraction >= 1 else 'in_progress' if fraction > 0 else 'queued'
        completed_at = int(job['created'] + self.render_seconds) if status == 'completed' else None
        return {
            'id': job['id'], 'object': 'video', 'model': job['model'], 'status': status,
            'progress': 100 if status == 'completed' else int(fraction * 100) if status != 'failed' else 0,
            'created_at': int(job['created']), 'completed_at': completed_at,
            'expires_at': int(job['created'] + self.render_seconds + self.content_ttl),
            'prompt': job['prompt'], 'size': job['size'], 'seconds': job['seconds'],
            'remixed_from_video_id': job.get('remix'),
            'error': {'code': 'moderation_blocked', 'message': 'Your request was blocked by our moderation system.'}
            if status == 'failed' else None,
        }

    async def _fault(self, endpoint: str, request: web.Request) -> web.StreamResponse | None:
        if endpoint in self.hold:
            await self._wait_release()
        scripted = self.script.get(endpoint)
        kind = scripted.pop(0) if scripted else \
            random.choice(FAULTS) if self.fault_rate and random.random() < self.fault_rate else None
        if kind is None:
            return None
        if kind == '500':
            return _error(500, 'server_error', 'The server had an error while processing your request.')
        if kind == '502':
            return web.Response(status=502, text='Bad gateway')
        if kind == '429':
            return _error(429, 'rate_limit_exceeded', 'Rate limit reached.', headers={'retry-after-ms': '50'})
        if kind == 'hang':
            await asyncio.sleep(self.hang_seconds)
            return _error(504, 'timeout', 'Gateway timeout.')
        if kind == 'drop':
            request.transport.close()
            return web.Response(status=500)
        if kind == '401':
            return _error(401, 'invalid_api_key', 'Incorrect API key provided.')
        if kind == 'moderation':
            return _error(400, 'moderation_blocked', 'Your request was blocked by our moderation system.')
        raise ValueError(f'unknown fault {kind}')

    async def _wait_release(self) -> None:
        while not self._released.is_set():
            await asyncio.sleep(0.02)

    async def _clip(self, size: str, seconds: str, variant: str) -> bytes:
        path = self._clips / f'{size}_{seconds}.{"mp4" if variant == "video" else "jpg"}'
        async with self._clip_locks.setdefault(f'{size}_{seconds}', asyncio.Lock()):
            video = self._clips / f'{size}_{seconds}.mp4'
            if not video.exists():
                await media.render_clip(video, size, int(seconds))
            if variant == 'thumbnail' and not path.exists():
                await media.thumbnail(video, path)
        return path.read_bytes()


def _error(status: int, code: str, message: str, headers: dict | None = None) -> web.Response:
    return web.json_response({'error': {'message': message, 'type': 'invalid_request_error', 'param': None,
                                        'code': code}}, status=status, headers=headers)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=8765)
    parser.add_argument('--render-seconds', type=float, default=12.0)
    parser.add_argument('--fault-rate', type=float, default=0.0)
    args = parser.parse_args()
    emulator = Emulator(render_seconds=args.render_seconds)
    emulator.fault_rate = args.fault_rate
    web.run_app(emulator.app(), host='127.0.0.1', port=args.port)
