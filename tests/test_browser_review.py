"""The review flow in a real Chromium: an admin rejects a finished video with a reason, and its
owner can no longer play it and sees why."""
from pathlib import Path

from tests.conftest import FAST
from tests.live_server import browser, running_app  # noqa: F401 (fixture)


def sign_in(context, url: str, email: str):
    page = context.new_page()
    page.goto(f'{url}/generate')
    page.get_by_label('Email').fill(email)
    page.get_by_role('button', name='Continue').click()
    page.get_by_text('1,000 credits').wait_for()
    return page


def test_a_rejected_video_stops_playing_for_its_owner(browser, app_env: Path) -> None:  # noqa: F811
    with running_app(app_env, **{**FAST, 'MOCK_RENDER_SECONDS': '1.0'}, ADMIN_EMAILS='admin@example.com') as url:
        owner = sign_in(browser.new_context(), url, 'owner@example.com')
        owner.get_by_label('Prompt').fill('A red kite over green hills on a windy day')
        owner.get_by_role('main').get_by_role('button', name='Generate').click()
        owner.get_by_text('completed successfully').first.wait_for(timeout=30_000)
        owner.wait_for_function("document.querySelector('video.player').readyState >= 2", timeout=15_000)
        video_url = owner.evaluate("document.querySelector('video.player').currentSrc")
        video_page = f'{url}/videos/' + video_url.split('/media/videos/')[1].split('/')[0]
        assert owner.request.get(video_url).status == 200

        admin = sign_in(browser.new_context(), url, 'admin@example.com')
        admin.get_by_role('button', name='Admin').first.click()
        admin.get_by_text('A red kite over green hills').wait_for()
        admin.wait_for_function("document.querySelector('video') && document.querySelector('video').src", timeout=5_000)
        assert admin.request.get(video_url).status == 200  # the admin plays it inline, through /media
        card = admin.locator('.q-card', has_text='A red kite over green hills')
        card.get_by_label('Reason').fill('Shows a trademarked logo')
        card.get_by_role('button', name='Reject').click()
        admin.get_by_text('Rejected 1 video.').wait_for()
        admin.get_by_text('Nothing to review here.').wait_for()

        assert owner.request.get(video_url).status == 404  # the file route refuses the owner now
        owner.goto(video_page)
        owner.get_by_text('Reason: Shows a trademarked logo').first.wait_for()
        owner.get_by_text('can no longer be played').wait_for()
        assert owner.locator('video.player').count() == 0
        owner.goto(f'{url}/history')
        owner.get_by_text('rejected', exact=True).wait_for()
        assert owner.locator('img[src*="/thumbnail"]').count() == 0
        assert admin.request.get(video_url).status == 200  # admins still can
        admin.goto(f'{url}/admin/audit')
        admin.get_by_text('video.review').wait_for()
