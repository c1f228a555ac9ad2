"""The video page and the file route: replay after reload, and nobody else's videos."""
import httpx
from nicegui import app
from nicegui.testing import User

from services.videos import VideoRequest
from tests.conftest import wait_until
from tests.pages import sign_in


def services():
    return app.state.services


async def make_video(email: str, prompt: str = 'A lighthouse in a storm at night') -> str:
    user_id = services().users.sign_in_local(email).id
    video = await services().videos.submit(user_id, VideoRequest(prompt), f'key-{prompt}')
    await wait_until(lambda: services().videos.get(video.id).is_terminal)
    return video.id


async def test_reloading_the_video_page_replays_every_event_then_follows_live(user: User) -> None:
    await sign_in(user)
    services().provider.render_seconds = 1.5  # slow enough to open the page mid-run
    user_id = services().users.sign_in_local('alice@example.com').id
    video = await services().videos.submit(user_id, VideoRequest('A slow zoom on a sleeping cat'), 'k')
    await wait_until(lambda: services().videos.get(video.id).provider_job_id)
    await user.open(f'/videos/{video.id}')  # opened mid-run, as after a reload
    await user.should_see('[0] 🚀 Video generation task started')
    await user.should_see('[3] ✅ Video job submitted')
    await user.should_see('completed successfully', retries=100)  # followed live to the end
    await user.should_see(marker='player')
    await user.open(f'/videos/{video.id}')  # a reload after the end shows it all again
    for step in range(10):
        if step != 2:  # no reference image, so no image step
            await user.should_see(f'[{step}] ')
    await user.should_see(marker='player')


async def test_another_user_cannot_see_the_video_page(user: User) -> None:
    video_id = await make_video('owner@example.com')
    await sign_in(user, 'stranger@example.com')
    await user.open(f'/videos/{video_id}')
    await user.should_see('Video not found')
    await user.should_not_see('lighthouse')
    await user.should_not_see(marker='player')


async def test_an_admin_can_see_any_video(user: User) -> None:
    video_id = await make_video('owner@example.com')
    services().settings.__dict__['admins'] = frozenset({'admin@example.com'})
    await sign_in(user, 'admin@example.com')
    await user.open(f'/videos/{video_id}')
    await user.should_see('lighthouse')


async def test_unknown_video_ids_show_not_found(user: User) -> None:
    await sign_in(user)
    for video_id in ('nope', 'x' * 500, '%00', '%3Cscript%3E'):
        await user.open(f'/videos/{video_id}')
        await user.should_see('Video not found')


async def test_files_are_served_to_the_owner_with_range_and_to_nobody_else(user: User) -> None:
    video_id = await make_video('owner@example.com')
    await sign_in(user, 'owner@example.com')
    http = user.http_client  # the simulated browser's own cookies
    full = await http.get(f'/media/videos/{video_id}/video')
    assert full.status_code == 200 and full.headers['content-type'] == 'video/mp4'
    assert full.content[4:8] == b'ftyp'  # a real MP4
    part = await http.get(f'/media/videos/{video_id}/video', headers={'Range': 'bytes=0-99'})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers['content-range'].startswith('bytes 0-99/')
    thumb = await http.get(f'/media/videos/{video_id}/thumbnail')
    assert thumb.status_code == 200 and thumb.content[:3] == b'\xff\xd8\xff'
    download = await http.get(f'/media/videos/{video_id}/video?download=1')
    assert download.headers['content-disposition'].startswith('attachment')
    for bad in (f'/media/videos/{video_id}/spritesheet', '/media/videos/nope/video',
                f'/media/videos/{video_id}/..%2F..%2Fapp.db'):
        assert (await http.get(bad)).status_code == 404

    await user.open('/history')
    user.find(marker='account').click()
    user.find(marker='sign-out').click()
    await user.should_see(marker='email')  # signed out: the login page again
    await sign_in(user, 'stranger@example.com')
    for variant in ('video', 'thumbnail'):
        denied = await http.get(f'/media/videos/{video_id}/{variant}')
        assert denied.status_code == 404 and b'ftyp' not in denied.content
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url='http://test')
    async with anonymous:
        assert (await anonymous.get(f'/media/videos/{video_id}/video')).status_code == 404


async def test_cancel_asks_first_then_stops_the_video_and_refunds(user: User) -> None:
    await sign_in(user)
    services().provider.render_seconds = 30
    user_id = services().users.sign_in_local('alice@example.com').id
    video = await services().videos.submit(user_id, VideoRequest('A slow sunrise over a quiet harbour'), 'k')
    await wait_until(lambda: services().videos.get(video.id).provider_job_id)
    await user.open(f'/videos/{video.id}')
    await user.should_see('900 credits')
    user.find(marker='cancel').click()
    await user.should_see('You get all 100 credits back')
    assert services().videos.get(video.id).status == 'running'  # nothing happens before confirming
    user.find(marker='confirm-cancel').click()
    await user.should_see('Cancelled at your request', retries=30)
    await user.should_see('100 credits were refunded')
    await user.should_see('1,000 credits')
    assert services().videos.get(video.id).status == 'cancelled'
    assert services().credits.balance(user_id) == 1000
