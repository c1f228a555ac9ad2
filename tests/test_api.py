"""The HTTP API over a real port: the app in a subprocess, httpx as the script, SSE read line by line."""
from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.api_server import ApiServer, api_server, read_stream
from tests.conftest import image_bytes

PROMPT = 'A red kite flying over green hills at dawn'
OTHER_ID = 'f' * 32


@pytest.fixture(scope='module')
def server(tmp_path_factory) -> ApiServer:
    with api_server(tmp_path_factory.mktemp('api') / 'data', API_GENERATE_PER_MINUTE='1000') as running:
        yield running


def generate(client: httpx.Client, key: str | None = None, **body) -> httpx.Response:
    headers = {'Idempotency-Key': key} if key else {}
    return client.post('/api/v1/videos/generate', json={'prompt': PROMPT, **body}, headers=headers)


def finished(client: httpx.Client, video_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        video = client.get(f'/api/v1/videos/{video_id}').json()
        if video['status'] in ('completed', 'failed', 'cancelled'):
            return video
        time.sleep(0.05)
    raise AssertionError(f'video {video_id} did not finish')


# --- the seed's journey ---------------------------------------------------------------------------

def test_a_script_generates_streams_to_completion_and_fetches_the_video(server) -> None:
    _, token = server.user()
    with server.client(token) as client:
        created = generate(client, model='sora-2', size='1280x720', seconds=4)
        assert created.status_code == 201, created.text
        video_id = created.json()['id']
        with httpx.stream('GET', f'{server.url}/api/v1/videos/{video_id}/stream', params={'token': token},
                          timeout=30) as stream:  # ?token= as an EventSource sends it
            assert stream.status_code == 200
            assert stream.headers['content-type'].startswith('text/event-stream')
            events = read_stream(stream)
        steps = [event['data']['step'] for event in events]
        assert steps[0] == 0 and steps[-1] == 9 and steps == sorted(steps)
        assert all({'step', 'message', 'timestamp'} <= set(event['data']) for event in events)
        assert any('progress' in event['data'] for event in events)
        last = events[-1]['data']
        assert last['status'] == 'completed' and last['video_url'].endswith('/content?variant=video')
        ids = [int(event['id']) for event in events]
        assert ids == sorted(set(ids))
        stored = client.get(f'/api/v1/videos/{video_id}/events').json()['events']
        assert [event['id'] for event in stored] == ids

        content = client.get(last['video_url'])
        assert content.status_code == 200 and content.headers['content-type'] == 'video/mp4'
        assert content.content[4:8] == b'ftyp'
        part = client.get(last['video_url'], headers={'Range': 'bytes=0-99'})
        assert part.status_code == 206 and len(part.content) == 100
        thumbnail = client.get(f'/api/v1/videos/{video_id}/content', params={'variant': 'thumbnail'})
        assert thumbnail.status_code == 200 and thumbnail.content[:3] == b'\xff\xd8\xff'

        me = client.get('/api/v1/me').json()
        assert me['balance'] == 900 and me['plan'] == 'standard'
        ledger = client.get('/api/v1/me/credits').json()
        assert [entry['kind'] for entry in ledger['entries']] == ['reserve', 'grant']
        listed = client.get('/api/v1/videos', params={'status': 'completed'}).json()
        assert [video['id'] for video in listed['videos']] == [video_id]


def test_a_reference_image_is_accepted_as_base64_or_as_a_multipart_file(server) -> None:
    _, token = server.user()
    picture = image_bytes(320, 240, 'JPEG')
    with server.client(token) as client:
        as_json = generate(client, image=base64.b64encode(picture).decode())
        assert as_json.status_code == 201, as_json.text
        as_form = client.post('/api/v1/videos/generate', data={'prompt': PROMPT, 'seconds': '4'},
                              files={'image': ('ref.jpg', picture, 'image/jpeg')})
        assert as_form.status_code == 201, as_form.text
        for video in (as_json.json(), as_form.json()):
            assert finished(client, video['id'])['status'] == 'completed'
            messages = [e['message'] for e in client.get(f"/api/v1/videos/{video['id']}/events").json()['events']]
            assert any('Image processed' in message for message in messages)


def test_resuming_with_last_event_id_loses_no_event_and_repeats_none(server) -> None:
    _, token = server.user()
    with server.client(token) as client:
        video_id = generate(client).json()['id']
        with client.stream('GET', f'/api/v1/videos/{video_id}/stream') as stream:
            first = read_stream(stream, limit=3)  # then the connection drops
        with client.stream('GET', f'/api/v1/videos/{video_id}/stream',
                           headers={'Last-Event-ID': first[-1]['id']}) as stream:
            rest = read_stream(stream)
        stored = [str(event['id']) for event in client.get(f'/api/v1/videos/{video_id}/events').json()['events']]
    received = [event['id'] for event in first + rest]
    assert received == stored  # every event once, in order
    assert rest[-1]['data']['status'] == 'completed'
    with server.client(token) as client, client.stream('GET', f'/api/v1/videos/{video_id}/stream',
                                                        headers={'Last-Event-ID': stored[-1]}) as stream:
        assert read_stream(stream) == []  # resumed after the end: closes at once


# --- who may do what ------------------------------------------------------------------------------

def video_endpoints(video_id: str) -> list[tuple[str, str]]:
    base = f'/api/v1/videos/{video_id}'
    return [('GET', base), ('GET', f'{base}/events'), ('GET', f'{base}/stream'), ('GET', f'{base}/content'),
            ('POST', f'{base}/cancel'), ('DELETE', base)]


def test_another_users_video_answers_404_on_every_endpoint(server) -> None:
    _, owner_token = server.user()
    _, stranger_token = server.user()
    with server.client(owner_token) as owner:
        video_id = generate(owner).json()['id']
        finished(owner, video_id)
    with server.client(stranger_token) as stranger:
        for method, path in video_endpoints(video_id):
            for target in (path, path.replace(video_id, OTHER_ID)):  # theirs and nobody's: the same answer
                response = stranger.request(method, target)
                assert response.status_code == 404, (method, target)
                assert response.headers['content-type'] == 'application/problem+json'
                assert response.json()['code'] == 'video_not_found'
    with server.client(owner_token) as owner:
        assert owner.get(f'/api/v1/videos/{video_id}').status_code == 200  # untouched by the attempts


def test_no_token_a_wrong_one_or_a_revoked_one_answers_401(server) -> None:
    user, token = server.user()
    endpoints = [*video_endpoints(OTHER_ID), ('POST', '/api/v1/videos/generate'), ('GET', '/api/v1/videos'),
                 ('GET', '/api/v1/me'), ('GET', '/api/v1/me/credits'), ('GET', '/api/v1/admin/videos'),
                 ('POST', '/api/v1/admin/videos/review'), ('POST', '/api/v1/admin/users/1/credits')]
    revoked = server.services.tokens.create(user.id, 'old')
    server.services.tokens.revoke(user.id, revoked.token.id)
    for secret in (None, 'avs_not-a-token', token + 'x', revoked.secret):
        with server.client(secret) as client:
            for method, path in endpoints:
                response = client.request(method, path, json={'prompt': PROMPT})
                assert response.status_code == 401, (secret, method, path, response.text)
                assert response.json()['code'] == 'unauthorized'
                assert response.headers['www-authenticate'] == 'Bearer'
    with server.client() as client:  # ?token= is for the stream only
        assert client.get('/api/v1/me', params={'token': token}).status_code == 401


def test_a_disabled_users_tokens_stop_working(server) -> None:
    user, token = server.user()
    with server.client(token) as client:
        assert client.get('/api/v1/me').status_code == 200
        admin, _ = server.user(admin=True)
        import asyncio
        asyncio.run(server.services.admin.set_disabled(admin, user.id, True, 'test'))
        assert client.get('/api/v1/me').status_code == 401


def test_admin_endpoints_refuse_non_admins_and_serve_admins(server) -> None:
    member, member_token = server.user()
    _, admin_token = server.user(admin=True)
    with server.client(member_token) as client:
        video_id = generate(client).json()['id']
        finished(client, video_id)
        assert client.get('/api/v1/admin/videos').status_code == 403
        assert client.post('/api/v1/admin/videos/review', json={'video_ids': [video_id], 'decision': 'approved'}) \
            .status_code == 403
        assert client.post(f'/api/v1/admin/users/{member.id}/credits', json={'amount': 5, 'reason': 'x'}) \
            .status_code == 403
    with server.client(admin_token) as admin:
        pending = admin.get('/api/v1/admin/videos', params={'review': 'pending', 'limit': 100}).json()
        assert video_id in [video['id'] for video in pending['videos']]
        assert admin.post('/api/v1/admin/videos/review', json={'video_ids': [video_id], 'decision': 'rejected',
                                                                'reason': 'test'}).json() == {'changed': 1}
        rejected = admin.get('/api/v1/admin/videos', params={'review': 'rejected'}).json()
        assert video_id in [video['id'] for video in rejected['videos']]
        granted = admin.post(f'/api/v1/admin/users/{member.id}/credits', json={'amount': 250, 'reason': 'bonus'})
        assert granted.json() == {'user_id': member.id, 'balance': 1150}
        assert admin.post('/api/v1/admin/users/999999/credits', json={'amount': 1, 'reason': 'x'}).status_code == 404
        assert admin.post(f'/api/v1/admin/users/{member.id}/credits', json={'amount': 0, 'reason': 'x'}) \
            .status_code == 422
        assert admin.get(f'/api/v1/videos/{video_id}/content').status_code == 200  # admins still play it
    with server.client(member_token) as client:
        assert client.get(f'/api/v1/videos/{video_id}').json()['review_status'] == 'rejected'
        assert client.get(f'/api/v1/videos/{video_id}/content').status_code == 404  # rejected: not playable


# --- idempotency, cancel, delete ---------------------------------------------------------------------

def test_the_same_key_and_body_is_the_same_video_charged_once_and_another_body_is_422(server) -> None:
    _, token = server.user()
    with server.client(token) as client:
        first = generate(client, key='job-1')
        again = generate(client, key='job-1')
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()['id'] == again.json()['id']
        other = generate(client, key='job-1', seconds=8)
        assert other.status_code == 422 and other.json()['code'] == 'idempotency_key_reused'
        assert client.get('/api/v1/me').json()['balance'] == 900
        assert generate(client, key='job-2').json()['id'] != first.json()['id']


def test_a_request_whose_key_is_still_in_flight_answers_409(server) -> None:
    _, token = server.user()
    release = threading.Event()
    results = {}

    def slow_body():
        yield b'{"prompt": "' + PROMPT.encode()
        release.wait(10)  # the first request is on the wire, its body not finished
        yield b'"}'

    def first_request():
        with server.client(token) as client:
            results['first'] = client.post('/api/v1/videos/generate', content=slow_body(),
                                           headers={'Idempotency-Key': 'slow', 'Content-Type': 'application/json'})

    worker = threading.Thread(target=first_request)
    worker.start()
    try:
        time.sleep(0.5)
        with server.client(token) as client:
            second = generate(client, key='slow')
    finally:
        release.set()
        worker.join(15)
    assert second.status_code == 409 and second.json()['code'] == 'request_in_flight'
    assert results['first'].status_code == 201
    with server.client(token) as client:
        assert generate(client, key='slow').json()['id'] == results['first'].json()['id']


def test_cancel_refunds_and_delete_removes_a_finished_video(server) -> None:
    _, token = server.user()
    with server.client(token) as client:
        video_id = generate(client, model='sora-2-pro', size='1280x720', seconds=12).json()['id']
        assert client.delete(f'/api/v1/videos/{video_id}').json()['code'] == 'video_active'
        cancelled = client.post(f'/api/v1/videos/{video_id}/cancel')
        assert cancelled.status_code == 200 and cancelled.json()['status'] == 'cancelled'
        assert client.post(f'/api/v1/videos/{video_id}/cancel').status_code == 409
        assert client.get('/api/v1/me').json()['balance'] == 1000
        assert client.delete(f'/api/v1/videos/{video_id}').status_code == 204
        assert client.get(f'/api/v1/videos/{video_id}').status_code == 404
        assert client.get('/api/v1/videos').json()['videos'] == []


def test_list_pages_with_a_cursor_and_filters(server) -> None:
    _, token = server.user()
    with server.client(token) as client:
        made = [generate(client, prompt=f'{PROMPT} number {n}').json()['id'] for n in range(5)]
        seen, cursor = [], None
        while True:
            page = client.get('/api/v1/videos', params={'limit': 2, **({'cursor': cursor} if cursor else {})}).json()
            seen += [video['id'] for video in page['videos']]
            if not (cursor := page['next_cursor']):
                break
        assert seen == made[::-1]
        found = client.get('/api/v1/videos', params={'search': 'number 3'}).json()['videos']
        assert [video['id'] for video in found] == [made[3]]
        assert client.get('/api/v1/videos', params={'cursor': 'garbage!'}).json()['code'] == 'invalid_cursor'


# --- bad input: always a 4xx problem, never a 500 --------------------------------------------------

HOSTILE = ["'; DROP TABLE video; --", '<script>alert(1)</script>', '\x00\x01\x02 nul bytes here', '../../etc/passwd',
           '💥' * 3000, 'A' * 100_000, '%s%s%n', '{{7*7}}']


@pytest.mark.parametrize('body', [
    {}, {'prompt': ''}, {'prompt': 5}, {'prompt': None}, {'prompt': ['a']}, {'prompt': PROMPT, 'seconds': 'four'},
    {'prompt': PROMPT, 'seconds': 7}, {'prompt': PROMPT, 'seconds': 10 ** 30}, {'prompt': PROMPT, 'model': 'sora-9'},
    {'prompt': PROMPT, 'size': '1x1'}, {'prompt': PROMPT, 'image': 'not base64!!'},
    {'prompt': PROMPT, 'image': base64.b64encode(b'not an image').decode()}, [], 'a string', None,
    {'prompt': 'A' * 100_000}, {'prompt': 'short'}, {'prompt': 'nul \x00 bytes in a prompt'},
    *({'prompt': PROMPT, 'model': text} for text in HOSTILE), *({'prompt': PROMPT, 'size': text} for text in HOSTILE),
])
def test_bad_generate_requests_are_refused_with_a_problem(server, body) -> None:
    _, token = server.user()
    with server.client(token) as client:
        response = client.post('/api/v1/videos/generate', json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers['content-type'] == 'application/problem+json'
    problem = response.json()
    assert {'type', 'title', 'status', 'detail', 'code'} <= set(problem) and problem['status'] == response.status_code


def test_hostile_strings_are_stored_verbatim_or_refused_never_a_500(server) -> None:
    _, token = server.user(credits=10_000)
    with server.client(token) as client:
        for text in HOSTILE:
            created = generate(client, prompt=text)
            assert created.status_code in (201, 422), created.text
            if created.status_code == 201:
                assert client.get(f"/api/v1/videos/{created.json()['id']}").json()['prompt'] == text.strip()
            for params in ({'search': text[:200]}, {'model': text[:64]}, {'cursor': text[:200]}):
                assert client.get('/api/v1/videos', params=params).status_code in (200, 422)
            assert client.get(f'/api/v1/videos/{quote(text[:100], safe="")}').status_code == 404


def test_malformed_bodies_oversized_images_and_odd_ids_are_4xx(server) -> None:
    _, token = server.user()
    with server.client(token) as client:
        for content, content_type in ((b'{"prompt": ', 'application/json'), (b'\xff\xfe', 'application/json'),
                                      (b'prompt=x', 'text/plain'), (b'--x\r\nbroken', 'multipart/form-data; boundary=x')):
            response = client.post('/api/v1/videos/generate', content=content, headers={'Content-Type': content_type})
            assert 400 <= response.status_code < 500, (content, response.text)
        huge = base64.b64encode(b'\0' * (9 * 2 ** 20)).decode()  # its JSON body is over the request limit
        too_big = client.post('/api/v1/videos/generate', json={'prompt': PROMPT, 'image': huge})
        assert too_big.status_code == 413  # FastAPI's own body limit answers before any route (plain text)
        too_big = client.post('/api/v1/videos/generate', data={'prompt': PROMPT},
                              files={'image': ('x.jpg', b'\0' * (10 * 2 ** 20 + 1), 'image/jpeg')})
        assert too_big.status_code == 413 and too_big.json()['code'] in ('image_too_large', 'request_too_large')
        for odd in ('x' * 500, '%00', '..%2F..%2Fetc', "1' OR '1'='1", '😀'):
            assert client.get(f'/api/v1/videos/{odd}').status_code == 404
        assert client.get('/api/v1/videos/x/events', params={'after': -1}).status_code == 422
        assert client.get('/api/v1/videos/x/events', params={'after': 10 ** 40}).status_code == 422
        assert client.get('/api/v1/videos', params={'limit': 0}).status_code == 422
        assert client.get('/api/v1/videos', params={'status': 'nonsense'}).status_code == 422
        assert client.get('/api/v1/nothing-here').json()['code'] == 'not_found'
        stream = client.get(f'/api/v1/videos/{OTHER_ID}/stream', headers={'Last-Event-ID': 'zzz'})
        assert stream.status_code == 404


# --- operations -----------------------------------------------------------------------------------

def test_health_metrics_and_the_openapi_document(server) -> None:
    with server.client() as client:
        assert client.get('/api/v1/healthz').json() == {'ok': True, 'database': True, 'runner': True}
        metrics = client.get('/api/v1/metrics')
        assert metrics.headers['content-type'].startswith('text/plain')
        assert 'aivideo_videos{status="completed"}' in metrics.text
        assert 'aivideo_provider_calls_total{kind="create",result="ok"}' in metrics.text
        assert 'aivideo_event_delivery_seconds_bucket{le="+Inf"}' in metrics.text
        document = client.get('/openapi.json').json()
    paths = document['paths']
    assert set(paths) == {
        '/api/v1/videos/generate', '/api/v1/videos', '/api/v1/videos/{video_id}', '/api/v1/videos/{video_id}/events',
        '/api/v1/videos/{video_id}/stream', '/api/v1/videos/{video_id}/content', '/api/v1/videos/{video_id}/cancel',
        '/api/v1/me', '/api/v1/me/credits', '/api/v1/admin/videos', '/api/v1/admin/videos/review',
        '/api/v1/admin/users/{user_id}/credits', '/api/v1/healthz', '/api/v1/metrics'}
    assert 'delete' in paths['/api/v1/videos/{video_id}']
    assert document['components']['securitySchemes']['HTTPBearer']['scheme'] == 'bearer'


def test_generation_is_rate_limited_per_user_with_retry_after(tmp_path) -> None:
    with api_server(tmp_path / 'data', API_GENERATE_PER_MINUTE='3') as limited:
        _, token = limited.user()
        _, other_token = limited.user()
        with limited.client(token) as client:
            answers = [generate(client, key=uuid.uuid4().hex).status_code for _ in range(4)]
            assert answers == [201, 201, 201, 429]
            refused = generate(client)
            assert refused.json()['code'] == 'rate_limited' and 1 <= int(refused.headers['retry-after']) <= 60
        with limited.client(other_token) as client:
            assert generate(client).status_code == 201  # per user


def test_schemathesis_finds_no_server_error_anywhere_in_the_openapi_document(server, tmp_path) -> None:
    """Property-based fuzzing of every operation in /openapi.json, bounded to a few seconds per
    operation: any 5xx (or a response that breaks HTTP) fails the test."""
    _, token = server.user(admin=True, credits=100_000)  # an admin, so the admin operations run their logic too
    command = [str(Path(sys.executable).parent / 'schemathesis'), 'run', f'{server.url}/openapi.json',
               '--checks', 'not_a_server_error', '--max-examples', '15', '--workers', '1',
               '--request-timeout', '15', '--header', f'Authorization: Bearer {token}', '--seed', '20261130',
               '--generation-database', 'none', '--suppress-health-check', 'all', '--no-color']
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert 'Test cases:' in run.stdout


def test_a_quiet_stream_sends_heartbeat_comments(tmp_path) -> None:
    from tests.api_server import api_server
    with api_server(tmp_path / 'data', SSE_HEARTBEAT_SECONDS='0.3', MOCK_RENDER_SECONDS='3',
                    MOCK_POLL_SECONDS='2') as quiet:
        user, token = quiet.user(credits=0)
        with quiet.client(token) as client:
            video = client.post('/api/v1/videos/generate', json={'prompt': 'A quiet pond at dawn, barely moving'},
                                headers={'Idempotency-Key': 'heartbeat'}).json()
            comments = []
            with client.stream('GET', f'/api/v1/videos/{video["id"]}/stream') as response:
                for line in response.iter_lines():
                    if line.startswith(':'):
                        comments.append(line)
                    if len(comments) >= 2:
                        break
    assert len(comments) >= 2 and all(c.startswith(': ping') for c in comments)
