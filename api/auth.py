"""Google sign-in (OpenID Connect, authorization code + PKCE S256, state and nonce checked).

authlib keeps state, nonce and the PKCE verifier in the signed session cookie and checks the ID
token (signature, issuer, audience, expiry, nonce); the rules about who may sign in live in
`services/users.py`.
"""
from __future__ import annotations

import logging
import uuid

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app

from services import Services
from services.users import SignInError, safe_next

log = logging.getLogger(__name__)
CALLBACK = '/auth/google/callback'


def create(services: Services) -> None:
    settings = services.settings

    @app.get('/auth/local', include_in_schema=False)
    async def local_sign_in(request: Request, ticket: str = '', next: str = '') -> RedirectResponse:  # noqa: A002
        """Where the local sign-in form sends the browser: trades its ticket for a fresh session."""
        user_id = services.users.redeem(ticket) if not settings.google_enabled else None
        if user_id is None:
            return RedirectResponse('/login?error=expired', status_code=303)
        await renew_session(request)
        app.storage.user['user_id'] = user_id
        return RedirectResponse(safe_next(next), status_code=303)

    @app.get('/auth/logout', include_in_schema=False)
    async def sign_out(request: Request) -> RedirectResponse:
        await renew_session(request)
        return RedirectResponse('/login', status_code=303)

    if not settings.google_enabled:
        return
    oauth = OAuth()
    oauth.register('google', client_id=settings.google_client_id, client_secret=settings.google_client_secret,
                   server_metadata_url=settings.oidc_discovery_url,
                   client_kwargs={'scope': 'openid email profile', 'code_challenge_method': 'S256', 'timeout': 10})

    @app.get('/auth/google/login', include_in_schema=False)
    async def google_login(request: Request, next: str = '') -> RedirectResponse:  # noqa: A002
        request.session['next'] = safe_next(next)
        try:
            return await oauth.google.authorize_redirect(request, str(request.url_for('google_callback')))
        except Exception as error:  # discovery document unreachable or malformed
            log.warning('Google sign-in could not start: %s', type(error).__name__)
            return RedirectResponse('/login?error=unavailable', status_code=303)

    @app.get(CALLBACK, include_in_schema=False, name='google_callback')
    async def google_callback(request: Request) -> RedirectResponse:
        try:
            token = await oauth.google.authorize_access_token(request)
            claims = token.get('userinfo')
            if not claims:
                raise OAuthError(error='no_id_token')
            user = await services.db.call(services.users.sign_in_oidc, str(claims['iss']), str(claims['sub']),
                                          dict(claims))
        except SignInError as refusal:
            app.storage.user['login_error'] = str(refusal)
            return RedirectResponse('/login?error=refused', status_code=303)
        except OAuthError as error:
            log.info('Google sign-in failed: %s', error.error)
            code = 'denied' if error.error == 'access_denied' else 'failed'
            return RedirectResponse(f'/login?error={code}', status_code=303)
        except Exception as error:  # bad token, wrong audience, provider down: never a 500
            log.warning('Google sign-in failed: %s', type(error).__name__)
            return RedirectResponse('/login?error=failed', status_code=303)
        target = safe_next(request.session.pop('next', None))
        await renew_session(request)
        app.storage.user['user_id'] = user.id
        log.info('user %s signed in with Google', user.id)
        return RedirectResponse(target, status_code=303)


async def renew_session(request: Request) -> None:
    """A new session id at sign-in, so a session id planted before sign-in is worth nothing."""
    app.storage.user.clear()
    request.session.clear()
    request.session['id'] = str(uuid.uuid4())
    await app.storage._create_user_storage(request.session['id'])  # noqa: SLF001 (NiceGUI creates it per request)
