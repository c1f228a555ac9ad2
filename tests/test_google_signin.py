"""Google-style sign-in against a real local OpenID provider, and the app's start-up refusals."""
import subprocess
import sys

import httpx
import pytest

from tests.conftest import FAST
from tests.live_server import ROOT, running_app
from tests.oidc import callback_path, consent, google_env, oidc_provider, set_claims, start, with_query


@pytest.fixture(scope='module')
def provider():
    with oidc_provider() as url:
        yield url


@pytest.fixture(scope='module')
def app_url(provider, tmp_path_factory):
    data = tmp_path_factory.mktemp('google') / 'data'
    with running_app(data, **FAST, **google_env(provider), ADMIN_EMAILS='') as url:
        yield url


@pytest.fixture
def browser_client(app_url):
    with httpx.Client(base_url=app_url) as client:
        yield client


def sign_in(client: httpx.Client, provider: str, sub: str, **claims) -> httpx.Response:
    set_claims(provider, sub, **claims)
    callback = consent(start(client), sub)
    return client.get(callback_path(callback))


def test_a_new_google_user_lands_on_generate_on_the_free_plan(provider, browser_client) -> None:
    before = browser_client.cookies.get('session')
    authorize = start(browser_client)
    assert 'code_challenge_method=S256' in authorize and 'code_challenge=' in authorize
    assert 'nonce=' in authorize and 'state=' in authorize
    landed = sign_in(browser_client, provider, 'g-100', email='new@example.com', email_verified=True, name='New')
    assert landed.status_code == 303 and landed.headers['location'] == '/generate'
    assert browser_client.cookies.get('session') != before  # a fresh session at sign-in
    page = browser_client.get('/generate')
    assert page.status_code == 200
    assert 'plan cannot generate videos' in page.text


def test_the_same_subject_is_the_same_user_even_with_a_new_email(provider, browser_client, app_url) -> None:
    sign_in(browser_client, provider, 'g-200', email='first@example.com', email_verified=True)
    with httpx.Client(base_url=app_url) as other:
        sign_in(other, provider, 'g-200', email='renamed@example.com', email_verified=True)
        assert 'renamed@example.com' in other.get('/generate').text
    with httpx.Client(base_url=app_url) as impostor:  # a new subject with an old email is someone else
        sign_in(impostor, provider, 'g-201', email='renamed@example.com', email_verified=True)
        assert '1,000 credits' in impostor.get('/generate').text


def test_next_is_honoured_for_local_paths_only(provider, browser_client) -> None:
    set_claims(provider, 'g-300', email='next@example.com', email_verified=True)
    callback = consent(start(browser_client, '/history'), 'g-300')
    assert browser_client.get(callback_path(callback)).headers['location'] == '/history'
    callback = consent(start(browser_client, 'https://evil.example/'), 'g-300')
    assert browser_client.get(callback_path(callback)).headers['location'] == '/generate'


def test_denied_consent_returns_to_login_with_a_message(browser_client) -> None:
    callback = consent(start(browser_client), None, deny=True)
    response = browser_client.get(callback_path(callback))
    assert response.headers['location'] == '/login?error=denied'
    assert 'You cancelled the Google sign-in' in browser_client.get('/login?error=denied').text
    assert browser_client.get('/generate').status_code == 307  # still signed out


def test_an_unverified_email_is_refused(provider, browser_client) -> None:
    response = sign_in(browser_client, provider, 'g-400', email='unverified@example.com', email_verified=False)
    assert response.headers['location'] == '/login?error=refused'
    assert 'not verified' in browser_client.get('/login?error=refused').text
    assert browser_client.get('/generate').status_code == 307


def test_a_tampered_state_is_refused(provider, browser_client) -> None:
    set_claims(provider, 'g-500', email='tamper@example.com', email_verified=True)
    callback = consent(start(browser_client), 'g-500')
    response = browser_client.get(callback_path(with_query(callback, state='forged-state')))
    assert response.headers['location'] == '/login?error=failed'
    assert browser_client.get('/generate').status_code == 307


def test_a_replayed_callback_is_refused(provider, browser_client, app_url) -> None:
    set_claims(provider, 'g-600', email='replay@example.com', email_verified=True)
    callback = consent(start(browser_client), 'g-600')
    assert browser_client.get(callback_path(callback)).headers['location'] == '/generate'
    with httpx.Client(base_url=app_url, cookies=browser_client.cookies) as attacker:
        replay = attacker.get(callback_path(callback))
    assert replay.headers['location'] == '/login?error=failed'


def test_a_code_issued_to_another_client_is_refused(provider, browser_client) -> None:
    set_claims(provider, 'g-700', email='audience@example.com', email_verified=True)
    ours = start(browser_client)
    theirs = with_query(ours, client_id='another-app')  # the same flow, but for another audience
    callback = consent(theirs, 'g-700')
    response = browser_client.get(callback_path(callback))
    assert response.headers['location'] == '/login?error=failed'
    assert browser_client.get('/generate').status_code == 307


def test_only_allowed_domains_may_sign_in(provider, tmp_path) -> None:
    with running_app(tmp_path / 'data', **FAST, **google_env(provider), ALLOWED_EMAIL_DOMAINS='corp.example') as url, \
            httpx.Client(base_url=url) as client:
        refused = sign_in(client, provider, 'g-800', email='outsider@gmail.example', email_verified=True)
        assert refused.headers['location'] == '/login?error=refused'
        assert 'only open to accounts from corp.example' in client.get('/login?error=refused').text
        allowed = sign_in(client, provider, 'g-801', email='insider@corp.example', email_verified=True)
        assert allowed.headers['location'] == '/generate'


def test_the_login_page_offers_google_and_not_the_email_form(browser_client) -> None:
    page = browser_client.get('/login').text
    assert 'Sign in with Google' in page and 'Local sign-in' not in page


@pytest.mark.parametrize('env,message', [
    ({'HOST': '0.0.0.0'}, 'ALLOW_LOCAL_SIGNIN_ON_NETWORK'),
    ({'GOOGLE_CLIENT_ID': 'x', 'GOOGLE_CLIENT_SECRET': 'y', 'STORAGE_SECRET': ''}, 'STORAGE_SECRET must be set'),
    ({'GOOGLE_CLIENT_ID': 'x', 'GOOGLE_CLIENT_SECRET': 'y'}, 'STORAGE_SECRET must be set'),
])
def test_unsafe_settings_stop_the_app_with_a_clear_message(tmp_path, env, message) -> None:
    import os
    clean = {k: v for k, v in os.environ.items() if not k.startswith(('PYTEST_', 'NICEGUI_'))}
    result = subprocess.run([sys.executable, str(ROOT / 'app.py')], env={**clean, 'DATA_DIR': str(tmp_path), **env},
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert message in result.stderr and 'will not start' in result.stderr
