"""AIVideo Studio: settings -> database -> pages and routes -> job runner -> ui.run()."""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui
from starlette.middleware.base import BaseHTTPMiddleware

import api.media
import pages
from services import Services
from services.config import Settings

ROOT = Path(__file__).resolve().parent
PUBLIC_PATHS = ('/login', '/assets/', '/_nicegui', '/status')

logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
logging.getLogger('alembic').setLevel(logging.WARNING)

settings = Settings()
services = Services.build(settings)
app.state.services = services  # for tests and operators; pages get `services` handed in


class SignInRequired(BaseHTTPMiddleware):
    """Every page but the public ones needs a signed-in session."""

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if not app.storage.user.get('user_id') and not path.startswith(PUBLIC_PATHS):
            if path.startswith('/media/'):
                return await call_next(request)  # the route itself answers 404
            return RedirectResponse(f'/login?next={path}' if path not in ('/', '/login') else '/login')
        return await call_next(request)


app.add_middleware(SignInRequired)
app.add_static_files('/assets', ROOT / 'assets')
ui.add_css(ROOT / 'assets' / 'app.css', shared=True)
pages.create(services)
api.media.create(services)


@app.get('/status', include_in_schema=False)
def status() -> dict:
    return {'ok': True, 'runner': services.runner.alive, 'provider': services.provider.name}


app.on_startup(services.runner.start)
app.on_shutdown(services.runner.stop)
app.on_shutdown(services.db.dispose)

ui.run(host=settings.host, port=settings.port, title='AIVideo Studio', favicon=ROOT / 'assets' / 'logo.svg',
       storage_secret=settings.storage_secret, reload=False, show=False)
