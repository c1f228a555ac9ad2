"""The real app in a subprocess on a free port, and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import signal
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


class AppProcess:
    """`app.py` in a subprocess on a free port: entered once /status answers, stopped on exit,
    and killable with SIGKILL for the crash tests."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log_path = data_dir.parent / f'app-{self.port}.log'
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(('PYTEST_', 'NICEGUI_'))}
        self.env = {**inherited, 'DATA_DIR': str(data_dir), 'PORT': str(self.port), 'HOST': '127.0.0.1', **env}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> AppProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, 'wb') as log:
            self.process = subprocess.Popen([sys.executable, str(ROOT / 'app.py')], env=self.env,
                                            cwd=self.data_dir.parent, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f'{self.url}/status', timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f'the app did not start:\n{self.log()}')
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, leases are left to expire, requests die mid-flight."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def __exit__(self, *_exc) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors='replace')[-4000:]


@contextmanager
def running_app(data_dir: Path, **env: str) -> Iterator[str]:
    """Start `app.py` and yield its base URL once /status answers; stop it afterwards."""
    with AppProcess(data_dir, **env) as app:
        yield app.url


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
