"""The real app in a subprocess on a free port, and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_CANDIDATES = ('/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(data_dir: Path, **env: str) -> Iterator[str]:
    """Start `app.py` and yield its base URL once /status answers; stop it afterwards."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(('PYTEST_', 'NICEGUI_'))}
    environment = {**inherited, 'DATA_DIR': str(data_dir), 'PORT': str(port), 'HOST': '127.0.0.1', **env}
    log_path = data_dir.parent / f'app-{port}.log'
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, 'wb') as log:
        process = subprocess.Popen([sys.executable, str(ROOT / 'app.py')], env=environment, cwd=data_dir.parent,
                                   stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f'{url}/status', timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f'the app did not start:\n{log_path.read_text()[-3000:]}')
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def chromium_path() -> str | None:
    configured = os.environ.get('CHROMIUM_PATH')
    if configured:
        return configured
    return next((path for path in CHROMIUM_CANDIDATES if Path(path).exists()), shutil.which('chromium'))


@pytest.fixture
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get('REQUIRE_BROWSER'):
            pytest.fail('Chromium is required (REQUIRE_BROWSER is set) but was not found')
        pytest.skip('Chromium not installed: `apt-get install chromium` to run the browser tests')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=['--no-sandbox'])
        yield browser
        browser.close()
