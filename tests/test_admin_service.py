"""services.admin: only admins act, every action is audited in its own transaction, and the
queries page through large tables."""
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from models import AuditEntry, User, Video, utcnow
from services import Services
from services.admin import AdminError
from services.videos import VideoRequest
from tests.conftest import finished


def make_admin(services: Services, email: str = 'admin@example.com') -> User:
    user = services.users.sign_in_local(email)
    with services.db.session() as session:
        row = session.get(User, user.id)
        row.is_admin = True
        session.add(row)
    return services.users.get(user.id)


def audit(services: Services) -> list[AuditEntry]:
    with services.db.session() as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))


async def completed_video(services: Services, user_id: int, key: str = 'k') -> Video:
    services.runner.start()
    video = await services.videos.submit(user_id, VideoRequest('A windmill turning slowly at dusk'), key)
    return await finished(services, video.id)


ACTIONS = [
    ('grant_credits', lambda u: (u.id, 10, 'why')),
    ('set_plan', lambda u: (u.id, 'free')),
    ('set_admin', lambda u: (u.id, True)),
    ('set_disabled', lambda u: (u.id, True)),
    ('review', lambda u: (['x'], 'approved', '')),
    ('cancel', lambda u: ('x',)),
    ('retry', lambda u: ('x', 'key')),
    ('users_page', lambda u: ()),
    ('user_detail', lambda u: (u.id,)),
    ('jobs_page', lambda u: ()),
    ('review_page', lambda u: ()),
    ('audit_page', lambda u: ()),
    ('stats', lambda u: (utcnow().date(), utcnow().date())),
]


@pytest.mark.parametrize('name,args', ACTIONS, ids=[name for name, _ in ACTIONS])
async def test_every_admin_method_refuses_non_admins_and_stale_admins(services: Services, name, args) -> None:
    target = services.users.sign_in_local('target@example.com')
    admin = make_admin(services)
    for actor in (target, None, User(id=999, auth_subject='ghost', email='ghost@example.com', is_admin=True)):
        with pytest.raises(PermissionError):
            await getattr(services.admin, name)(actor, *args(target))
    with services.db.session() as session:  # rights removed after the admin's copy was read
        row = session.get(User, admin.id)
        row.is_admin = False
        session.add(row)
    with pytest.raises(PermissionError):
        await getattr(services.admin, name)(admin, *args(target))
    assert audit(services) == [] and services.credits.balance(target.id) == 1000


async def test_grant_and_deduct_write_a_ledger_entry_naming_the_admin_and_an_audit_entry(services: Services) -> None:
    admin = make_admin(services)
    user = services.users.sign_in_local('user@example.com')
    assert await services.admin.grant_credits(admin, user.id, 500, 'Conference demo') == 1500
    assert await services.admin.grant_credits(admin, user.id, -1500, 'Abuse') == 0
    with pytest.raises(AdminError, match='below zero'):
        await services.admin.grant_credits(admin, user.id, -1, 'More')
    for amount, reason in [(0, 'x'), (10**12, 'x'), (-10**12, 'x'), (1.5, 'x'), (True, 'x'), ('10', 'x'),
                           (10, ''), (10, '   '), (10, 'x' * 501)]:
        with pytest.raises(AdminError):
            await services.admin.grant_credits(admin, user.id, amount, reason)
    for user_id in (999999, 'abc', None, 10**30, -1):
        with pytest.raises(AdminError):
            await services.admin.grant_credits(admin, user_id, 10, 'x')
    _, ledger = await services.admin.user_detail(admin, user.id)
    assert [(e.delta, e.kind, e.actor_id) for e in ledger[:2]] == [(-1500, 'adjust', admin.id), (500, 'grant', admin.id)]
    entries = audit(services)
    assert [e.action for e in entries] == ['credits.grant', 'credits.grant']
    assert json.loads(entries[0].before) == {'credits': 1000} and json.loads(entries[0].after)['credits'] == 1500
    assert entries[0].reason == 'Conference demo' and entries[0].actor_id == admin.id
    assert services.credits.unbalanced_users() == []


async def test_plan_admin_and_disabled_changes_are_audited_and_validated(services: Services) -> None:
    admin = make_admin(services)
    user = services.users.sign_in_local('user@example.com')
    await services.admin.set_plan(admin, user.id, 'free')
    for plan in ('', 'enterprise', '<script>', 'x' * 10_000, None):
        with pytest.raises(AdminError):
            await services.admin.set_plan(admin, user.id, plan)
    await services.admin.set_admin(admin, user.id, True)
    await services.admin.set_disabled(admin, user.id, True)
    await services.admin.set_disabled(admin, user.id, True)  # no change, no entry
    changed = services.users.get(user.id)
    assert (changed.plan, changed.is_admin, changed.disabled) == ('free', True, True)
    with pytest.raises(AdminError):
        await services.admin.set_admin(admin, admin.id, False)
    with pytest.raises(AdminError):
        await services.admin.set_disabled(admin, admin.id, True)
    assert [e.action for e in audit(services)] == ['user.plan', 'user.admin', 'user.disabled']


async def test_review_is_bulk_needs_a_reason_to_reject_and_leaves_credits_alone(services: Services) -> None:
    admin = make_admin(services)
    owner = services.users.sign_in_local('owner@example.com')
    first, second = await completed_video(services, owner.id, 'a'), await completed_video(services, owner.id, 'b')
    with pytest.raises(AdminError, match='reason'):
        await services.admin.review(admin, [first.id], 'rejected', '')
    for decision, ids in [('delete', [first.id]), ('approved', []), ('approved', ['x'] * 0),
                          ('approved', [str(n) for n in range(101)])]:
        with pytest.raises(AdminError):
            await services.admin.review(admin, ids, decision, 'r')
    assert await services.admin.review(admin, [first.id, second.id, first.id, 'nope'], 'rejected', 'Gore') == 2
    assert services.videos.get(first.id).review_status == 'rejected'
    assert services.videos.get(first.id).review_reason == 'Gore'
    assert services.credits.balance(owner.id) == 800  # rejection does not refund
    pending, _ = await services.admin.review_page(admin)
    assert pending == []
    rejected, _ = await services.admin.review_page(admin, review='rejected')
    assert {v.id for v in rejected} == {first.id, second.id}
    assert [e.action for e in audit(services)] == ['video.review', 'video.review']


async def test_admin_cancel_and_retry_are_audited_in_the_same_transaction(services: Services) -> None:
    admin = make_admin(services)
    owner = services.users.sign_in_local('owner@example.com')
    services.provider.render_seconds = 30
    services.runner.start()
    running = await services.videos.submit(owner.id, VideoRequest('A long slow tide coming in'), 'k')
    assert await services.admin.cancel(admin, running.id, 'Stuck')
    assert not await services.admin.cancel(admin, running.id, 'Again')  # nothing to cancel, nothing recorded
    assert services.credits.balance(owner.id) == 1000
    retried = await services.admin.retry(admin, running.id, 'retry-key', 'Try again')
    assert retried.user_id == owner.id and services.credits.balance(owner.id) == 900
    entries = audit(services)
    assert [(e.action, e.target_id) for e in entries] == [('video.cancel', running.id), ('video.retry', running.id)]
    assert json.loads(entries[1].after)['video_id'] == retried.id
    with pytest.raises(AdminError):
        await services.admin.retry(admin, 'nope', 'k2')


@pytest.fixture
def any_db_services(db_settings):
    built = Services.build(db_settings)
    yield built
    built.db.dispose()


async def test_lists_page_by_keyset_and_stats_count_by_day(any_db_services: Services) -> None:
    services = any_db_services
    admin = make_admin(services)
    now = utcnow()
    with services.db.session() as session:
        for n in range(120):
            session.add(User(auth_subject=f'u{n}', email=f'u{n}@example.com'))
        session.flush()
        for n in range(130):
            session.add(Video(id=f'v{n:04d}', user_id=admin.id, idempotency_key=f'k{n}', prompt='p' * 12,
                              model='sora-2', size='720x1280', seconds=4, cost=100,
                              status=('failed', 'queued', 'completed')[n % 3],
                              created_at=now - timedelta(hours=n), finished_at=now - timedelta(hours=n) + timedelta(seconds=30)))
    seen, cursor = [], None
    while True:
        users, cursor = await services.admin.users_page(admin, cursor=cursor, limit=50)
        seen += [u.id for u in users]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 121 and seen == sorted(seen, reverse=True)
    found, _ = await services.admin.users_page(admin, search='u11')
    assert {u.email for u in found} == {'u11@example.com', *(f'u11{n}@example.com' for n in range(10))}
    assert (await services.admin.users_page(admin, search='%'))[0] == []
    jobs, cursor = await services.admin.jobs_page(admin, status='failed', limit=20)
    assert len(jobs) == 20 and all(v.status == 'failed' for v in jobs) and cursor
    more, _ = await services.admin.jobs_page(admin, status='failed', cursor=cursor, limit=100)
    assert len(jobs) + len(more) == 44
    for bad in ('!!!', 'x' * 10_000, '-5', '0'):
        with pytest.raises(AdminError):
            await services.admin.users_page(admin, cursor=bad)
    with pytest.raises(AdminError):
        await services.admin.jobs_page(admin, cursor='@@@')
    stats = await services.admin.stats(admin, (now - timedelta(days=2)).date(), now.date())
    assert stats.total == sum(sum(c) for c in stats.per_day.values()) and len(stats.days) == 3
    assert stats.success_rate == pytest.approx(0.5, abs=0.05) and stats.median_seconds_to_playable == 30
    assert stats.usd_by_model['sora-2'] > 0
    with pytest.raises(AdminError):
        await services.admin.stats(admin, now.date() - timedelta(days=400), now.date())
