"""Accounts and sign-in. Local mode: email-only sign-in for internal use (Google comes later)."""
from __future__ import annotations

import re

from sqlmodel import select

from models import User, utcnow
from services import credits
from services.config import Settings
from services.db import Database

EMAIL = re.compile(r'^[^@\s<>"\'`;,()\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$')


class SignInError(ValueError):
    pass


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

    def sign_in_local(self, email: str) -> User:
        """Find or create the user with this email; new users get the starting balance."""
        if error := email_error(email):
            raise SignInError(error)
        email = email.strip().lower()
        with self.db.session() as session:
            user = session.exec(select(User).where(User.email == email)).first()
            if user is None:
                user = User(email=email, name=email.split('@')[0], plan=self.settings.local_signup_plan)
                session.add(user)
                session.flush()
                if self.settings.signup_credits > 0:
                    credits.grant(session, user.id, self.settings.signup_credits, 'Welcome credits')
            if user.disabled:
                raise SignInError('This account is disabled.')
            user.is_admin = user.is_admin or email in self.settings.admins
            user.last_login_at = utcnow()
            session.add(user)
            session.flush()
            session.refresh(user)
            return user

    def get(self, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        with self.db.session() as session:
            return session.get(User, user_id)
