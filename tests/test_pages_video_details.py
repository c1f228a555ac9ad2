"""The video page's details: settings, price, credits back or not, review, timings per step."""
from nicegui.testing import User

from models import User as UserRow
from services.videos import step_timings
from tests.pages import finished_video, services, sign_in


async def test_a_completed_video_shows_its_settings_price_charge_review_and_timings(user: User) -> None:
    video = await finished_video('alice@example.com', 'A lighthouse in a storm at night', seconds=8)
    await sign_in(user)
    await user.open(f'/videos/{video.id}')
    await user.should_see('Sora 2 · Portrait 720×1280 · 8 s')
    await user.should_see('Price: 200 credits')
    await user.should_see('Charged 200 credits')
    await user.should_see('No credits came back')
    await user.should_see('Not reviewed yet')
    await user.should_see('Timings per step')
    await user.should_see('[9]')
    await user.should_see(marker='player')


async def test_a_failed_video_says_when_its_credits_came_back(user: User) -> None:
    video = await finished_video('alice@example.com', 'mock:refuse this one please', seconds=8)
    await sign_in(user)
    await user.open(f'/videos/{video.id}')
    await user.should_see('Refunded 200 credits ·')
    await user.should_not_see(marker='review')


async def test_a_flagged_video_still_plays_and_shows_the_reason(user: User) -> None:
    video = await finished_video('alice@example.com', 'A lighthouse in a storm at night', seconds=8)
    admin = services().users.sign_in_local('root@example.com')
    with services().db.session() as session:
        row = session.get(UserRow, admin.id)
        row.is_admin = True
        session.add(row)
    await services().admin.review(services().users.get(admin.id), [video.id], 'flagged', 'Check the logo')
    await sign_in(user)
    await user.open(f'/videos/{video.id}')
    await user.should_see('Flagged for a closer look')
    await user.should_see('Reason: Check the logo')
    await user.should_see(marker='player')


async def test_a_deleted_video_is_not_found(user: User) -> None:
    video = await finished_video('alice@example.com', 'A lighthouse in a storm at night', seconds=8)
    await services().videos.delete(services().users.sign_in_local('alice@example.com'), video.id)
    await sign_in(user)
    await user.open(f'/videos/{video.id}')
    await user.should_see('Video not found')


def test_step_timings_measure_each_step_until_the_next() -> None:
    from datetime import datetime, timedelta, timezone

    from models import VideoEvent
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    events = [VideoEvent(video_id='v', step=step, message='', created_at=start + timedelta(seconds=at))
              for step, at in [(0, 0), (1, 1), (3, 3), (5, 4), (5, 8), (9, 10)]]
    assert [(step, seconds) for step, _, seconds in step_timings(events)] == [(0, 1), (1, 2), (3, 1), (5, 6), (9, 0)]
    assert step_timings([]) == []
