"""Settings from the environment or `.env`; every one optional with a safe default."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from ipaddress import ip_address

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_STORAGE_SECRET = 'dev-only-change-me'


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file='.env', env_file_encoding='utf-8', extra='ignore')

    data_dir: Path = Path('.data')
    database_url: str = ''  # empty: SQLite under data_dir
    host: str = '127.0.0.1'
    port: int = 8080
    storage_secret: str = DEV_STORAGE_SECRET
    admin_emails: str = ''  # comma-separated
    https: bool = False  # served over HTTPS (directly or behind a proxy): session cookie gets Secure
    forwarded_allow_ips: str = '127.0.0.1'  # proxies whose X-Forwarded-* headers are trusted

    # Sign-in. With Google credentials the app signs users in with Google (OpenID Connect);
    # without them it runs in local mode (email only), on a loopback address unless allowed.
    google_client_id: str = ''
    google_client_secret: str = ''
    oidc_discovery_url: str = 'https://accounts.google.com/.well-known/openid-configuration'
    allowed_email_domains: str = ''  # comma-separated; empty allows every domain
    google_signup_plan: str = 'free'
    allow_local_signin_on_network: bool = False

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
    provider_max_connections: int = 16  # concurrent calls to the provider from one process (and pooled connections)
    retry_max: int = 3  # transient provider errors on create and download
    retry_base_seconds: float = 60.0  # exponential backoff with jitter: base, 2x base, 4x base (+-25%)

    # Credits and limits
    signup_credits: int = 1000
    local_signup_plan: str = 'standard'
    credits_per_second: int = 25  # sora-2 at 720p; other models scale by provider price ratios
    max_upload_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000

    # HTTP API
    sse_heartbeat_seconds: float = 15.0  # a comment line on quiet event streams, so proxies keep them open
    api_generate_per_minute: int = 10  # videos one user may request per minute through the API (0: no limit)

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
    def google_enabled(self) -> bool:
        return bool(self.google_client_id and self.google_client_secret)

    @cached_property
    def email_domains(self) -> frozenset[str]:
        return frozenset(d.strip().lower().lstrip('@') for d in self.allowed_email_domains.split(',') if d.strip())

    @property
    def max_request_bytes(self) -> int:
        """The largest request body accepted: an upload plus room for the multipart envelope."""
        return self.max_upload_bytes + 1024 * 1024

    def startup_problems(self) -> list[str]:
        """Reasons the app must not start with these settings (empty when all is well)."""
        problems = []
        if self.google_enabled and self.storage_secret in ('', DEV_STORAGE_SECRET):
            problems.append('STORAGE_SECRET must be set to a long random value when Google sign-in is on '
                            '(it signs the session cookies).')
        if not self.google_enabled and not _is_loopback(self.host) and not self.allow_local_signin_on_network:
            problems.append(f'Local sign-in (email only, no password) is for this machine only, but HOST is '
                            f'{self.host}. Configure Google sign-in (GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET), '
                            'or set ALLOW_LOCAL_SIGNIN_ON_NETWORK=true for a trusted network.')
        if self.google_enabled and len(self.storage_secret) < 32 and self.storage_secret != DEV_STORAGE_SECRET:
            problems.append('STORAGE_SECRET is too short: use at least 32 random characters.')
        return problems

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in logs or pages."""
        return [v for v in (self.openai_api_key, self.google_client_secret, self.storage_secret) if len(v) >= 8]

    @property
    def db_url(self) -> str:
        return self.database_url or f'sqlite:///{(self.data_dir / "app.db").resolve()}'


def _is_loopback(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
