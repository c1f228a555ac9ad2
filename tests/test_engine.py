"""The submit service and the runner, without pages: charging, refunds, resume and leases."""
import asyncio
from pathlib import Path

import pytest
from sqlmodel import select

from models import CreditEntry, Video
from services import Services
from services.config import Settings
from services.videos import SubmitError, VideoRequest
from tests.conftest import finished, image_bytes, wait_until

PROMPT = 'Waves rolling onto a pebble beach at dawn'


def all_videos(services: Services) -> list[Video]:
    with services.db.session() as session:
        return list(session.exec(select(Video)))


def mock_creates(data_dir: Path) -> int:
    """Renders started at the mock service, counted from its own job files."""
    return len(list((data_dir / 'mock_provider' / 'jobs').glob('*.json')))


async def test_submit_charges_once_and_the_ledger_matches_the_balance(db_settings: Settings) -> None:
    services = Services.build(db_settings)
    user = services.users.sign_in_local('a@example.com')
    first = await services.videos.submit(user.id, VideoRequest(PROMPT), 'same-key')
    again = await services.videos.submit(user.id, VideoRequest(PROMPT), 'same-key')
    assert first.id == again.id
    assert services.credits.balance(user.id) == 900
    kinds = [entry.kind for entry in services.credits.ledger(user.id)]
    assert sorted(kinds) == ['grant', 'reserve']
    assert services.credits.unbalanced_users() == []


async def test_fifty_simultaneous_submits_with_credits_for_three_make_three_videos(db_settings: Settings) -> None:
    services = Services.build(db_settings)
    user = services.users.sign_in_local('a@example.com')
    services.credits.grant(user.id, -700, 'leave 300: three videos')
    results = await asyncio.gather(*(services.videos.submit(user.id, VideoRequest(PROMPT), f'key-{i}')
                                     for i in range(50)), return_exceptions=True)
    made = [r for r in results if isinstance(r, Video)]
    refused = [r for r in results if isinstance(r, SubmitError)]
    assert len(made) == 3 and len(refused) == 47
    assert all(r.field == 'credits' for r in refused)
    assert services.credits.balance(user.id) == 0
    assert services.credits.unbalanced_users() == []


async def test_concurrent_repeats_of_one_key_make_one_video(db_settings: Settings) -> None:
    services = Services.build(db_settings)
    user = services.users.sign_in_local('a@example.com')
    results = await asyncio.gather(*(services.videos.submit(user.id, VideoRequest(PROMPT), 'k') for _ in range(10)))
    assert len({video.id for video in results}) == 1
    assert services.credits.balance(user.id) == 900


@pytest.mark.parametrize('field,request_', [
    ('model', VideoRequest(PROMPT, model='sora-3')),
    ('size', VideoRequest(PROMPT, model='sora-2', size='1792x1024')),
    ('size', VideoRequest(PROMPT, size='99999x99999')),
    ('seconds', VideoRequest(PROMPT, seconds=5)),
    ('seconds', VideoRequest(PROMPT, seconds=-4)),
    ('prompt', VideoRequest('x' * 100_000)),
    ('image', VideoRequest(PROMPT, image=b'<?php system($_GET["c"]); ?>')),
])
async def test_invalid_requests_are_refused_before_any_charge(services: Services, field, request_) -> None:
    user = services.users.sign_in_local('a@example.com')
    with pytest.raises(SubmitError) as refusal:
        await services.videos.submit(user.id, request_, 'k')
    assert refusal.value.field == field
    assert services.credits.balance(user.id) == 1000
    assert not list((services.storage.root / 'references').iterdir())  # no file left behind


async def test_a_hostile_idempotency_key_is_refused(services: Services) -> None:
    user = services.users.sign_in_local('a@example.com')
    for key in ('', 'k' * 65):
        with pytest.raises(SubmitError):
            await services.videos.submit(user.id, VideoRequest(PROMPT), key)


async def test_runner_completes_a_video_with_every_step_in_order(services: Services) -> None:
    user = services.users.sign_in_local('a@example.com')
    services.runner.start()
    try:
        video = await services.videos.submit(user.id, VideoRequest(PROMPT, image=image_bytes()), 'k')
        done = await finished(services, video.id)
    finally:
        await services.runner.stop()
    assert done.status == 'completed' and done.lease_owner is None
    assert services.storage.path(done.video_path).stat().st_size > 1000
    steps = [event.step for event in services.events.since(video.id)]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 9
    assert services.events.since(video.id)[-1].status == 'completed'


async def test_a_refused_video_fails_with_the_reason_and_refunds_exactly_once(db_settings: Settings) -> None:
    services = Services.build(db_settings)
    user = services.users.sign_in_local('a@example.com')
    services.runner.start()
    try:
        video = await services.videos.submit(user.id, VideoRequest(f'{PROMPT} mock:refuse'), 'k')
        done = await finished(services, video.id)
    finally:
        await services.runner.stop()
    assert (done.status, done.error_code) == ('failed', 'moderation_blocked')
    assert services.credits.balance(user.id) == 1000
    assert services.credits.refund(video.id, 'a second try') == 0  # the ledger refuses a second refund
    with services.db.session() as session:
        refunds = session.exec(select(CreditEntry).where(CreditEntry.video_id == video.id,
                                                         CreditEntry.kind == 'refund')).all()
    assert len(refunds) == 1
    assert services.credits.unbalanced_users() == []


async def test_a_video_queued_when_the_app_stopped_runs_at_the_next_start(db_settings: Settings) -> None:
    settings = db_settings
    first = Services.build(settings)
    user = first.users.sign_in_local('a@example.com')
    video = await first.videos.submit(user.id, VideoRequest(PROMPT), 'k')  # no runner is running
    first.db.dispose()
    second = Services.build(settings)
    second.runner.start()
    try:
        done = await finished(second, video.id)
    finally:
        await second.runner.stop()
    assert done.status == 'completed'


async def test_a_crashed_runner_is_resumed_mid_poll_without_a_second_render(db_settings: Settings) -> None:
    settings = db_settings
    settings.lease_seconds = 0.6
    settings.mock_render_seconds = 1.0
    first = Services.build(settings)
    user = first.users.sign_in_local('a@example.com')
    first.runner.start()
    video = await first.videos.submit(user.id, VideoRequest(PROMPT), 'k')
    await wait_until(lambda: first.videos.get(video.id).provider_job_id)
    # a crash: the tasks die, nothing is released, the lease is left to expire
    first.runner._loop_task.cancel()
    for task in list(first.runner.jobs.values()):
        task.cancel()
    await asyncio.sleep(0.05)
    assert first.videos.get(video.id).lease_owner == first.runner.owner

    second = Services.build(settings)
    second.runner.start()
    try:
        done = await finished(second, video.id)
    finally:
        await second.runner.stop()
    assert done.status == 'completed' and done.attempts == 2
    assert mock_creates(settings.data_dir) == 1
    assert second.credits.balance(user.id) == 900


async def test_two_runners_never_work_the_same_video(db_settings: Settings) -> None:
    settings = db_settings
    settings.mock_render_seconds = 0.2
    runners = [Services.build(settings) for _ in range(2)]
    user = runners[0].users.sign_in_local('a@example.com')
    runners[0].credits.grant(user.id, 5000, 'room for many')
    for i in range(20):
        await runners[0].videos.submit(user.id, VideoRequest(PROMPT), f'k{i}')
    for services in runners:
        services.runner.start()
    try:
        await wait_until(lambda: all(v.is_terminal for v in all_videos(runners[0])), timeout=30)
    finally:
        for services in runners:
            await services.runner.stop()
    videos = all_videos(runners[0])
    assert {v.status for v in videos} == {'completed'}
    assert all(v.attempts == 1 for v in videos)  # each claimed exactly once
    assert mock_creates(settings.data_dir) == 20


async def test_a_video_stuck_past_the_job_timeout_fails_and_refunds(db_settings: Settings) -> None:
    settings = db_settings
    settings.job_timeout_seconds = 0.5
    settings.mock_render_seconds = 60
    services = Services.build(settings)
    user = services.users.sign_in_local('a@example.com')
    services.runner.start()
    try:
        video = await services.videos.submit(user.id, VideoRequest(PROMPT), 'k')
        done = await finished(services, video.id)
    finally:
        await services.runner.stop()
    assert (done.status, done.error_code) == ('failed', 'timeout')
    assert services.credits.balance(user.id) == 1000


async def test_the_same_key_with_a_different_request_is_refused(services: Services) -> None:
    from services.videos import KeyReused
    user = services.users.sign_in_local('a@example.com')
    await services.videos.submit(user.id, VideoRequest(PROMPT), 'k')
    with pytest.raises(KeyReused):
        await services.videos.submit(user.id, VideoRequest(PROMPT, seconds=8), 'k')
    assert services.credits.balance(user.id) == 900


async def test_pages_of_videos_are_newest_first_filtered_and_complete(services: Services) -> None:
    user = services.users.sign_in_local('a@example.com')
    other = services.users.sign_in_local('b@example.com')
    services.credits.grant(user.id, 5000, 'room')
    made = [await services.videos.submit(user.id, VideoRequest(f'{PROMPT} number {i} 100%_done'), f'k{i}')
            for i in range(23)]
    await services.videos.submit(other.id, VideoRequest(PROMPT), 'theirs')
    seen, cursor = [], None
    while True:
        page, cursor = services.videos.page(user_id=user.id, limit=10, cursor=cursor)
        seen += page
        if cursor is None:
            break
    assert [v.id for v in seen] == [v.id for v in reversed(made)]
    assert [v.id for v in services.videos.page(user_id=user.id, search='number 7')[0]] == [made[7].id]
    assert len(services.videos.page(user_id=user.id, search='100%_')[0]) == 23  # wildcards are literal
    assert services.videos.page(user_id=user.id, search='_done_')[0] == []  # '_' is not "any character"
    assert services.videos.page(user_id=user.id, status='completed')[0] == []
    assert len(services.videos.page(limit=100)[0]) == 24  # an admin's view: everyone's
    with pytest.raises(SubmitError):
        services.videos.page(user_id=user.id, cursor='not-a-cursor!')


async def test_deleting_removes_files_and_hides_the_video_but_keeps_the_ledger(services: Services) -> None:
    user = services.users.sign_in_local('a@example.com')
    stranger = services.users.sign_in_local('b@example.com')
    services.runner.start()
    try:
        video = await services.videos.submit(user.id, VideoRequest(PROMPT), 'k')
        assert not await services.videos.delete(user, video.id)  # still queued: cancel it first
        done = await finished(services, video.id)
    finally:
        await services.runner.stop()
    files = [services.storage.path(done.video_path), services.storage.path(done.thumbnail_path)]
    assert all(f.exists() for f in files)
    assert not await services.videos.delete(stranger, video.id)
    assert await services.videos.delete(user, video.id)
    assert not any(f.exists() for f in files)
    assert services.videos.page(user_id=user.id)[0] == []
    assert services.credits.balance(user.id) == 900 and services.credits.unbalanced_users() == []
    assert not await services.videos.delete(user, video.id)  # already gone
