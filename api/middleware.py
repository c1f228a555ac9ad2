"""Request-level rules for every route: sign-in, body size, security headers."""
from __future__ import annotations

import logging

from fastapi.responses import PlainTextResponse, RedirectResponse
from nicegui import app
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services import Services

log = logging.getLogger(__name__)
PUBLIC_PATHS = ('/login', '/auth/', '/assets/', '/_nicegui', '/status')

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
    app.add_middleware(BodyLimit, limit=services.settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)


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


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, whether announced or streamed.
    NiceGUI's upload limits are enforced only in the browser; this one holds on the server."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            return await self.app(scope, receive, send)
        length = dict(scope['headers']).get(b'content-length')
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _too_large(scope, receive, send, self.limit)
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message['type'] == 'http.request':
                received += len(message.get('body', b''))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message['type'] == 'http.response.start'
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(scope, receive, send, self.limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = PlainTextResponse(f'Request body too large (limit {limit // 1_000_000} MB).', status_code=413)
    await response(scope, receive, send)


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
