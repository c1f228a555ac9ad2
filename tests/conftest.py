"""Shared fixtures. Every test gets its own data folder (SQLite database, files, mock jobs)
and runs in it, so no developer's `.env` or `.data` leaks in."""
from __future__ import annotations

import asyncio
import io
import time
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
