"""Request-level rules for every route: sign-in, body size, security headers."""
from __future__ import annotations

import logging

from fastapi.responses import RedirectResponse
from nicegui import app
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services import Services

log = logging.getLogger(__name__)
# The API authenticates its own callers (bearer tokens) and answers 401 as JSON, never a redirect.
PUBLIC_PATHS = ('/login', '/auth/', '/assets/', '/_nicegui', '/status', '/api/', '/openapi.json')

# As strict as NiceGUI allows: its Vue templates are compiled in the browser ('unsafe-eval') and
# its page bootstraps with inline scripts and styles ('unsafe-inline'). Everything is same-origin.
CONTENT_SECURITY_POLICY = '; '.join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "font-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = [
    (b'x-content-type-options', b'nosniff'),
    (b'x-frame-options', b'DENY'),
    (b'referrer-policy', b'same-origin'),
    (b'content-security-policy', CONTENT_SECURITY_POLICY.encode()),
]


def install(services: Services) -> None:
    """Add the middlewares in the order they must run (the last added runs first)."""
    app.add_middleware(SignInRequired, services=services)
    app.add_middleware(SecurityHeaders)
    # FastAPI's own request body limit (413, announced or streamed). NiceGUI's upload limits are
    # enforced only in the browser; this one holds on the server.
    app.max_body_size = services.settings.max_request_bytes


class SignInRequired(BaseHTTPMiddleware):
    """Every page but the public ones needs a signed-in, enabled user; a disabled user's
    session ends at the next request."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        super().__init__(app)
        self.services = services

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if path.startswith(PUBLIC_PATHS):
            return await call_next(request)
        user_id = app.storage.user.get('user_id')
        if user_id is not None:
            user = await self.services.db.call(self.services.users.get, user_id)
            if user is None or user.disabled:
                log.info('signed out user %s: %s', user_id, 'disabled' if user else 'gone')
                app.storage.user.clear()
                user_id = None
        if user_id is None:
            if path.startswith('/media/'):
                return await call_next(request)  # the route itself answers 404
            return RedirectResponse(f'/login?next={path}' if path not in ('/', '/login') else '/login')
        return await call_next(request)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message['type'] == 'http.response.start':
                names = {name for name, _ in message.get('headers', [])}
                message['headers'] = [*message.get('headers', []),
                                      *((n, v) for n, v in SECURITY_HEADERS if n not in names)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
