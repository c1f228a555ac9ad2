"""Shared fixtures. Every test gets its own data folder (SQLite database, files, mock jobs)
and runs in it, so no developer's `.env` or `.data` leaks in."""
from __future__ import annotations

import asyncio
import io
import os
import time
import uuid
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent

# The mock provider at test speed: a whole video in well under a second.
FAST = {
    'MOCK_RENDER_SECONDS': '0.3',
    'MOCK_POLL_SECONDS': '0.05',
    'POLL_MIN_SECONDS': '0.02',
    'RUNNER_IDLE_SECONDS': '0.05',
    'RETRY_BASE_SECONDS': '0.05',
}


@pytest.fixture(autouse=True)
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ('DATABASE_URL', 'VIDEO_PROVIDER', 'USE_MOCK_SORA', 'ADMIN_EMAILS', 'SIGNUP_CREDITS'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('DATA_DIR', str(tmp_path / 'data'))
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)
    return tmp_path / 'data'


@pytest.fixture
def settings(app_env: Path):
    from services.config import Settings
    return Settings()


PG_URL = os.environ.get('TEST_POSTGRES_URL', 'postgresql+psycopg://postgres@127.0.0.1:5432/test')


@pytest.fixture
def postgres_url() -> str:
    """A fresh schema on the local PostgreSQL server, dropped afterwards."""
    import psycopg
    plain = PG_URL.replace('+psycopg', '')
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if os.environ.get('REQUIRE_POSTGRES'):
            pytest.fail(f'PostgreSQL is required (REQUIRE_POSTGRES is set) but unreachable: {error}')
        pytest.skip(f'PostgreSQL not reachable at {plain}')
    schema = f't_{uuid.uuid4().hex[:12]}'
    with admin:
        admin.execute(f'CREATE SCHEMA {schema}')
        yield f'{PG_URL}?options=-csearch_path%3D{schema}'
        admin.execute(f'DROP SCHEMA {schema} CASCADE')


@pytest.fixture(params=['sqlite', 'postgres'])
def db_settings(request, settings):
    """Settings on each database the app supports: tests that take it run on both."""
    if request.param == 'postgres':
        settings.database_url = request.getfixturevalue('postgres_url')
    return settings


@pytest.fixture
def services(settings):
    from services import Services
    built = Services.build(settings)
    yield built
    built.db.dispose()


def image_bytes(width: int = 640, height: int = 480, fmt: str = 'PNG') -> bytes:
    out = io.BytesIO()
    Image.new('RGB', (width, height), (200, 80, 40)).save(out, format=fmt)
    return out.getvalue()


async def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f'condition not met within {timeout} s')


async def finished(services, video_id: str, timeout: float = 10.0):
    """Wait for a video to end (completed, failed or cancelled) and return it."""
    return await wait_until(lambda: (v := services.videos.get(video_id)).is_terminal and v, timeout=timeout)
