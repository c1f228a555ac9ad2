"""One interface to a video-generation service, with two implementations: `mock` and `openai`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ProviderJob:
    id: str
    status: str  # queued | in_progress | completed | failed
    progress: int = 0
    error_code: str | None = None
    error_message: str | None = None
    poll_after: float | None = None  # seconds, from the provider's openai-poll-after-ms


class ProviderError(Exception):
    """A provider call that failed. `transient` errors may be retried; the rest end the job.
    `outcome_unknown` marks a create whose render may have started anyway (5xx, timeout, drop)."""

    def __init__(self, code: str, message: str, *, transient: bool = False,
                 outcome_unknown: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after


class Provider(Protocol):
    name: str
    label: str

    async def create(self, *, prompt: str, model: str, size: str, seconds: int,
                     image: bytes | None) -> ProviderJob: ...

    async def remix(self, job_id: str, prompt: str) -> ProviderJob:
        """A new render derived from the completed render `job_id`, changed as `prompt` says.
        Errors are sorted as for `create` (an unknown outcome is reconciled the same way)."""

    async def retrieve(self, job_id: str) -> ProviderJob: ...

    async def download(self, job_id: str, variant: str, dest: Path) -> None:
        """Write the `video` (MP4) or `thumbnail` (JPEG) of a completed job to `dest`."""

    async def delete(self, job_id: str) -> None: ...

    async def find(self, *, prompt: str, model: str, size: str, seconds: int, since: datetime,
                   exclude: set[str]) -> str | None:
        """A render with these settings created after `since` and not in `exclude`, if any: how a
        create whose answer was lost is reconciled."""


def build_provider(settings, data_dir: Path) -> Provider:
    if settings.provider == 'openai':
        from services.providers.openai import OpenAIProvider
        return OpenAIProvider(settings)
    from services.providers.mock import MockProvider
    return MockProvider(data_dir / 'mock_provider', render_seconds=settings.mock_render_seconds,
                        poll_seconds=settings.mock_poll_seconds)
