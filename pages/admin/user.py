"""One user, for admins: balance and ledger; grant or deduct credits; plan; admin; disabled."""
from __future__ import annotations

import math

from nicegui import ui

from models import User
from pages.admin import act, admin_frame, admin_user
from services import Services, catalog
from services.admin import MAX_GRANT, REASON_MAX, AdminError


def create(services: Services) -> None:
    @ui.page('/admin/users/{user_id}')
    async def user_page(user_id: str):
        admin = admin_user(services)
        if not isinstance(admin, User):
            return admin
        with admin_frame('Users', admin):
            panel = ui.column().classes('w-full gap-4')

            async def draw() -> None:
                try:
                    user, entries = await services.admin.user_detail(admin, user_id[:20])
                except AdminError as error:
                    panel.clear()
                    with panel:
                        ui.label(str(error)).classes('text-xl').mark('not-found')
                    return
                except PermissionError:
                    ui.notify('Only admins can do that.', type='negative')
                    return
                panel.clear()
                with panel:
                    user_panel(services, admin, user, entries, draw)
            await draw()


def user_panel(services: Services, admin: User, user: User, entries, redraw) -> None:
    async def run(action, done: str) -> None:
        """Do it, draw the user as they are now, then say so."""
        if await act(action) is not None:
            await redraw()
            ui.notify(done, type='positive')

    with ui.row().classes('w-full items-center gap-3'):
        ui.label(user.email).classes('text-2xl font-semibold break-all').mark('user-email')
        ui.label(f'#{user.id} · {user.name}').classes('text-gray-500')
        ui.space()
        ui.label(f'{user.credits:,} credits').classes('text-xl').mark('user-balance')
    with ui.row().classes('w-full gap-4 items-start flex-wrap md:flex-nowrap'):
        with ui.card().classes('w-full md:w-96 gap-3'):
            ui.label('Grant or deduct credits').classes('font-medium')
            amount = ui.number('Credits (negative to deduct)', value=None, precision=0,
                               min=-MAX_GRANT, max=MAX_GRANT).classes('w-full').mark('grant-amount')
            reason = ui.input('Reason').props(f'maxlength={REASON_MAX}').classes('w-full').mark('grant-reason')

            async def grant() -> None:
                value = amount.value
                if not isinstance(value, (int, float)) or not math.isfinite(value) or value != int(value):
                    ui.notify('Enter a whole number of credits.', type='warning')
                    return
                await run(services.admin.grant_credits(admin, user.id, int(value), reason.value or ''),
                          'Balance updated.')
            ui.button('Apply', on_click=grant).props('no-caps').mark('grant')

            ui.separator()
            plan = ui.select({name: p.label for name, p in catalog.PLANS.items()}, value=user.plan if user.plan
                             in catalog.PLANS else None, label='Plan').classes('w-full').mark('plan')

            async def save_plan() -> None:
                await run(services.admin.set_plan(admin, user.id, plan.value or ''), 'Plan changed.')
            ui.button('Change plan', on_click=save_plan).props('no-caps outline').mark('save-plan')

            ui.separator()

            ui.button('Remove admin' if user.is_admin else 'Make admin',
                      on_click=lambda: run(services.admin.set_admin(admin, user.id, not user.is_admin),
                                           'Admin rights changed.')) \
                .props('no-caps outline').mark('toggle-admin')
            ui.button('Enable' if user.disabled else 'Disable',
                      on_click=lambda: run(services.admin.set_disabled(admin, user.id, not user.disabled),
                                           'Account changed.')) \
                .props(f'no-caps outline color={"positive" if user.disabled else "negative"}').mark('toggle-disabled')
        with ui.card().classes('grow w-full gap-1').mark('ledger'):
            ui.label('Ledger (newest first)').classes('font-medium')
            for entry in entries:
                with ui.row().classes('w-full gap-3 text-sm border-b py-1'):
                    ui.label(f'{entry.created_at:%Y-%m-%d %H:%M}').classes('text-gray-500 w-32')
                    ui.label(f'{entry.delta:+,}').classes('w-20 text-right font-mono')
                    ui.label(entry.kind).classes('w-16')
                    ui.label(entry.reason + (f' (by admin #{entry.actor_id})' if entry.actor_id else '')) \
                        .classes('grow break-words')
