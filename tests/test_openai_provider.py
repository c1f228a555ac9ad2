"""The engine with the real OpenAI SDK speaking real HTTP to the local Videos API emulator:
faults, retries, reconciling lost creates, timeouts and cancels. One render per video, always."""
import pytest

from services import Services
from services.config import Settings
from services.videos import VideoRequest
from tests.conftest import finished, image_bytes, wait_until
from tests.emulator import Emulator

PROMPT = 'A hummingbird hovering over a red flower, macro'


@pytest.fixture
def emulator():
    with Emulator(render_seconds=0.3, poll_after_ms=50).running() as running:
        yield running


@pytest.fixture
async def engine(settings: Settings, emulator: Emulator):
    settings.video_provider = 'openai'
    settings.openai_base_url = emulator.url
    settings.openai_api_key = 'sk-test-emulator'
    settings.provider_timeout_seconds = 1.0
    built = Services.build(settings)
    built.runner.start()
    yield built
    await built.runner.stop()
    built.db.dispose()


async def run_one(engine: Services, prompt: str = PROMPT, **request):
    user = engine.users.sign_in_local('maker@example.com')
    try:
        video = await engine.videos.submit(user.id, VideoRequest(prompt, **request), 'key')
        done = await finished(engine, video.id, timeout=20)
    finally:
        await engine.runner.stop()
    return done, engine.credits.balance(user.id)


def messages(engine: Services, video_id: str) -> str:
    return '\n'.join(event.message for event in engine.events.since(video_id))


async def test_a_video_is_made_through_the_sdk_with_one_render(engine, emulator) -> None:
    done, balance = await run_one(engine, image=image_bytes(300, 300))
    assert done.status == 'completed' and balance == 900
    assert emulator.creates == 1 and emulator.calls['create'] == 1
    assert engine.storage.path(done.video_path).read_bytes()[4:8] == b'ftyp'
    assert engine.storage.path(done.thumbnail_path).read_bytes()[:3] == b'\xff\xd8\xff'
    assert done.provider_job_id.startswith('video_')


async def test_the_reference_image_is_fitted_to_the_exact_size(engine, emulator) -> None:
    # the emulator answers 400 unless the image matches the requested size exactly, as the API does
    done, _ = await run_one(engine, image=image_bytes(4000, 1000), size='1280x720')
    assert done.status == 'completed'


async def test_polling_honours_poll_after_within_bounds(engine, emulator) -> None:
    emulator.poll_after_ms = 150
    emulator.render_seconds = 0.9
    done, _ = await run_one(engine)
    assert done.status == 'completed'
    assert 3 <= emulator.calls['retrieve'] <= 0.9 / 0.15 + 3  # not the SDK's 1 s, not a busy loop


async def test_an_unknown_model_fails_fast_naming_the_setting_and_refunds(settings, emulator) -> None:
    emulator.models = {'veo-3'}
    settings.video_provider, settings.openai_base_url = 'openai', emulator.url
    engine = Services.build(settings)
    engine.runner.start()
    done, balance = await run_one(engine)
    assert (done.status, done.error_code) == ('failed', 'model_not_found')
    assert 'OPENAI_BASE_URL' in done.error_message and 'sora-2' in done.error_message
    assert (done.finished_at - done.created_at).total_seconds() < 5
    assert balance == 1000 and emulator.creates == 0


async def test_a_moderation_refusal_fails_with_the_reason_and_refunds(engine, emulator) -> None:
    done, balance = await run_one(engine, prompt='Please refuse this prompt politely')
    assert (done.status, done.error_code) == ('failed', 'moderation_blocked')
    assert 'moderation' in done.error_message and balance == 1000


async def test_a_rejected_api_key_fails_without_retrying(engine, emulator) -> None:
    emulator.script['create'] = ['401']
    done, balance = await run_one(engine)
    assert (done.status, done.error_code) == ('failed', 'auth_failed')
    assert 'OPENAI_API_KEY' in done.error_message
    assert emulator.calls['create'] == 1 and balance == 1000


async def test_a_429_on_create_is_retried_and_makes_one_render(engine, emulator) -> None:
    emulator.script['create'] = ['429', '429']
    done, balance = await run_one(engine)
    assert done.status == 'completed' and balance == 900
    assert emulator.calls['create'] == 3 and emulator.creates == 1 and done.retries == 2
    log = messages(engine, done.id)
    assert 'rate limited' in log and '(retry 1 of 3)' in log and '(retry 2 of 3)' in log


@pytest.mark.parametrize('fault', ['500', 'drop'])
async def test_a_create_with_an_unknown_outcome_is_reconciled_not_resubmitted(engine, emulator, fault) -> None:
    emulator.script['create'] = [fault]  # the emulator fails before it starts a render
    done, balance = await run_one(engine)
    assert (done.status, done.error_code) == ('failed', 'submit_lost')
    assert 'You were not charged' in done.error_message
    assert emulator.calls['create'] == 1 and emulator.calls['list'] >= 1
    assert balance == 1000


async def test_a_timed_out_create_whose_render_started_is_adopted(engine, emulator) -> None:
    emulator.hold.add('create_after')  # the render starts; its answer never arrives in time
    done, balance = await run_one(engine)
    assert done.status == 'completed' and balance == 900
    assert emulator.calls['create'] == 1 and emulator.creates == 1
    assert 'Found the render started before the interruption' in messages(engine, done.id)


async def test_poll_faults_are_ridden_out_without_a_second_render(engine, emulator) -> None:
    emulator.hang_seconds = 3
    emulator.script['retrieve'] = ['500', 'drop', '429', 'hang', '502']
    done, _ = await run_one(engine)
    assert done.status == 'completed' and emulator.creates == 1


async def test_a_failed_download_is_retried_as_a_download(engine, emulator) -> None:
    emulator.script['content'] = ['500', 'drop']
    done, balance = await run_one(engine)
    assert done.status == 'completed' and balance == 900
    assert emulator.creates == 1 and emulator.calls['content'] >= 4


async def test_expired_content_fails_and_refunds(engine, emulator) -> None:
    emulator.content_ttl = -10
    done, balance = await run_one(engine)
    assert (done.status, done.error_code) == ('failed', 'video_not_found')
    assert balance == 1000 and emulator.creates == 1


async def test_transient_failures_past_the_retry_limit_fail_and_refund(engine, emulator) -> None:
    emulator.script['create'] = ['429'] * 10
    done, balance = await run_one(engine)
    assert (done.status, done.error_code) == ('failed', 'rate_limited')
    assert 'gave up after 3 retries' in done.error_message
    assert emulator.calls['create'] == 4 and balance == 1000


async def test_a_hung_provider_hits_the_job_timeout_and_refunds(engine, emulator) -> None:
    engine.settings.job_timeout_seconds = 1.5
    emulator.render_seconds = 60
    done, balance = await run_one(engine)
    assert (done.status, done.error_code) == ('failed', 'timeout')
    assert balance == 1000
    await wait_until(lambda: emulator.calls['delete'] == 1)  # the abandoned render is dropped


async def test_cancel_before_submission_refunds_in_full(engine, emulator) -> None:
    await engine.runner.stop()  # nothing picks the video up
    user = engine.users.sign_in_local('maker@example.com')
    video = await engine.videos.submit(user.id, VideoRequest(PROMPT), 'k')
    assert await engine.videos.cancel(user, video.id)
    assert not await engine.videos.cancel(user, video.id)  # already ended
    assert engine.videos.get(video.id).status == 'cancelled'
    assert engine.credits.balance(user.id) == 1000 and emulator.creates == 0
    assert engine.credits.unbalanced_users() == []


async def test_cancel_while_rendering_deletes_the_render_and_refunds(engine, emulator) -> None:
    emulator.render_seconds = 30
    user = engine.users.sign_in_local('maker@example.com')
    video = await engine.videos.submit(user.id, VideoRequest(PROMPT), 'k')
    await wait_until(lambda: engine.videos.get(video.id).provider_job_id)
    stranger = engine.users.sign_in_local('stranger@example.com')
    assert not await engine.videos.cancel(stranger, video.id)
    assert await engine.videos.cancel(user, video.id)
    await wait_until(lambda: emulator.calls['delete'] == 1)
    await wait_until(lambda: video.id not in engine.runner.jobs, timeout=engine.settings.lease_seconds)
    await engine.runner.stop()
    done = engine.videos.get(video.id)
    assert done.status == 'cancelled' and engine.credits.balance(user.id) == 1000
    assert [e.status for e in engine.events.since(video.id)][-1] == 'cancelled'
