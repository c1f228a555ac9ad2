"""Personal API tokens: the rules (services/tokens.py) and the profile page that manages them."""
from __future__ import annotations

import hashlib

import pytest
from nicegui import app
from nicegui.testing import User
from sqlmodel import select

from models import ApiToken
from services.tokens import TokenError
from tests.pages import sign_in


def test_a_token_is_stored_only_as_its_hash_and_authenticates_its_owner(services) -> None:
    alice = services.users.sign_in_local('alice@example.com')
    made = services.tokens.create(alice.id, 'nightly script')
    assert made.secret.startswith('avs_') and len(made.secret) > 40
    with services.db.session() as session:
        stored = session.exec(select(ApiToken)).one()
    assert stored.token_hash == hashlib.sha256(made.secret.encode()).hexdigest()
    assert made.secret not in repr(stored.model_dump())
    assert stored.prefix == made.secret[:12]
    assert services.tokens.authenticate(made.secret).id == alice.id
    for wrong in (None, '', made.secret + 'x', made.secret[:-1], 'avs_' + 'a' * 500, 'Bearer ' + made.secret):
        assert services.tokens.authenticate(wrong) is None


def test_authenticating_records_when_a_token_was_last_used(services) -> None:
    bob = services.users.sign_in_local('bob@example.com')
    made = services.tokens.create(bob.id, 'ci')
    assert services.tokens.list(bob.id)[0].last_used_at is None
    services.tokens.authenticate(made.secret)
    assert services.tokens.list(bob.id)[0].last_used_at is not None


def test_a_revoked_token_or_a_disabled_user_authenticates_nobody(services) -> None:
    carol = services.users.sign_in_local('carol@example.com')
    kept, dropped = services.tokens.create(carol.id, 'kept'), services.tokens.create(carol.id, 'dropped')
    assert services.tokens.revoke(carol.id, dropped.token.id)
    assert not services.tokens.revoke(carol.id, dropped.token.id)  # once
    assert services.tokens.authenticate(dropped.secret) is None
    assert services.tokens.authenticate(kept.secret).id == carol.id
    with services.db.session() as session:
        user = session.get(type(carol), carol.id)
        user.disabled = True
    assert services.tokens.authenticate(kept.secret) is None


def test_only_the_owner_revokes_a_token(services) -> None:
    owner = services.users.sign_in_local('owner@example.com')
    other = services.users.sign_in_local('other@example.com')
    made = services.tokens.create(owner.id, 'mine')
    assert not services.tokens.revoke(other.id, made.token.id)
    assert services.tokens.authenticate(made.secret).id == owner.id
    assert services.tokens.list(other.id) == []


@pytest.mark.parametrize('name', ['', '   ', 'x' * 101, 'tab\tname', 'bell\x07'])
def test_a_token_needs_a_sensible_name(services, name) -> None:
    dave = services.users.sign_in_local('dave@example.com')
    with pytest.raises(TokenError):
        services.tokens.create(dave.id, name)


async def test_the_profile_page_shows_a_new_token_once_and_revokes_it(user: User) -> None:
    await sign_in(user, 'erin@example.com')
    user.find(marker='account').click()
    user.find(marker='nav-profile').click()
    await user.should_see(marker='tokens-card')
    await user.should_see(marker='no-tokens')
    user.find(marker='token-name').type('my script')
    user.find(marker='create-token').click()
    await user.should_see(marker='new-token')
    secret = user.find(marker='token-secret').elements.pop().value
    services = app.state.services
    erin = services.tokens.authenticate(secret)
    assert erin is not None and erin.email == 'erin@example.com'
    token = services.tokens.list(erin.id)[0]
    await user.should_see(f'{token.prefix}…')

    await user.open('/profile')  # shown once: a reload shows the prefix only
    await user.should_not_see(marker='new-token')
    await user.should_see('my script')
    user.find(marker=f'revoke-{token.id}').click()
    user.find(marker='confirm-revoke').click()
    await user.should_see('revoked')
    assert services.tokens.authenticate(secret) is None
