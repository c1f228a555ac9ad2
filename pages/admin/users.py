"""Users: search by email or name, newest first; each opens its own admin page."""
from __future__ import annotations

from nicegui import ui

from models import User
from pages.admin import act, admin_frame, admin_user, load_more_button
from services import Services, catalog


def create(services: Services) -> None:
    @ui.page('/admin/users')
    async def users_page():
        admin = admin_user(services)
        if not isinstance(admin, User):
            return admin
        with admin_frame('Users', admin):
            await UserList(services, admin).load()


class UserList:
    def __init__(self, services: Services, admin: User) -> None:
        self.services = services
        self.admin = admin
        self.cursor: str | None = None
        self.generation = 0
        self.shown: set[int] = set()
        with ui.row().classes('w-full items-end gap-3'):
            self.search = ui.input('Search email or name').props('dense clearable maxlength=200') \
                .classes('w-72').mark('search').on('keydown.enter', self.reload)
            ui.button(icon='search', on_click=self.reload).props('flat round').mark('apply-search')
        self.list = ui.column().classes('w-full gap-1')
        self.empty = ui.label('No users match.').classes('text-gray-500 self-center py-8').mark('empty')
        self.more = load_more_button(self.load)

    async def reload(self) -> None:
        self.generation += 1
        self.list.clear()
        self.shown.clear()
        self.cursor = None
        await self.load()

    async def load(self) -> None:
        generation = self.generation
        page = await act(self.services.admin.users_page(self.admin, (self.search.value or '')[:200], self.cursor))
        if page is None or generation != self.generation:
            return
        users, self.cursor = page
        with self.list:
            for user in users:
                if user.id not in self.shown:
                    self.shown.add(user.id)
                    self.row(user)
        self.more.set_visibility(self.cursor is not None)
        self.empty.set_visibility(not self.shown)

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
