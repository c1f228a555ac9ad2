"""AIVideo Studio: settings -> database -> pages and routes -> job runner -> ui.run()."""
from __future__ import annotations

import gc
import sys
from pathlib import Path

from nicegui import app, helpers, ui

import api.auth
import api.media
import api.middleware
import api.v1
import pages
from services import Services, logs
from services.config import Settings

ROOT = Path(__file__).resolve().parent

settings = Settings()
logs.configure(settings.secrets)
if problems := settings.startup_problems():
    sys.exit('AIVideo Studio will not start:\n  - ' + '\n  - '.join(problems))
services = Services.build(settings)
app.state.services = services  # for tests and operators; pages get `services` handed in

api.middleware.install(services)
app.add_static_files('/assets', ROOT / 'assets')
ui.add_css(ROOT / 'assets' / 'app.css', shared=True)
pages.create(services)
api.auth.create(services)
api.media.create(services)
api.v1.create(app, services)  # the HTTP API under /api/v1, its OpenAPI document at /openapi.json


@app.get('/status', include_in_schema=False)
def status() -> dict:
    return {'ok': True, 'runner': services.runner.alive, 'provider': services.provider.name}


def tune_garbage_collector() -> None:
    """Full collections pause every page at once, for longer the more pages are open
    (BASELINE.md measured 80-400 ms). Freeze what start-up built, and collect the old
    generation less often: p99 push latency roughly halves for ~50 % more memory per page."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


if not helpers.is_pytest():  # a server's tuning; a test process builds and drops the app many times
    app.on_startup(tune_garbage_collector)
app.on_startup(services.runner.start)
app.on_shutdown(services.runner.stop)
app.on_shutdown(services.db.dispose)

ui.run(host=settings.host, port=settings.port, title='AIVideo Studio', favicon=ROOT / 'assets' / 'logo.svg',
       storage_secret=settings.storage_secret, reload=False, show=False,
       session_middleware_kwargs={'same_site': 'lax', 'https_only': settings.https},
       uvicorn_logging_level='warning', proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)
