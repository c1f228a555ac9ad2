"""The admin area: 403 for everyone else on every page, every action checked again on the server,
and each action's form with wrong, empty, huge and hostile values."""
import pytest
from nicegui.testing import User
from sqlmodel import select

from models import AuditEntry, User as UserRow
from services.videos import VideoRequest
from tests.pages import finished_video, services, sign_in

ADMIN_PAGES = ['/admin', '/admin/review', '/admin/jobs', '/admin/users', '/admin/users/1', '/admin/stats',
               '/admin/audit', '/admin/users/nope']
HOSTILE = ['', '   ', '<script>alert(1)</script>', "'; DROP TABLE user; --", 'x' * 10_000, '\x00', '🎬' * 600]


def set_admin(email: str, flag: bool = True) -> UserRow:
    user = services().users.sign_in_local(email)
    with services().db.session() as session:
        row = session.get(UserRow, user.id)
        row.is_admin = flag
        session.add(row)
    return row


def set_value(user: User, marker: str, value) -> None:
    """What a person picking an option or ticking a box does: the element's value changes."""
    for element in user.find(marker=marker).elements:
        element.set_value(value)


def audit_actions() -> list[str]:
    with services().db.session() as session:
        return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]


async def test_non_admins_get_403_on_every_admin_page_and_no_admin_nav(user: User) -> None:
    await sign_in(user, 'alice@example.com')
    for path in ADMIN_PAGES:
        response = await user.http_client.get(path)
        assert response.status_code == 403, path
        assert 'admins only' in response.text
    await user.open('/history')
    await user.should_not_see(marker='nav-admin')


async def test_strangers_are_sent_to_sign_in_not_shown_admin_pages(user: User) -> None:
    for path in ADMIN_PAGES:
        response = await user.http_client.get(path)
        assert response.status_code in (302, 307) and '/login' in response.headers['location']


async def test_an_admin_sees_the_nav_entry_and_every_admin_page(user: User) -> None:
    set_admin('root@example.com')
    await sign_in(user, 'root@example.com')
    await user.open('/history')
    user.find(marker='nav-admin').click()
    await user.should_see('Nothing to review here.')
    for path, text in [('/admin/jobs', 'No jobs here.'), ('/admin/users', 'root@example.com'),
                       ('/admin/stats', 'Success rate'), ('/admin/audit', 'No admin actions recorded yet.')]:
        await user.open(path)
        await user.should_see(text)


async def test_every_action_is_refused_once_admin_rights_are_gone(user: User) -> None:
    """The pages were built for an admin; the rights go; each button must now do nothing."""
    video = await finished_video('owner@example.com')
    services().provider.render_seconds = 60
    await sign_in(user, 'root@example.com')
    owner = services().users.sign_in_local('owner@example.com')
    actions = [
        ('/admin/review', lambda: user.find(marker=f'approved-{video.id}').click()),
        ('/admin/users/%d' % owner.id, lambda: (user.find(marker='grant-amount').type('50'),
                                                user.find(marker='grant-reason').type('gift'),
                                                user.find(marker='grant').click())),
        ('/admin/users/%d' % owner.id, lambda: user.find(marker='toggle-admin').click()),
        ('/admin/users/%d' % owner.id, lambda: user.find(marker='toggle-disabled').click()),
        ('/admin/users/%d' % owner.id, lambda: user.find(marker='save-plan').click()),
        ('/admin/users', lambda: user.find(marker='apply-search').click()),
        ('/admin/stats', lambda: user.find(marker='show').click()),
        ('/admin/audit', lambda: set_value(user, 'action-filter', 'user.plan')),
    ]
    for path, click in actions:
        set_admin('root@example.com', True)
        await user.open(path)
        set_admin('root@example.com', False)
        user.notify.messages.clear()
        click()
        await user.should_see('Only admins can do that.')
    running = await services().videos.submit(owner.id, VideoRequest('A very long render for cancel'), 'k2')
    set_admin('root@example.com', True)
    await user.open('/admin/jobs')
    set_admin('root@example.com', False)
    user.notify.messages.clear()
    user.find(marker=f'cancel-{running.id}').click()
    user.find(marker='confirm-cancel').click()
    await user.should_see('Only admins can do that.')
    assert services().videos.get(running.id).status in ('queued', 'running')
    assert services().videos.get(video.id).review_status == 'pending'
    assert services().users.get(owner.id).credits == 800 and not services().users.get(owner.id).disabled
    assert audit_actions() == []


async def test_review_queue_plays_inline_and_approves_rejects_and_flags_with_reasons(user: User) -> None:
    first = await finished_video('owner@example.com', key='a')
    second = await finished_video('owner@example.com', 'A second clip of the sea at dawn', key='b')
    third = await finished_video('owner@example.com', 'A third clip of a forest in fog', key='c')
    set_admin('root@example.com')
    await sign_in(user, 'root@example.com')
    await user.open('/admin/review')
    await user.should_see('lighthouse')
    assert user.find(marker=f'review-{first.id}').elements  # with its inline player
    await user.should_see('owner@example.com')  # who made it, linked to their admin page
    user.find(marker=f'rejected-{first.id}').click()
    await user.should_see('Give a reason.')
    for text, message in [('', 'Give a reason.'), ('   ', 'Give a reason.'), ('x' * 10_000, 'under 500'),
                          ('🎬' * 600, 'under 500')]:
        user.notify.messages.clear()
        user.find(marker=f'reason-{first.id}').clear().type(text)
        user.find(marker=f'flagged-{first.id}').click()
        await user.should_see(message)
    assert services().videos.get(first.id).review_status == 'pending'
    user.find(marker=f'reason-{first.id}').clear().type('<script>alert(1)</script> Shows a real brand logo')
    user.find(marker=f'rejected-{first.id}').click()
    await user.should_see('Rejected 1 video.')
    await user.should_not_see(marker=f'review-{first.id}')
    set_value(user, f'select-{second.id}', True)
    set_value(user, f'select-{third.id}', True)
    user.find(marker='bulk-flagged').click()
    await user.should_see('Give a reason.')
    user.find(marker='bulk-approved').click()
    await user.should_see('Approved 2 videos.')
    await user.should_see('Nothing to review here.')
    set_value(user, 'review-filter', 'rejected')
    await user.should_see('Shows a real brand logo')
    assert services().videos.get(first.id).review_status == 'rejected'
    assert services().videos.get(second.id).review_status == 'approved'
    assert audit_actions().count('video.review') >= 3

    owner_http = user.http_client  # the admin may still play it; the owner may not
    assert (await owner_http.get(f'/media/videos/{first.id}/video')).status_code == 200


async def test_a_rejected_video_stops_playing_for_its_owner_who_sees_the_reason(user: User) -> None:
    video = await finished_video('owner@example.com')
    admin = set_admin('root@example.com')
    await services().admin.review(services().users.get(admin.id), [video.id], 'rejected', 'Violates the policy')
    await sign_in(user, 'owner@example.com')
    for variant in ('video', 'thumbnail'):
        assert (await user.http_client.get(f'/media/videos/{video.id}/{variant}')).status_code == 404
    await user.open(f'/videos/{video.id}')
    await user.should_see('Reason: Violates the policy')
    await user.should_see('can no longer be played')
    await user.should_not_see(marker='player')
    await user.open('/history')
    await user.should_see('rejected')
    await user.should_not_see(marker='thumbnail')
    with user.scope(marker=f'video-{video.id}'):
        await user.should_not_see(marker='download')
        await user.should_not_see(marker='remix')


async def test_users_search_grant_deduct_plan_admin_and_disable(user: User) -> None:
    set_admin('root@example.com')
    target = services().users.sign_in_local('target@example.com')
    await sign_in(user, 'root@example.com')
    await user.open('/admin/users')
    for text in HOSTILE:
        user.find(marker='search').clear().type(text)
        user.find(marker='apply-search').click()
        await user.should_see(marker='search')
    user.find(marker='search').clear().type('target')
    user.find(marker='apply-search').click()
    await user.should_see('target@example.com')
    user.find(marker=f'user-{target.id}').click()
    await user.should_see(marker='grant-amount')
    await user.should_see('1,000 credits')
    for amount, reason, message in [(None, 'x', 'whole number'), (0, 'gift', 'not 0'), (10**12, 'gift', 'between'),
                                    (50, '', 'Give a reason.'), (50, 'x' * 600, 'under 500'),
                                    (-5000, 'too much', 'cannot go below zero'), (1.5, 'half', 'whole number')]:
        user.notify.messages.clear()  # wait for this answer, not an earlier one
        set_value(user, 'grant-amount', amount)
        user.find(marker='grant-reason').clear().type(reason)
        user.find(marker='grant').click()
        await user.should_see(message)
    user.notify.messages.clear()
    set_value(user, 'grant-amount', 250)
    user.find(marker='grant-reason').clear().type('<b>Conference</b> demo')
    user.find(marker='grant').click()
    await user.should_see('1,250 credits')
    await user.should_see('<b>Conference</b> demo (by admin #')  # shown as text
    user.notify.messages.clear()
    set_value(user, 'grant-amount', -1250)
    user.find(marker='grant-reason').clear().type('Abuse')
    user.find(marker='grant').click()
    await user.should_see('Balance updated.')
    await user.should_see('0 credits')
    user.notify.messages.clear()
    set_value(user, 'plan', 'free')
    user.find(marker='save-plan').click()
    await user.should_see('Plan changed.')
    user.notify.messages.clear()
    user.find(marker='toggle-admin').click()
    await user.should_see('Admin rights changed.')
    await user.should_see('Remove admin')
    user.find(marker='toggle-disabled').click()
    await user.should_see('Enable')
    changed = services().users.get(target.id)
    assert (changed.credits, changed.plan, changed.is_admin, changed.disabled) == (0, 'free', True, True)
    assert audit_actions() == ['credits.grant', 'credits.grant', 'user.plan', 'user.admin', 'user.disabled']
    assert services().credits.unbalanced_users() == []
    await user.open('/admin/audit')
    await user.should_see('Abuse')
    await user.open('/admin/users/999999')
    await user.should_see('No such user.')


async def test_an_admin_cannot_lock_themselves_out(user: User) -> None:
    root = set_admin('root@example.com')
    await sign_in(user, 'root@example.com')
    await user.open(f'/admin/users/{root.id}')
    user.find(marker='toggle-admin').click()
    await user.should_see('cannot remove your own admin rights')
    user.find(marker='toggle-disabled').click()
    await user.should_see('cannot remove your own admin rights')
    assert services().users.get(root.id).is_admin


async def test_jobs_cancel_refunds_and_retry_charges_the_owner_after_showing_the_price(user: User) -> None:
    owner = services().users.sign_in_local('owner@example.com')
    failed = await finished_video('owner@example.com', 'mock:refuse please fail', key='f')
    services().provider.render_seconds = 60
    running = await services().videos.submit(owner.id, VideoRequest('A very long render for cancel'), 'k')
    set_admin('root@example.com')
    await sign_in(user, 'root@example.com')
    await user.open('/admin/jobs')
    await user.should_see('moderation')
    user.find(marker=f'cancel-{running.id}').click()
    user.find(marker='cancel-reason').type('<i>stuck</i>' * 100)  # too long for a reason
    user.find(marker='confirm-cancel').click()
    await user.should_see('under 500 characters')
    assert services().videos.get(running.id).status in ('queued', 'running')
    user.find(marker=f'cancel-{running.id}').click()
    user.find(marker='cancel-reason').clear().type('Stuck')
    user.find(marker='confirm-cancel').click()
    await user.should_see('Cancelled and refunded.')
    assert services().videos.get(running.id).status == 'cancelled'
    assert services().credits.balance(owner.id) == 1000
    set_value(user, 'status-filter', 'failed')
    user.find(marker=f'retry-{failed.id}').click()
    await user.should_see('charged to its owner: 100 credits')
    user.find(marker='confirm-retry').click()
    await user.should_see('Queued again.')
    assert services().credits.balance(owner.id) == 900
    assert audit_actions() == ['video.cancel', 'video.retry']


@pytest.mark.parametrize('start,end,message', [('', '', 'YYYY-MM-DD'), ('2026-13-45', '2026-01-01', 'YYYY-MM-DD'),
                                               ('<script>', 'x' * 1000, 'YYYY-MM-DD'),
                                               ('2000-01-01', '2026-01-01', 'at most 366 days')])
async def test_stats_refuse_bad_ranges(user: User, start, end, message) -> None:
    set_admin('root@example.com')
    await sign_in(user, 'root@example.com')
    await user.open('/admin/stats')
    set_value(user, 'start', start)
    set_value(user, 'end', end)
    user.find(marker='show').click()
    await user.should_see(message)


async def test_stats_chart_videos_per_day_and_spend(user: User) -> None:
    await finished_video('owner@example.com')
    set_admin('root@example.com')
    await sign_in(user, 'root@example.com')
    await user.open('/admin/stats')
    await user.should_see('100.0%')
    await user.should_see('$0.40')
    chart = user.find(marker='per-day-chart').elements.pop()
    assert chart.options['series'][0]['name'] == 'completed' and sum(chart.options['series'][0]['data']) == 1


async def test_hostile_user_ids_in_the_admin_url_show_no_such_user(user: User) -> None:
    set_admin('root@example.com')
    await sign_in(user, 'root@example.com')
    for user_id in ('-1', '0', '99999999999999999999999999', '%3Cscript%3E', '1.5', 'x' * 500):
        await user.open(f'/admin/users/{user_id}')
        await user.should_see('No such user.')


async def test_the_audit_log_pages_and_filters_by_action(user: User) -> None:
    root = set_admin('root@example.com')
    target = services().users.sign_in_local('target@example.com')
    admin = services().users.get(root.id)
    for n in range(55):
        await services().admin.grant_credits(admin, target.id, 1, f'gift {n:02d} end')
    await services().admin.set_plan(admin, target.id, 'free', 'downgrade')
    await sign_in(user, 'root@example.com')
    await user.open('/admin/audit')
    await user.should_see('Reason: downgrade')
    await user.should_see('Reason: gift 06 end')
    await user.should_not_see('Reason: gift 05 end')
    user.find(marker='load-more').click()
    await user.should_see('Reason: gift 00 end')
    await user.should_not_see(marker='load-more')
    set_value(user, 'action-filter', 'user.plan')
    await user.should_not_see('Reason: gift 00 end')
    await user.should_see('Reason: downgrade')
