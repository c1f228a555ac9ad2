"""Retry and remix as services: new paid videos with the source's settings, through the one
submit transaction; the runner remixes at the provider (mock and the OpenAI SDK alike)."""
import pytest

from services import Services
from services.config import Settings
from services.videos import SubmitError, VideoRequest
from tests.conftest import finished, image_bytes
from tests.emulator import Emulator

PROMPT = 'A paper boat drifting down a rainy street'


@pytest.fixture
async def engine(services: Services):
    services.runner.start()
    yield services
    await services.runner.stop()


async def settled(engine: Services, video_id: str):
    return await finished(engine, video_id, timeout=20)


async def test_remix_makes_a_new_paid_video_from_the_provider_render(engine: Services) -> None:
    user = engine.users.sign_in_local('maker@example.com')
    source = await settled(engine, (await engine.videos.submit(user.id, VideoRequest(PROMPT), 'k1')).id)
    remix = await engine.videos.remix(user, source.id, 'The same boat, but at sunset', 'k2')
    assert remix.remix_of == source.id and (remix.model, remix.size, remix.seconds) == (source.model, source.size, 4)
    done = await settled(engine, remix.id)
    assert done.status == 'completed' and done.provider_job_id != source.provider_job_id
    job = engine.provider._read(done.provider_job_id)
    assert job['remix_of'] == source.provider_job_id and job['prompt'] == 'The same boat, but at sunset'
    assert engine.credits.balance(user.id) == 1000 - 2 * 100
    again = await engine.videos.remix(user, source.id, 'The same boat, but at sunset', 'k2')
    assert again.id == remix.id  # the same key is the same remix, charged once
    assert engine.credits.balance(user.id) == 800 and engine.credits.unbalanced_users() == []


async def test_remix_refuses_what_cannot_be_remixed(engine: Services) -> None:
    owner = engine.users.sign_in_local('owner@example.com')
    stranger = engine.users.sign_in_local('stranger@example.com')
    source = await settled(engine, (await engine.videos.submit(owner.id, VideoRequest(PROMPT), 'k')).id)
    for user, video_id, prompt in [(stranger, source.id, 'A stranger wants this one'), (owner, 'nope', 'x' * 20),
                                   (owner, 'x' * 5000, 'whatever prompt here'), (owner, source.id, ''),
                                   (owner, source.id, 'x' * 5000), (owner, source.id, 'bad \x00 control chars')]:
        with pytest.raises(SubmitError):
            await engine.videos.remix(user, video_id, prompt, 'key-remix')
    running = await engine.videos.submit(owner.id, VideoRequest('A video still being made'), 'k3')
    with pytest.raises(SubmitError, match='completed'):
        await engine.videos.remix(owner, running.id, 'Change it before it is done', 'k4')
    assert engine.credits.balance(stranger.id) == 1000


async def test_retry_queues_a_failed_video_again_with_its_image_and_charges_again(engine: Services) -> None:
    user = engine.users.sign_in_local('maker@example.com')
    failed = await settled(engine, (await engine.videos.submit(
        user.id, VideoRequest('mock:refuse a refused request', image=image_bytes()), 'k')).id)
    assert failed.status == 'failed' and engine.credits.balance(user.id) == 1000
    retry = await engine.videos.retry(user, failed.id, 'k2')
    assert retry.id != failed.id and retry.prompt == failed.prompt and retry.reference_path
    assert retry.reference_path != failed.reference_path  # its own copy: deleting one keeps the other
    assert engine.credits.balance(user.id) == 900
    assert (await engine.videos.retry(user, failed.id, 'k2')).id == retry.id
    with pytest.raises(SubmitError):
        await engine.videos.retry(engine.users.sign_in_local('other@example.com'), failed.id, 'k3')
    done = await settled(engine, retry.id)
    with pytest.raises(SubmitError, match='failed or cancelled'):
        await engine.videos.retry(user, (await settled(engine, (await engine.videos.submit(
            user.id, VideoRequest(PROMPT), 'k5')).id)).id, 'k6')
    assert done.status == 'failed' and engine.credits.unbalanced_users() == []


async def test_the_openai_provider_remixes_through_the_sdk_and_reconciles_a_lost_remix(settings: Settings) -> None:
    with Emulator(render_seconds=0.3, poll_after_ms=50).running() as emulator:
        settings.video_provider = 'openai'
        settings.openai_base_url = emulator.url
        settings.openai_api_key = 'sk-test'
        engine = Services.build(settings)
        engine.runner.start()
        try:
            user = engine.users.sign_in_local('maker@example.com')
            source = await settled(engine, (await engine.videos.submit(user.id, VideoRequest(PROMPT), 'k')).id)
            remix = await settled(engine, (await engine.videos.remix(user, source.id, 'Now in the snow', 'k2')).id)
            assert remix.status == 'completed' and emulator.calls['remix'] == 1
            assert emulator.jobs[remix.provider_job_id]['remix'] == source.provider_job_id
            emulator.script['remix'] = ['500']  # the remix may have started: reconcile, never resubmit
            lost = await settled(engine, (await engine.videos.remix(user, source.id, 'Now in the fog', 'k3')).id)
            assert lost.status == 'failed' and lost.error_code == 'submit_lost'
            assert emulator.calls['remix'] == 2 and engine.credits.refunded_amount(lost.id) == 100
            emulator.jobs[source.provider_job_id]['deleted'] = True
            gone = await settled(engine, (await engine.videos.remix(user, source.id, 'Now at night', 'k4')).id)
            assert gone.status == 'failed' and gone.error_code == 'remix_source_gone'
            assert engine.credits.unbalanced_users() == []
        finally:
            await engine.runner.stop()
            engine.db.dispose()
