"""Personal API tokens: made and revoked by their owner, presented as `Authorization: Bearer`.

Only a token's SHA-256 is stored, so a copy of the database cannot be used to call the API; the
token itself is shown once, when it is made. A revoked token, or any token of a disabled user,
authenticates nobody.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from models import ApiToken, User, utcnow
from services.db import Database

log = logging.getLogger(__name__)
TOKEN_PREFIX = 'avs_'  # makes a leaked token easy to recognise (and to search for in logs)
PREFIX_LENGTH = 12  # what lists show: 'avs_' and 8 random characters
NAME_MAX = 100
MAX_TOKENS = 50  # live tokens per user
LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write per token and minute


class TokenError(ValueError):
    """Why a token could not be made, fit to show the user."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the token itself: shown once, never stored


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Tokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, user_id: int, name: str) -> NewToken:
        """Make a token for the user; the returned secret is the only copy there will ever be."""
        name = (name or '').strip()
        if not name:
            raise TokenError('Give the token a name, e.g. the script that will use it.')
        if len(name) > NAME_MAX or any(ord(ch) < 32 for ch in name):
            raise TokenError(f'The name can have at most {NAME_MAX} printable characters.')
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.session() as session:
            user = session.get(User, user_id)
            if user is None or user.disabled:
                raise TokenError('This account cannot make tokens.')
            live = session.exec(select(ApiToken.id).where(ApiToken.user_id == user_id,
                                                          ApiToken.revoked_at.is_(None))).all()
            if len(live) >= MAX_TOKENS:
                raise TokenError(f'You have {MAX_TOKENS} tokens already; revoke one you no longer use.')
            token = ApiToken(user_id=user_id, name=name, token_hash=token_hash(secret),
                             prefix=secret[:PREFIX_LENGTH])
            session.add(token)
            session.flush()
            log.info('user %s made API token %s (%s)', user_id, token.id, token.prefix)
            return NewToken(token, secret)

    def list(self, user_id: int) -> list[ApiToken]:
        """The user's tokens, newest first, revoked ones included (they say when)."""
        with self.db.session() as session:
            return list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id)
                                     .order_by(ApiToken.id.desc())))

    def revoke(self, user_id: int, token_id: int) -> bool:
        """Revoke one of the user's own tokens; False when there is no such live token."""
        with self.db.session() as session:
            result = session.exec(update(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id,
                                                         ApiToken.revoked_at.is_(None))
                                  .values(revoked_at=utcnow()))
            if result.rowcount == 1:
                log.info('user %s revoked API token %s', user_id, token_id)
            return result.rowcount == 1

    def authenticate(self, secret: str | None) -> User | None:
        """The enabled user a live token belongs to, or None. Records when the token was used."""
        if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        now = utcnow()
        with self.db.session() as session:
            row = session.exec(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                               .where(ApiToken.token_hash == token_hash(secret))).first()
            if row is None:
                return None
            token, user = row
            if token.revoked_at is not None or user.disabled:
                return None
            if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
                session.exec(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
            return user
