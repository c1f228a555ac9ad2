"""The history page: paging, filters, search, live cards, and delete / retry / remix after asking."""
from datetime import timedelta

import pytest
from nicegui.testing import User

from models import Video, utcnow
from services.videos import SubmitError, VideoRequest
from tests.conftest import wait_until
from tests.pages import finished_video, services, sign_in

HOSTILE = ['', ' ', '%', '_', '\\', "'; DROP TABLE video; --", '<script>alert(1)</script>', 'x' * 10_000,
           '\x00\x01', '🎬' * 300]


def add_rows(user_id: int, count: int, **fields) -> list[str]:
    """Rows straight into the table (the runner ignores finished ones): fast paging fixtures."""
    now = utcnow()
    ids = []
    with services().db.session() as session:
        for n in range(count):
            values = {'status': 'completed', 'model': 'sora-2', 'prompt': f'Row number {n:03d} of the test'}
            values.update(fields)
            video = Video(id=f'{fields.get("status", "c")[:1]}{n:04d}{user_id}', user_id=user_id,
                          idempotency_key=f'row-{n}-{values["status"]}', size='720x1280', seconds=4, cost=100,
                          created_at=now - timedelta(minutes=n), phase='done', **values)
            session.add(video)
            ids.append(video.id)
    return ids


async def test_a_new_user_sees_a_friendly_empty_state(user: User) -> None:
    await sign_in(user)
    await user.open('/history')
    await user.should_see('No videos yet.')
    await user.should_see('Make your first video')
    await user.should_not_see(marker='load-more')


async def test_history_pages_on_the_server_newest_first(user: User) -> None:
    await sign_in(user)
    alice = services().users.sign_in_local('alice@example.com')
    ids = add_rows(alice.id, 30)
    await user.open('/history')
    await user.should_see('Row number 000 of the test')
    await user.should_see('Row number 023 of the test')
    await user.should_not_see('Row number 024 of the test')
    user.find(marker='load-more').click()
    await user.should_see('Row number 029 of the test')
    await user.should_not_see(marker='load-more')
    assert len(user.find(marker=f'video-{ids[29]}').elements) == 1


async def test_filters_and_search_narrow_the_list_and_hostile_input_is_harmless(user: User) -> None:
    await sign_in(user)
    alice = services().users.sign_in_local('alice@example.com')
    add_rows(alice.id, 3, status='failed', prompt='A failed 100% cotton_shirt')
    add_rows(alice.id, 2, status='completed', model='sora-2-pro', prompt='A pro render of the moon')
    await user.open('/history')
    user.find(marker='status-filter').click()
    user.find('Failed').click()
    await user.should_see('cotton_shirt')
    await user.should_not_see('pro render')
    user.find(marker='status-filter').click()
    user.find('Any status').click()
    user.find(marker='model-filter').click()
    user.find('Sora 2 Pro').click()
    await user.should_see('pro render')
    await user.should_not_see('cotton_shirt')
    user.find(marker='model-filter').click()
    user.find('Any model').click()
    for text in ['100%', '_shirt']:  # wildcards are literal
        user.find(marker='search').clear().type(text).trigger('keydown.enter')
        await user.should_see('cotton_shirt')
        await user.should_not_see('pro render')
    for text in HOSTILE:
        user.find(marker='search').clear().type(text)
        user.find(marker='apply-search').click()
        await user.should_see(marker='search')
    user.find(marker='search').clear().type('nothing matches this')
    user.find(marker='apply-search').click()
    await user.should_see('No videos match these filters.')
    user.find('Clear filters').click()
    await user.should_see('pro render')


async def test_a_running_video_updates_its_card_in_place(user: User) -> None:
    await sign_in(user)
    services().provider.render_seconds = 1.5
    alice = services().users.sign_in_local('alice@example.com')
    video = await services().videos.submit(alice.id, VideoRequest('A slow zoom on a sleeping cat'), 'k')
    await user.open('/history')
    await user.should_see(marker=f'video-{video.id}')
    card = user.find(marker=f'video-{video.id}').elements.pop()
    await user.should_see('running', retries=50)
    await user.should_see(marker='thumbnail', retries=100)  # completed: thumbnail appears
    await user.should_see('completed')
    assert user.find(marker=f'video-{video.id}').elements.pop() is card  # the same card, not a rebuilt page
    assert services().events.listener_count() >= 1


async def test_a_video_started_elsewhere_joins_the_top_of_the_open_list(user: User) -> None:
    await sign_in(user)
    alice = services().users.sign_in_local('alice@example.com')
    older = await finished_video('alice@example.com', 'An older clip of a harbour', key='old')
    await user.open('/history')
    await user.should_see(marker=f'video-{older.id}')
    newer = await services().videos.submit(alice.id, VideoRequest('A new clip made in another tab'), 'new')
    await user.should_see(marker=f'video-{newer.id}', retries=30)
    cards = list(user.find(marker=f"video-{newer.id}").elements)
    grid = cards[0].parent_slot.parent
    assert grid.default_slot.children.index(cards[0]) == 0  # at the top, newest first
    bob = services().users.sign_in_local('bob@example.com')
    theirs = await services().videos.submit(bob.id, VideoRequest('Somebody else entirely'), 'theirs')
    await wait_until(lambda: services().videos.get(theirs.id).is_terminal)
    await user.should_not_see(marker=f'video-{theirs.id}')


async def test_delete_asks_first_and_removes_the_files(user: User) -> None:
    video = await finished_video('alice@example.com')
    await sign_in(user)
    await user.open('/history')
    with user.scope(marker=f'video-{video.id}'):
        user.find(marker='delete').click()
    await user.should_see('Delete this video?')
    user.find('Keep it').click()
    assert services().videos.get(video.id).deleted_at is None
    with user.scope(marker=f'video-{video.id}'):
        user.find(marker='delete').click()
    user.find(marker='confirm-delete').click()
    await user.should_see('No videos yet.')
    gone = services().videos.get(video.id)
    assert gone.deleted_at is not None
    assert not services().storage.path(video.video_path).exists()
    assert services().credits.balance(gone.user_id) == 900  # the ledger is untouched


async def test_retry_shows_the_price_then_makes_a_new_paid_video(user: User) -> None:
    failed = await finished_video('alice@example.com', 'mock:refuse this please')
    await sign_in(user)
    await user.open('/history')
    with user.scope(marker=f'video-{failed.id}'):
        user.find(marker='retry').click()
    await user.should_see('A new video with the same settings, for 100 credits.')
    assert services().credits.balance(failed.user_id) == 1000
    user.find(marker='confirm-retry').click()
    await user.should_see('[0] 🚀 Video generation task started')
    assert services().credits.balance(failed.user_id) == 900


async def test_remix_asks_for_a_prompt_and_the_price_and_refuses_bad_prompts(user: User) -> None:
    source = await finished_video('alice@example.com')
    await sign_in(user)
    await user.open('/history')
    with user.scope(marker=f'video-{source.id}'):
        user.find(marker='remix').click()
    await user.should_see('A new video made from this one, for 100 credits.')
    for bad in ['', 'short', 'x' * 2001, 'control \x07 char']:
        user.find(marker='remix-prompt').clear().type(bad)
        user.find(marker='confirm-remix').click()
        await user.should_see(marker='remix-prompt')
    assert services().credits.balance(source.user_id) == 900
    user.find(marker='remix-prompt').clear().type('The lighthouse, but in bright daylight')
    user.find(marker='confirm-remix').click()
    await user.should_see('Remix of an earlier video')
    await user.should_see('completed successfully', retries=100)
    assert services().credits.balance(source.user_id) == 800


async def test_a_second_user_gets_nothing_of_the_first_users_history(user: User) -> None:
    video = await finished_video('owner@example.com')
    failed = await finished_video('owner@example.com', 'mock:refuse this please', key='k2')
    await sign_in(user, 'stranger@example.com')
    await user.open('/history')
    await user.should_see('No videos yet.')
    await user.should_not_see('lighthouse')
    stranger = services().users.sign_in_local('stranger@example.com')
    assert not await services().videos.delete(stranger, video.id)
    with pytest.raises(SubmitError):
        await services().videos.retry(stranger, failed.id, 'k')
    with pytest.raises(SubmitError):
        await services().videos.remix(stranger, video.id, 'Make it mine, please', 'k')
    assert services().videos.get(video.id).deleted_at is None
    assert services().credits.balance(stranger.id) == 1000
