"""The audit log: every admin action, newest first, paged."""
from __future__ import annotations

from nicegui import ui

from models import AuditEntry, User
from pages.admin import PagedList, admin_frame, admin_user
from services import Services

ACTIONS = {'': 'Any action', 'credits.grant': 'Credits', 'user.plan': 'Plan', 'user.admin': 'Admin rights',
           'user.disabled': 'Disabled', 'video.review': 'Review', 'video.cancel': 'Cancel', 'video.retry': 'Retry'}


def create(services: Services) -> None:
    @ui.page('/admin/audit')
    async def audit_page():
        admin = admin_user(services)
        if not isinstance(admin, User):
            return admin
        with admin_frame('Audit', admin):
            await AuditList(services, admin).load()


class AuditList(PagedList):
    empty_text = 'No admin actions recorded yet.'

    def __init__(self, services: Services, admin: User) -> None:
        super().__init__(services, admin, 'w-full gap-0')

    def filters(self) -> None:
        self.action = ui.select(ACTIONS, value='', label='Action', on_change=self.reload).props('dense') \
            .classes('w-48').mark('action-filter')

    async def fetch(self):
        return await self.services.admin.audit_page(self.admin, self.cursor, action=self.action.value or None)

    @staticmethod
    def row(entry: AuditEntry) -> None:
        with ui.row().classes('w-full gap-3 text-sm border-b py-1 items-start').mark(f'audit-{entry.id}'):
            ui.label(f'{entry.created_at:%Y-%m-%d %H:%M:%S}').classes('text-gray-500 w-36')
            ui.label(f'admin #{entry.actor_id}').classes('w-24')
            ui.label(entry.action).classes('w-28 font-medium')
            ui.label(f'{entry.target_type} {entry.target_id}').classes('w-48 font-mono text-xs break-all')
            with ui.column().classes('grow gap-0 min-w-0'):
                ui.label(f'{entry.before} → {entry.after}').classes('font-mono text-xs break-all')
                if entry.reason:
                    ui.label(f'Reason: {entry.reason}').classes('break-words')
