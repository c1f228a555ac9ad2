"""Users: search by email or name, newest first; each opens its own admin page."""
from __future__ import annotations

from nicegui import ui

from models import User
from pages.admin import PagedList, admin_frame, admin_user
from services import Services, catalog


def create(services: Services) -> None:
    @ui.page('/admin/users')
    async def users_page():
        admin = admin_user(services)
        if not isinstance(admin, User):
            return admin
        with admin_frame('Users', admin):
            await UserList(services, admin).load()


class UserList(PagedList):
    empty_text = 'No users match.'

    def __init__(self, services: Services, admin: User) -> None:
        super().__init__(services, admin, 'w-full gap-1')

    def filters(self) -> None:
        with ui.row().classes('w-full items-end gap-3'):
            self.search = ui.input('Search email or name').props('dense clearable maxlength=200') \
                .classes('w-72').mark('search').on('keydown.enter', self.reload)
            ui.button(icon='search', on_click=self.reload).props('flat round').mark('apply-search')

    async def fetch(self):
        return await self.services.admin.users_page(self.admin, (self.search.value or '')[:200], self.cursor)

    @staticmethod
    def row(user: User) -> None:
        with ui.row().classes('w-full items-center gap-3 border-b py-1 cursor-pointer hover:bg-gray-50') \
                .mark(f'user-{user.id}').on('click', lambda: ui.navigate.to(f'/admin/users/{user.id}')):
            ui.label(f'#{user.id}').classes('text-xs text-gray-500 w-12')
            ui.label(user.email).classes('grow break-all')
            ui.label(user.name).classes('text-sm text-gray-600 gt-sm')
            ui.label(catalog.plan(user.plan).label).classes('text-sm w-20')
            ui.label(f'{user.credits:,} credits').classes('text-sm w-28 text-right')
            if user.is_admin:
                ui.badge('admin')
            if user.disabled:
                ui.badge('disabled', color='negative')
