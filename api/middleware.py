"""Request-level rules for every route: sign-in, body size, security headers."""
from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi.responses import RedirectResponse
from nicegui import app
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


class SignInRequired:
    """Every page but the public ones needs a signed-in, enabled user; a disabled user's
    session ends at the next request. Plain ASGI (not BaseHTTPMiddleware), so that streamed
    responses such as the API's event stream pass through untouched."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get('path', '')
        if scope['type'] != 'http' or path.startswith(PUBLIC_PATHS) or await self._signed_in():
            return await self.app(scope, receive, send)
        if path.startswith('/media/'):
            return await self.app(scope, receive, send)  # the route itself answers 404
        target = f'/login?next={quote(path)}' if path not in ('/', '/login') else '/login'
        await RedirectResponse(target)(scope, receive, send)

    async def _signed_in(self) -> bool:
        user_id = app.storage.user.get('user_id')
        if user_id is None:
            return False
        user = await self.services.db.call(self.services.users.get, user_id)
        if user is None or user.disabled:
            log.info('signed out user %s: %s', user_id, 'disabled' if user else 'gone')
            app.storage.user.clear()
            return False
        return True


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
