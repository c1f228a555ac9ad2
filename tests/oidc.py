"""A real OpenID Connect provider on a local port (oidc-provider-mock), and the steps of the
authorization-code flow as a browser would take them."""
from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import httpx
import oidc_provider_mock


@contextmanager
def oidc_provider():
    """Yields the provider's base URL (nonces required, as Google's flow uses them)."""
    with oidc_provider_mock.run_server_in_thread(require_nonce=True) as server:
        yield f'http://localhost:{server.server_port}'


def google_env(provider: str) -> dict[str, str]:
    return {'GOOGLE_CLIENT_ID': 'aivideo-test-client', 'GOOGLE_CLIENT_SECRET': 'test-client-secret-0123456789',
            'OIDC_DISCOVERY_URL': f'{provider}/.well-known/openid-configuration',
            'STORAGE_SECRET': 'a-long-random-storage-secret-for-tests-0123456789'}


def set_claims(provider: str, sub: str, **claims) -> None:
    httpx.put(f'{provider}/users/{sub}', json=claims).raise_for_status()


def start(app: httpx.Client, next_path: str = '') -> str:
    """Begin sign-in at the app; returns the provider's authorization URL."""
    response = app.get('/auth/google/login' + (f'?next={next_path}' if next_path else ''))
    assert response.status_code == 302, response.text
    return response.headers['location']


def consent(authorize_url: str, sub: str | None, deny: bool = False) -> str:
    """Answer the provider's consent form; returns the callback URL it redirects to."""
    form = {'action': 'deny'} if deny else {'sub': sub}
    response = httpx.post(authorize_url, data=form)
    assert response.status_code == 302, response.text
    return response.headers['location']


def with_query(url: str, **changes: str) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunparse(parts._replace(query=urlencode(query)))


def callback_path(callback_url: str) -> str:
    parts = urlparse(callback_url)
    return f'{parts.path}?{parts.query}'
