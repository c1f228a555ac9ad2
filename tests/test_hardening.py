"""What a public deployment needs: body limits, upload attacks, headers, cookies, no leaked secrets."""
import io
import zlib
import struct

import httpx
import pytest
from PIL import Image

from services import images
from tests.conftest import FAST
from tests.emulator import Emulator
from tests.live_server import running_app

SECRETS = {'OPENAI_API_KEY': 'sk-live-supersecret-abcdef0123456789',
           'STORAGE_SECRET': 'storage-secret-that-must-stay-hidden-0123456789'}


@pytest.fixture(scope='module')
def app_data(tmp_path_factory):
    return tmp_path_factory.mktemp('hardening') / 'data'


@pytest.fixture(scope='module')
def app_url(app_data):
    with running_app(app_data, **FAST, MAX_UPLOAD_BYTES=str(200_000), STORAGE_SECRET=SECRETS['STORAGE_SECRET']) as url:
        yield url


def signed_in_client(url: str, data_dir, email: str = 'tester@example.com') -> httpx.Client:
    """A plain HTTP client signed in the way the login page does it: a ticket traded at /auth/local."""
    from services import Services
    from services.config import Settings
    services = Services.build(Settings(data_dir=data_dir, storage_secret=SECRETS['STORAGE_SECRET'], _env_file=None))
    ticket = services.users.ticket(services.users.sign_in_local(email).id)
    client = httpx.Client(base_url=url)
    assert client.get(f'/auth/local?ticket={ticket}').headers['location'] == '/generate'
    return client


def test_security_headers_and_cookie_flags(app_url) -> None:
    response = httpx.get(f'{app_url}/login')
    assert response.headers['x-content-type-options'] == 'nosniff'
    assert response.headers['x-frame-options'] == 'DENY'
    assert response.headers['referrer-policy'] == 'same-origin'
    policy = response.headers['content-security-policy']
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy and "default-src 'self'" in policy
    cookie = response.headers['set-cookie'].lower()
    assert 'httponly' in cookie and 'samesite=lax' in cookie and 'secure' not in cookie


def test_the_session_cookie_is_secure_behind_https(tmp_path) -> None:
    with running_app(tmp_path / 'data', **FAST, HTTPS='true') as url:
        assert 'secure' in httpx.get(f'{url}/login').headers['set-cookie'].lower()


def test_an_oversized_body_is_refused_before_it_is_read(app_url, app_data) -> None:
    import re
    client = signed_in_client(app_url, app_data)
    page = client.get('/generate').text
    upload = re.search(r'(/_nicegui/client/[0-9a-f-]+/upload/\d+)', page).group(1)  # the page's real upload route
    small = client.post(upload, files={'file': ('ok.jpg', jpeg(), 'image/jpeg')})
    assert small.status_code == 200
    announced = client.post(upload, files={'file': ('big.jpg', b'x' * 1_400_000, 'image/jpeg')})
    assert announced.status_code == 413

    def chunks():  # a well-formed multipart body whose size is never announced
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n' \
              b'Content-Type: image/jpeg\r\n\r\n'
        for _ in range(30):
            yield b'y' * 100_000
        yield b'\r\n--b--\r\n'
    streamed = client.post(upload, content=chunks(), headers={'content-type': 'multipart/form-data; boundary=b'})
    assert streamed.status_code == 413


def test_nothing_answers_500_for_junk(app_url) -> None:
    for path in ('/media/videos/%00/video', '/videos/%ff%fe', '/auth/local?ticket=forged', '/auth/google/login',
                 '/login?next=%0d%0aSet-Cookie:x=1', '/media/videos/' + 'a' * 5000 + '/video'):
        response = httpx.get(f'{app_url}{path}')
        assert response.status_code < 500, path
        assert 'set-cookie: x=1' not in str(response.headers).lower()


def bomb_png(side: int = 30_000) -> bytes:
    """A valid PNG header claiming side x side pixels over a tiny compressed body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    header = struct.pack('>IIBBBBB', side, side, 8, 2, 0, 0, 0)
    body = zlib.compress(b'\x00' * (side * 3 + 1) * 16, 9)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', body) + chunk(b'IEND', b'')


def jpeg(width: int = 64, height: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new('RGB', (width, height), 'teal').save(out, 'JPEG')
    return out.getvalue()


@pytest.mark.parametrize('data,reason', [
    (bomb_png(), 'too many pixels'),
    (b'MZ\x90\x00' + b'\x00' * 500, 'not a JPEG, PNG or WebP'),  # an executable renamed .png
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 'not a JPEG, PNG or WebP'),
    (b'GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'not a JPEG, PNG or WebP'),
    (jpeg()[:200], 'damaged'),
])
def test_upload_attacks_are_refused_with_a_reason(data, reason) -> None:
    with pytest.raises(images.ImageRejected, match=reason):
        images.validate(data, max_bytes=10_000_000, max_pixels=40_000_000)


def test_a_polyglot_is_re_encoded_and_loses_its_payload() -> None:
    payload = b'<?php system($_GET["c"]); ?><script>alert(1)</script>PK\x03\x04zip-inside'
    cleaned = images.validate(jpeg() + payload, max_bytes=10_000_000, max_pixels=40_000_000)
    assert payload not in cleaned and b'<?php' not in cleaned and b'<script>' not in cleaned
    assert cleaned[:3] == b'\xff\xd8\xff' and Image.open(io.BytesIO(cleaned)).size == (64, 64)


def test_secrets_never_reach_logs_or_pages(tmp_path) -> None:
    with Emulator(render_seconds=0.2).running() as emulator:
        emulator.script['create'] = ['401']  # an auth failure is where a key would most likely leak
        data = tmp_path / 'data'
        with running_app(data, **FAST, **SECRETS, VIDEO_PROVIDER='openai', OPENAI_BASE_URL=emulator.url) as url:
            from services import Services
            from services.config import Settings
            from services.videos import VideoRequest
            from tests.conftest import wait_until
            import asyncio
            services = Services.build(Settings(data_dir=data, _env_file=None))
            user = services.users.sign_in_local('leak@example.com')

            async def make() -> str:
                video = await services.videos.submit(user.id, VideoRequest('A test of the emergency broadcast'), 'k')
                await wait_until(lambda: services.videos.get(video.id).is_terminal, timeout=20)
                return video.id
            video_id = asyncio.run(make())
            assert services.videos.get(video_id).error_code == 'auth_failed'
            pages = [httpx.get(f'{url}{path}', follow_redirects=True).text for path in ('/login', '/status')]
        log_text = (data.parent / f'app-{url.rsplit(":", 1)[1]}.log').read_text()
    assert 'auth_failed' in log_text  # the failure was logged, so a leak would have shown here
    for secret in SECRETS.values():
        assert secret not in log_text
        assert all(secret not in page for page in pages)
        assert secret not in (services.videos.get(video_id).error_message or '')


def test_the_redaction_filter_masks_secrets_in_messages_and_tracebacks(caplog) -> None:
    import logging
    from services.logs import MASK, RedactSecrets
    logger = logging.getLogger('leaky')
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(RedactSecrets([SECRETS['OPENAI_API_KEY']]))
    logger.addHandler(handler)
    try:
        logger.warning('calling with key %s', SECRETS['OPENAI_API_KEY'])
        try:
            raise RuntimeError(f'bad key {SECRETS["OPENAI_API_KEY"]}')
        except RuntimeError:
            logger.exception('failed')
        handler.flush()
        written = handler.stream.getvalue()
    finally:
        logger.removeHandler(handler)
    assert SECRETS['OPENAI_API_KEY'] not in written and written.count(MASK) >= 2
