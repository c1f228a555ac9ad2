"""Accounts and sign-in: local mode (email only, for internal use) and OpenID Connect (Google)."""
from __future__ import annotations

import re

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import select

from models import User, utcnow
from services import credits
from services.config import Settings
from services.db import Database

EMAIL = re.compile(r'^[^@\s<>"\'`;,()\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$')


TICKET_SECONDS = 60


class SignInError(ValueError):
    pass


def safe_next(target: str | None) -> str:
    """Where to go after signing in: local paths only, never another site."""
    if not target or not target.startswith('/') or target.startswith('//') or '\\' in target \
            or any(ord(ch) < 32 for ch in target):
        return '/generate'
    return target


def email_error(email: str | None) -> str | None:
    text = (email or '').strip()
    if not text:
        return 'Enter your email address.'
    if len(text) > 254 or not EMAIL.match(text):
        return 'That does not look like an email address.'
    return None


class Users:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._tickets = URLSafeTimedSerializer(settings.storage_secret, salt='local-sign-in')

    def sign_in_local(self, email: str) -> User:
        """Find or create the local user with this email; new users get the starting balance."""
        if error := email_error(email):
            raise SignInError(error)
        email = email.strip().lower()
        return self._sign_in('local', email, email, email.split('@')[0], self.settings.local_signup_plan)

    def sign_in_oidc(self, issuer: str, subject: str, claims: dict) -> User:
        """Find or create the user an OpenID provider vouched for, by issuer + subject.
        The email must be verified, and in an allowed domain when a list is set."""
        email = str(claims.get('email') or '').strip().lower()
        if not subject or email_error(email):
            raise SignInError('Your Google account did not share a usable email address.')
        if claims.get('email_verified') is not True:
            raise SignInError('Your Google account\'s email address is not verified.')
        domains = self.settings.email_domains
        if domains and email.rsplit('@', 1)[1] not in domains:
            raise SignInError('This app is only open to accounts from ' + ', '.join(sorted(domains)) + '.')
        name = str(claims.get('name') or email.split('@')[0])[:200]
        return self._sign_in(issuer, subject, email, name, self.settings.google_signup_plan)

    def _sign_in(self, issuer: str, subject: str, email: str, name: str, plan: str) -> User:
        with self.db.session() as session:
            user = session.exec(select(User).where(User.auth_issuer == issuer, User.auth_subject == subject)).first()
            if user is None:
                user = User(auth_issuer=issuer, auth_subject=subject, email=email, name=name, plan=plan)
                session.add(user)
                session.flush()
                if self.settings.signup_credits > 0:
                    credits.grant(session, user.id, self.settings.signup_credits, 'Welcome credits')
            if user.disabled:
                raise SignInError('This account is disabled. Ask an administrator.')
            user.email = email
            user.is_admin = user.is_admin or email in self.settings.admins
            user.last_login_at = utcnow()
            session.add(user)
            session.flush()
            session.refresh(user)
            return user

    def ticket(self, user_id: int) -> str:
        """A short-lived signed ticket that the /auth/local route exchanges for a fresh session."""
        return self._tickets.dumps(user_id)

    def redeem(self, ticket: str) -> int | None:
        try:
            return int(self._tickets.loads(ticket, max_age=TICKET_SECONDS))
        except (BadSignature, ValueError, TypeError):
            return None

    def get(self, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        with self.db.session() as session:
            return session.get(User, user_id)

    def by_email(self, email: str) -> list[User]:
        """Every account with this email (one per sign-in method), for operators (cli.py)."""
        with self.db.session() as session:
            return list(session.exec(select(User).where(User.email == (email or '').strip().lower())
                                     .order_by(User.id)))

    def set_admin(self, user_id: int, flag: bool) -> bool:
        """Make a user an admin (or not) from the operator's shell (cli.py), where there is no
        admin to act as; admins act through services/admin.py, which audits them."""
        with self.db.session() as session:
            user = session.get(User, user_id)
            if user is None:
                return False
            user.is_admin = bool(flag)
            session.add(user)
            return True
