"""The OpenAI Videos API (or any OpenAI-compatible gateway) through the official SDK.

Money rules (see PROVIDER.md): `create` goes out with `max_retries=0` (the SDK would otherwise
retry a POST that may already have started a paid render), every call has its own short
timeout, and a create answered by a 5xx, a timeout or a dropped connection is reported as
`outcome_unknown` so that the runner reconciles it instead of creating again.
"""
from __future__ import annotations

import asyncio
import logging
import warnings
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import httpx2
import openai
from openai import AsyncOpenAI

from services.providers import ProviderError, ProviderJob

log = logging.getLogger(__name__)
RETIRED_NOTE = 'OpenAI retired its own Sora endpoint on 2026-09-24'


class OpenAIProvider:
    name = 'openai'
    label = 'Sora 2'

    def __init__(self, settings) -> None:
        self.base_url = settings.openai_base_url or 'https://api.openai.com/v1'
        timeout = httpx2.Timeout(settings.provider_timeout_seconds, connect=min(5.0, settings.provider_timeout_seconds))
        # A bounded pool: the SDK's default of 1,000 connections makes every request scan them all.
        # Calls queue on the semaphore first, so waiting for a free connection never eats into a
        # call's own timeout.
        limit = settings.provider_max_connections
        http_client = openai.DefaultAsyncHttpxClient(
            timeout=timeout, limits=httpx2.Limits(max_connections=limit, max_keepalive_connections=limit))
        self.client = AsyncOpenAI(api_key=settings.openai_api_key or 'missing-key', base_url=self.base_url,
                                  timeout=timeout, max_retries=0, http_client=http_client)
        self.download_timeout = httpx2.Timeout(settings.download_timeout_seconds, connect=5.0)
        self._slots = asyncio.Semaphore(limit)

    async def create(self, *, prompt: str, model: str, size: str, seconds: int,
                     image: bytes | None) -> ProviderJob:
        extra = {'input_reference': ('reference.jpg', image, 'image/jpeg')} if image is not None else {}
        try:
            async with self._slots, _quiet():
                video = await self.client.videos.create(prompt=prompt, model=model, size=size,
                                                        seconds=str(seconds), **extra)
        except openai.APIError as error:
            raise self._error(error, creating=True, model=model) from None
        return _job(video)

    async def remix(self, job_id: str, prompt: str) -> ProviderJob:
        """A new render that changes a completed one as `prompt` says; sorted like a create."""
        try:
            async with self._slots, _quiet():
                video = await self.client.videos.remix(job_id, prompt=prompt)
        except openai.APIStatusError as error:
            if error.status_code == 404:  # the source render, not a model, is what is missing
                raise ProviderError('remix_source_gone', 'The video service no longer has the video to remix.') \
                    from None
            raise self._error(error, creating=True) from None
        except openai.APIError as error:
            raise self._error(error, creating=True) from None
        return _job(video)

    async def retrieve(self, job_id: str) -> ProviderJob:
        try:
            async with self._slots, _quiet():
                raw = await self.client.videos.with_raw_response.retrieve(job_id)
            video = raw.parse()
        except openai.APIError as error:
            raise self._error(error) from None
        return _job(video, poll_after=_poll_after(raw.headers.get('openai-poll-after-ms')))

    async def download(self, job_id: str, variant: str, dest: Path) -> None:
        try:
            async with self._slots, _quiet(), self.client.videos.with_streaming_response.download_content(
                    job_id, variant=variant, timeout=self.download_timeout) as response:
                with open(dest, 'wb') as out:
                    async for chunk in response.iter_bytes(1024 * 1024):
                        out.write(chunk)
        except openai.APIError as error:
            raise self._error(error) from None

    async def delete(self, job_id: str) -> None:
        try:
            async with self._slots, _quiet():
                await self.client.videos.delete(job_id)
        except openai.APIError as error:
            raise self._error(error) from None

    async def find(self, *, prompt: str, model: str, size: str, seconds: int, since: datetime,
                   exclude: set[str]) -> str | None:
        """The newest render with these settings created after `since`, for reconciling a create
        whose answer was lost. Pages through the list until it reaches older renders."""
        try:
            async with self._slots, _quiet():
                async for video in self.client.videos.list(order='desc', limit=100):
                    if video.created_at < since.timestamp():
                        return None
                    if video.id not in exclude and video.prompt == prompt and video.model == model \
                            and video.size == size and str(video.seconds) == str(seconds):
                        return video.id
        except openai.APIError as error:
            raise self._error(error) from None
        return None

    def _error(self, error: openai.APIError, *, creating: bool = False, model: str = '') -> ProviderError:
        """Sort an SDK error into transient or permanent, and into known or unknown outcome."""
        if isinstance(error, openai.APIConnectionError):
            sent = not isinstance(error.__cause__, (httpx2.ConnectError, httpx2.ConnectTimeout))
            kind = 'timeout' if isinstance(error, openai.APITimeoutError) else 'connection_error'
            return ProviderError(kind, 'The video service did not answer in time.' if kind == 'timeout'
                                 else 'The connection to the video service failed.',
                                 transient=True, outcome_unknown=creating and sent)
        if not isinstance(error, openai.APIStatusError):
            return ProviderError('provider_error', str(error)[:300])
        status = error.status_code
        body = error.body if isinstance(error.body, dict) else {}
        detail = body.get('error', body) if isinstance(body.get('error', body), dict) else {}
        code = str(detail.get('code') or error.code or f'http_{status}')
        message = str(detail.get('message') or error.message)[:500]
        if status == 429:
            return ProviderError('rate_limited', 'The video service is busy (rate limited).', transient=True,
                                 retry_after=_retry_after(error.response.headers))
        if status >= 500 or status == 408:
            return ProviderError(f'http_{status}', f'The video service had an error ({status}).', transient=True,
                                 outcome_unknown=creating)
        if status in (401, 403):
            return ProviderError('auth_failed', 'The video service refused our credentials: an administrator '
                                 'must check OPENAI_API_KEY.')
        if creating and (code == 'model_not_found' or status == 404 or 'model' in message.lower()):
            return ProviderError('model_not_found', f'The video service at {self.base_url} does not offer the model '
                                 f'"{model}". {RETIRED_NOTE}: an administrator must set OPENAI_BASE_URL to an '
                                 f'OpenAI-compatible gateway that serves {model}.')
        if code == 'moderation_blocked' or 'moderation' in message.lower():
            return ProviderError('moderation_blocked', f'The video service refused this request: {message}')
        if status == 404:
            return ProviderError('video_not_found', 'The video service no longer has this video '
                                 '(its download link may have expired).')
        return ProviderError(code[:64], f'The video service rejected the request: {message}')


@asynccontextmanager
async def _quiet():
    """Every videos.* call warns that OpenAI's own Sora endpoint is retired; we know, and may be
    talking to a gateway that still serves it."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        yield


def _job(video, poll_after: float | None = None) -> ProviderJob:
    error = video.error
    return ProviderJob(video.id, video.status, int(video.progress or 0),
                       error.code if error else None, error.message if error else None, poll_after)


def _poll_after(value: str | None) -> float | None:
    try:
        return int(value) / 1000 if value else None
    except ValueError:
        return None


def _retry_after(headers) -> float | None:
    for name, scale in (('retry-after-ms', 1000), ('retry-after', 1)):
        try:
            if headers.get(name):
                return float(headers[name]) / scale
        except ValueError:
            continue
    return None
