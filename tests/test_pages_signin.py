from nicegui import app
from nicegui.testing import User

from tests.pages import sign_in


async def test_pages_need_sign_in(user: User) -> None:
    await user.open('/generate')
    await user.should_see('Sign in with your work email')
    await user.should_not_see(marker='generate')


async def test_first_sign_in_creates_user_with_starting_balance(user: User) -> None:
    await sign_in(user, 'New.Person@Example.com')
    await user.should_see('1,000 credits')
    services = app.state.services
    created = services.users.sign_in_local('new.person@example.com')
    assert created.credits == 1000
    assert created.plan == 'standard'
    assert services.credits.unbalanced_users() == []


async def test_sign_in_rejects_bad_emails(user: User) -> None:
    for bad in ('', 'not-an-email', 'a@b', '<script>@x.com', 'x' * 300 + '@example.com'):
        await user.open('/login')
        user.find(marker='email').clear()
        if bad:
            user.find(marker='email').type(bad)
        user.find(marker='sign-in').click()
        await user.should_see('email address')
        await user.should_not_see(marker='generate')


async def test_admin_emails_become_admins(user: User, monkeypatch) -> None:
    app.state.services.settings.__dict__['admins'] = frozenset({'boss@example.com'})
    assert app.state.services.users.sign_in_local('Boss@Example.com').is_admin
    assert not app.state.services.users.sign_in_local('worker@example.com').is_admin


async def test_sign_out_ends_the_session(user: User) -> None:
    await sign_in(user, 'leaver@example.com')
    user.find(marker='sign-out').click()
    await user.should_see('Sign in with your work email')
    await user.open('/history')
    await user.should_see('Sign in with your work email')


async def test_next_parameter_only_accepts_local_paths(user: User) -> None:
    from services.users import safe_next
    assert safe_next('/history') == '/history'
    for hostile in ('https://evil.example', '//evil.example', '/\\evil.example', 'javascript:alert(1)', None, ''):
        assert safe_next(hostile) == '/generate'


async def test_a_disabled_user_is_signed_out_at_the_next_request(user: User) -> None:
    from models import User as Account
    await sign_in(user, 'soon-disabled@example.com')
    await user.open('/history')
    await user.should_see(marker='balance')
    services = app.state.services
    with services.db.session() as session:
        account = session.get(Account, services.users.sign_in_local('soon-disabled@example.com').id)
        account.disabled = True
        session.add(account)
    await user.open('/history')
    await user.should_see('Sign in with your work email')
    await user.should_not_see(marker='balance')
    user.find(marker='email').type('soon-disabled@example.com')
    user.find(marker='sign-in').click()
    await user.should_see('This account is disabled')
