"""Settings from the environment or `.env`; every one optional with a safe default."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file='.env', env_file_encoding='utf-8', extra='ignore')

    data_dir: Path = Path('.data')
    database_url: str = ''  # empty: SQLite under data_dir
    host: str = '127.0.0.1'
    port: int = 8080
    storage_secret: str = 'dev-only-change-me'
    admin_emails: str = ''  # comma-separated

    # Provider. The seed's USE_MOCK_SORA=true/false is honoured when VIDEO_PROVIDER is not set.
    video_provider: str = ''
    use_mock_sora: bool | None = None
    openai_api_key: str = ''
    openai_base_url: str = ''
    mock_render_seconds: float = 12.0  # how long the mock "renders" (the seed's flow: ~15 s in all)
    mock_poll_seconds: float = 2.0  # the mock's openai-poll-after-ms, in seconds

    # Runner
    max_concurrent_jobs: int = 20
    job_timeout_seconds: float = 20 * 60
    lease_seconds: float = 30.0
    runner_idle_seconds: float = 1.0  # how often an idle runner looks for due videos
    poll_min_seconds: float = 1.0  # bounds on the provider's openai-poll-after-ms
    poll_max_seconds: float = 20.0
    provider_timeout_seconds: float = 30.0  # per call; the SDK's own default is 600 s
    download_timeout_seconds: float = 120.0
    retry_max: int = 3  # transient provider errors on create and download
    retry_base_seconds: float = 60.0  # exponential backoff with jitter: base, 2x base, 4x base (+-25%)

    # Credits and limits
    signup_credits: int = 1000
    local_signup_plan: str = 'standard'
    credits_per_second: int = 25  # sora-2 at 720p; other models scale by provider price ratios
    max_upload_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000

    @field_validator('video_provider')
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value and value not in ('mock', 'openai'):
            raise ValueError("VIDEO_PROVIDER must be 'mock' or 'openai'")
        return value

    @property
    def provider(self) -> str:
        if self.video_provider:
            return self.video_provider
        if self.use_mock_sora is False:
            return 'openai'
        return 'mock'

    @cached_property
    def admins(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admin_emails.split(',') if e.strip())

    @property
    def db_url(self) -> str:
        return self.database_url or f'sqlite:///{(self.data_dir / "app.db").resolve()}'
