"""Sign-in. Local mode: an email is enough (for internal use on a trusted network)."""
from __future__ import annotations

from nicegui import app, ui

from services import Services
from services.users import SignInError, email_error


def safe_next(target: str | None) -> str:
    """Only local paths: never let a link send a freshly signed-in user to another site."""
    if not target or not target.startswith('/') or target.startswith('//') or '\\' in target \
            or any(ord(ch) < 32 for ch in target):
        return '/generate'
    return target


def create(services: Services) -> None:
    @ui.page('/login')
    def login_page(next: str = '') -> None:  # noqa: A002 (the query parameter's name)
        target = safe_next(next)
        if app.storage.user.get('user_id') and services.users.get(app.storage.user['user_id']):
            ui.navigate.to(target)
            return
        ui.page_title('Sign in · AIVideo Studio')

        def sign_in() -> None:
            if email.validate() is False:
                return
            try:
                user = services.users.sign_in_local(email.value)
            except SignInError as error:
                ui.notify(str(error), type='negative')
                return
            app.storage.user.clear()
            app.storage.user['user_id'] = user.id
            ui.navigate.to(target)

        with ui.card().classes('absolute-center w-96 max-w-[92vw] gap-4 p-6'):
            with ui.row().classes('items-center gap-2'):
                ui.image('/assets/logo.svg').classes('w-10 h-10')
                ui.label('AIVideo Studio').classes('text-xl font-semibold')
            ui.label('Sign in with your work email to start making videos.').classes('text-gray-600')
            email = ui.input('Email', validation=email_error).props('type=email autofocus outlined') \
                .classes('w-full').mark('email').on('keydown.enter', sign_in)
            email.without_auto_validation()
            ui.button('Continue', on_click=sign_in).classes('w-full').mark('sign-in')
            ui.label('Local sign-in: no password, for a trusted internal network.').classes('text-xs text-gray-500')
