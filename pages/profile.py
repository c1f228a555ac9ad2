"""The user's profile: who they are, and their personal API tokens (make one, see it once, revoke).

The rules are in services/tokens.py; the API that the tokens open is described at /openapi.json.
"""
from __future__ import annotations

from nicegui import ui

from models import ApiToken, User
from pages.session import signed_in_user
from pages.theme import frame
from services import Services, catalog
from services.tokens import NAME_MAX, TokenError


def create(services: Services) -> None:
    @ui.page('/profile')
    def profile_page() -> None:
        user = signed_in_user(services)
        if user is None:
            return
        with frame('Profile', user):
            with ui.card().classes('w-full gap-1').mark('account-card'):
                ui.label('Your account').classes('text-xl font-semibold')
                ui.label(user.email).classes('text-gray-700')
                ui.label(f'{catalog.plan(user.plan).label} plan' + (' · administrator' if user.is_admin else '')) \
                    .classes('text-sm text-gray-600')
            TokenPanel(services, user)


class TokenPanel:
    """The token list with its create form; a new token is shown once, in a box to copy it from."""

    def __init__(self, services: Services, user: User) -> None:
        self.services = services
        self.user = user
        with ui.card().classes('w-full gap-3').mark('tokens-card'):
            ui.label('API tokens').classes('text-xl font-semibold')
            ui.markdown('Scripts and integrations call the HTTP API with a token: '
                        '`Authorization: Bearer <token>`. The API is described at '
                        '[/openapi.json](/openapi.json). Treat a token like a password; revoke it when '
                        'it is no longer needed or may have leaked.').classes('text-sm text-gray-700')
            with ui.row().classes('w-full items-start gap-2 no-wrap'):
                self.name = ui.input('Token name', placeholder='e.g. nightly render script') \
                    .props(f'outlined dense maxlength={NAME_MAX}').classes('grow').mark('token-name') \
                    .on('keydown.enter', self.make)
                ui.button('Create token', icon='key', on_click=self.make).props('no-caps').mark('create-token')
            self.secret_box = ui.column().classes('w-full')
            self.table = ui.column().classes('w-full gap-0')
        self.refresh()

    async def make(self) -> None:
        try:
            made = await self.services.db.call(self.services.tokens.create, self.user.id, self.name.value)
        except TokenError as refusal:
            ui.notify(str(refusal), type='warning')
            return
        self.name.value = ''
        self.secret_box.clear()
        with self.secret_box, ui.column().classes('w-full bg-green-50 rounded p-3 gap-2').mark('new-token'):
            ui.label(f'Your new token "{made.token.name}". Copy it now: it will not be shown again.') \
                .classes('text-green-900 font-medium')
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                ui.input(value=made.secret).props('readonly outlined dense').classes('grow font-mono') \
                    .mark('token-secret')
                ui.button(icon='content_copy', on_click=lambda: self.copy(made.secret)).props('flat round') \
                    .tooltip('Copy').mark('copy-token')
        self.refresh()

    @staticmethod
    def copy(secret: str) -> None:
        ui.clipboard.write(secret)
        ui.notify('Copied')

    def refresh(self) -> None:
        tokens = self.services.tokens.list(self.user.id)
        self.table.clear()
        with self.table:
            if not tokens:
                ui.label('No tokens yet.').classes('text-gray-600').mark('no-tokens')
            for token in tokens:
                self.row(token)

    def row(self, token: ApiToken) -> None:
        revoked = token.revoked_at is not None
        with ui.row().classes('w-full items-center gap-3 py-2 border-b no-wrap').mark(f'token-{token.id}'):
            ui.icon('key_off' if revoked else 'key').classes('text-gray-500')
            with ui.column().classes('grow gap-0'):
                ui.label(token.name).classes('font-medium' + (' line-through text-gray-500' if revoked else ''))
                used = f'last used {token.last_used_at:%Y-%m-%d %H:%M} UTC' if token.last_used_at else 'never used'
                state = f'revoked {token.revoked_at:%Y-%m-%d %H:%M} UTC' if revoked else used
                ui.label(f'{token.prefix}… · created {token.created_at:%Y-%m-%d} · {state}') \
                    .classes('text-xs text-gray-600 font-mono')
            if not revoked:
                ui.button('Revoke', on_click=lambda t=token: self.confirm_revoke(t)) \
                    .props('flat no-caps color=negative').mark(f'revoke-{token.id}')

    def confirm_revoke(self, token: ApiToken) -> None:
        with ui.dialog() as dialog, ui.card().mark('revoke-dialog'):
            ui.label(f'Revoke "{token.name}"? Scripts using it stop working at once.')
            with ui.row().classes('w-full justify-end'):
                ui.button('Keep it', on_click=dialog.close).props('flat no-caps')
                ui.button('Revoke', on_click=lambda: self.revoke(token, dialog)).props('no-caps color=negative') \
                    .mark('confirm-revoke')
        dialog.open()

    async def revoke(self, token: ApiToken, dialog: ui.dialog) -> None:
        dialog.close()
        if await self.services.db.call(self.services.tokens.revoke, self.user.id, token.id):
            ui.notify(f'Revoked "{token.name}"')
        self.refresh()
