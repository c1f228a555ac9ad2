"""Who is signed in, for pages. The middleware in app.py already sent strangers to /login."""
from __future__ import annotations

from nicegui import app, ui

from models import User
from services import Services


def signed_in_user(services: Services) -> User | None:
    """The signed-in, enabled user; otherwise clears the session, sends to /login and returns None."""
    user = services.users.get(app.storage.user.get('user_id'))
    if user is None or user.disabled:
        app.storage.user.clear()
        ui.navigate.to('/login')
        return None
    return user
