"""The generate page: the valid journey to a playable video, and every invalid input."""
import asyncio

from nicegui import app, ui
from nicegui.testing import User
from sqlmodel import select

from models import Video, VideoEvent
from tests.conftest import image_bytes, wait_until
from tests.pages import sign_in

PROMPT = 'A paper boat drifting down a rainy street, cinematic'


def services():
    return app.state.services


def only_video(email: str = 'alice@example.com') -> list[Video]:
    with services().db.session() as session:
        user_id = services().users.sign_in_local(email).id
        return list(session.exec(select(Video).where(Video.user_id == user_id)))


async def test_generate_with_trial_image_runs_all_steps_to_a_playable_video(user: User) -> None:
    await sign_in(user)
    await user.should_see('Price: 100 credits')
    user.find(marker='prompt').type(PROMPT)
    with user:
        user.find(marker='image-mode').elements.pop().set_value('trial')
    user.find(marker='trial-forest').click()
    user.find(marker='generate').click()
    await user.should_see(marker='live-panel', retries=50)
    await user.should_see('completed successfully', retries=100)
    await user.should_see(marker='player')
    await user.should_see('900 credits')
    video = only_video()[0]
    assert video.status == 'completed' and video.reference_path
    with services().db.session() as session:
        steps = [e.step for e in session.exec(select(VideoEvent).where(VideoEvent.video_id == video.id)
                                             .order_by(VideoEvent.id))]
    assert steps[0] == 0 and steps[-1] == 9
    assert steps == sorted(steps)
    assert {0, 1, 2, 3, 4, 5, 6, 7, 8, 9} <= set(steps)
    for line in ('[1] 🔍 Validating request parameters...', '[2] ✅ Image processed successfully',
                 '[6] 💾 Downloading generated video...'):
        await user.should_see(line)
    assert services().credits.unbalanced_users() == []


async def test_price_follows_model_size_and_length(user: User) -> None:
    await sign_in(user)
    with user:
        user.find(marker='seconds').elements.pop().set_value(12)
    await user.should_see('Price: 300 credits')
    with user:
        user.find(marker='model').elements.pop().set_value('sora-2-pro')
    await user.should_see('Price: 900 credits')
    with user:
        size = user.find(marker='size').elements.pop()
        assert set(size.options) == {'720x1280', '1280x720', '1024x1792', '1792x1024'}
        size.set_value('1792x1024')
    await user.should_see('Price: 1,500 credits')
    with user:
        user.find(marker='model').elements.pop().set_value('sora-2')
        assert set(size.options) == {'720x1280', '1280x720'}  # sora-2 serves only the 720p sizes
        assert size.value == '720x1280'


async def test_prompt_too_short_too_long_or_empty_is_refused(user: User) -> None:
    await sign_in(user)
    for prompt, message in (('', 'Describe the video'), ('short', 'at least 10 characters'),
                            ('x' * 2001, 'at most 2,000 characters'), ('   \n\t   ', 'Describe the video'),
                            ('bad \x00 control chars here', 'control characters')):
        with user:
            user.find(marker='prompt').elements.pop().set_value(prompt)
        user.find(marker='generate').click()
        await user.should_see(message)
    assert only_video() == []
    await user.should_see('1,000 credits')


async def test_hostile_prompt_is_stored_as_text_not_markup(user: User) -> None:
    await sign_in(user)
    hostile = '<img src=x onerror=alert(1)> "; DROP TABLE video; --'
    user.find(marker='prompt').type(hostile)
    user.find(marker='generate').click()
    await user.should_see('completed successfully', retries=100)
    assert only_video()[0].prompt == hostile


async def test_insufficient_credits_are_explained_and_nothing_is_charged(user: User) -> None:
    await sign_in(user)
    user_id = services().users.sign_in_local('alice@example.com').id
    services().credits.grant(user_id, -950, 'test: leave 50')
    user.find(marker='prompt').type(PROMPT)
    user.find(marker='generate').click()
    await user.should_see('costs 100 credits and you have 50')
    assert only_video() == []
    assert services().credits.balance(user_id) == 50


async def test_free_plan_cannot_generate(user: User, monkeypatch) -> None:
    services().settings.local_signup_plan = 'free'
    await sign_in(user, 'free@example.com')
    await user.should_see('plan cannot generate videos')
    with user:
        assert not user.find(marker='generate').elements.pop().enabled
    # the rule holds on the server too, whatever the button shows
    user_id = services().users.sign_in_local('free@example.com').id
    from services.videos import SubmitError, VideoRequest
    try:
        await services().videos.submit(user_id, VideoRequest(PROMPT), 'key-1')
        raise AssertionError('a free plan generated a video')
    except SubmitError as error:
        assert error.field == 'plan'
    assert services().credits.balance(user_id) == 1000


async def upload(user: User, data: bytes, name: str = 'photo.png', mime: str = 'image/png') -> None:
    with user:
        user.find(marker='image-mode').elements.pop().set_value('upload')
        uploader = user.find(ui.upload).elements.pop()
    await uploader.handle_uploads([ui.upload.SmallFileUpload(name, mime, data)])


async def test_uploaded_image_is_used_as_first_frame(user: User) -> None:
    await sign_in(user)
    await upload(user, image_bytes(300, 200))
    await user.should_see('✓ photo.png')
    user.find(marker='prompt').type(PROMPT)
    user.find(marker='generate').click()
    await user.should_see('completed successfully', retries=100)
    await user.should_see('[2] ✅ Image processed successfully')


async def test_bad_uploads_are_refused_with_a_reason(user: User) -> None:
    await sign_in(user)
    user.find(marker='prompt').type(PROMPT)
    cases = [
        (b'%PDF-1.4 not an image', 'photo.png', 'not a JPEG, PNG or WebP'),
        (b'', 'empty.png', 'empty'),
        (image_bytes(8000, 6000, 'PNG'), 'huge.png', 'too many pixels'),
        (b'GIF89a' + b'\x00' * 100, 'anim.gif', 'not a JPEG, PNG or WebP'),
    ]
    for data, name, message in cases:
        await upload(user, data, name)
        user.find(marker='generate').click()
        await user.should_see(message)
    assert only_video() == []


async def test_upload_over_the_byte_limit_is_refused_on_the_server(user: User) -> None:
    services().settings.max_upload_bytes = 50_000
    await sign_in(user)
    await upload(user, image_bytes(1500, 1500, 'PNG') + b'\x00' * 60_000)
    await user.should_see('larger than')
    user.find(marker='prompt').type(PROMPT)
    user.find(marker='generate').click()
    await user.should_see('Upload an image first')
    assert only_video() == []


async def test_twenty_fast_clicks_make_one_video_and_one_charge(user: User) -> None:
    await sign_in(user)
    user.find(marker='prompt').type(PROMPT)
    for _ in range(20):  # as fast as the events arrive, before the first submit has returned
        user.find(marker='generate').trigger('click')
    await asyncio.sleep(0.3)
    for _ in range(5):
        user.find(marker='generate').trigger('click')
    await user.should_see('completed successfully', retries=100)
    assert len(only_video()) == 1
    assert services().credits.balance(services().users.sign_in_local('alice@example.com').id) == 900


async def test_a_failed_video_says_why_and_refunds(user: User) -> None:
    await sign_in(user)
    user.find(marker='prompt').type('A famous person dancing mock:refuse')
    user.find(marker='generate').click()
    await user.should_see('blocked by the moderation system', retries=100)
    await user.should_see('100 credits were refunded')
    await user.should_see('1,000 credits')
    video = only_video()[0]
    assert (video.status, video.error_code) == ('failed', 'moderation_blocked')
    await wait_until(lambda: services().credits.unbalanced_users() == [])
