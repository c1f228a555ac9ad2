"""Sign-in: "Sign in with Google" when it is configured, else local mode (an email is enough,
for internal use on a trusted network). Either way the browser ends on an /auth route that
starts a fresh session."""
from __future__ import annotations

from urllib.parse import quote

from nicegui import app, ui

from services import Services
from services.users import SignInError, email_error, safe_next

ERRORS = {
    'denied': 'You cancelled the Google sign-in.',
    'failed': 'Google sign-in did not complete. Please try again.',
    'unavailable': 'Google sign-in is unavailable right now. Please try again later.',
    'expired': 'That sign-in link has expired. Please sign in again.',
}


def create(services: Services) -> None:
    google = services.settings.google_enabled

    @ui.page('/login')
    def login_page(next: str = '', error: str = '') -> None:  # noqa: A002 (the query parameter's name)
        target = safe_next(next)
        if app.storage.user.get('user_id') and services.users.get(app.storage.user['user_id']):
            ui.navigate.to(target)
            return
        ui.page_title('Sign in · AIVideo Studio')
        message = app.storage.user.pop('login_error', None) if error == 'refused' else ERRORS.get(error)

        def sign_in() -> None:
            if email.validate() is False:
                return
            try:
                user = services.users.sign_in_local(email.value)
            except SignInError as refusal:
                ui.notify(str(refusal), type='negative')
                return
            ui.navigate.to(f'/auth/local?ticket={services.users.ticket(user.id)}&next={quote(target)}')

        with ui.card().classes('absolute-center w-96 max-w-[92vw] gap-4 p-6'):
            with ui.row().classes('items-center gap-2'):
                ui.image('/assets/logo.svg').classes('w-10 h-10')
                ui.label('AIVideo Studio').classes('text-xl font-semibold')
            if message:
                ui.label(message).classes('w-full text-negative bg-red-50 rounded p-2 text-sm').mark('login-error')
            if google:
                ui.label('Sign in to start making videos.').classes('text-gray-600')
                ui.button('Sign in with Google', icon='login',
                          on_click=lambda: ui.navigate.to(f'/auth/google/login?next={quote(target)}')) \
                    .classes('w-full').props('no-caps').mark('google')
                return
            ui.label('Sign in with your work email to start making videos.').classes('text-gray-600')
            email = ui.input('Email', validation=email_error).props('type=email autofocus outlined') \
                .classes('w-full').mark('email').on('keydown.enter', sign_in)
            email.without_auto_validation()
            ui.button('Continue', on_click=sign_in).classes('w-full').mark('sign-in')
            ui.label('Local sign-in: no password, for a trusted internal network.').classes('text-xs text-gray-500')
