"""The admin area under /admin: review queue, jobs, users, stats and the audit log.

Every page checks on the server that the signed-in user is an admin now (a 403 page otherwise),
and every action goes through `services.admin`, which checks again and records the action.
"""
from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from fastapi.responses import HTMLResponse
from nicegui import ui

from models import User
from pages.session import signed_in_user
from pages.theme import frame
from services import Services
from services.admin import AdminError
from services.videos import SubmitError

T = TypeVar('T')
SECTIONS = [('Review', 'rate_review', '/admin/review'), ('Jobs', 'work', '/admin/jobs'),
            ('Users', 'group', '/admin/users'), ('Stats', 'insights', '/admin/stats'),
            ('Audit', 'history_edu', '/admin/audit')]
FORBIDDEN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>403 · AIVideo Studio</title></head>
<body style="font-family:sans-serif;text-align:center;padding:4rem">
<h1>403 — admins only</h1><p>This part of AIVideo Studio is for administrators.</p>
<p><a href="/generate">Back to the studio</a></p></body></html>"""


def create(services: Services) -> None:
    from pages.admin import audit, jobs, review, stats, user, users

    @ui.page('/admin')
    def admin_home():
        admin = admin_user(services)
        if not isinstance(admin, User):
            return admin
        ui.navigate.to('/admin/review')

    for module in (review, jobs, users, user, stats, audit):
        module.create(services)


def admin_user(services: Services) -> User | HTMLResponse | None:
    """The signed-in admin; a 403 response for anyone else (None after sending a stranger to
    /login). Read from the database on every page, so removed rights take effect at once."""
    user = signed_in_user(services)
    if user is None:
        return None
    if not services.admin.is_admin(user):
        return forbidden()
    return user


def forbidden() -> HTMLResponse:
    return HTMLResponse(FORBIDDEN, status_code=403)


@contextmanager
def admin_frame(title: str, user: User) -> Iterator[None]:
    with frame(f'Admin · {title}', user):
        with ui.row().classes('w-full gap-1 items-center border-b pb-2'):
            ui.label('Admin').classes('text-xl font-semibold mr-2')
            for label, icon, target in SECTIONS:
                ui.button(label, icon=icon, on_click=lambda t=target: ui.navigate.to(t)) \
                    .props(f'no-caps {"unelevated" if label == title else "flat"}').mark(f'admin-{label.lower()}')
        yield


async def act(action: Awaitable[T], done: str | None = None) -> T | None:
    """Run an admin action from a handler: the service checks the actor again and refuses
    non-admins; its refusals and validation messages become notifications, never a 500."""
    try:
        result = await action
    except PermissionError:
        ui.notify('Only admins can do that.', type='negative')
        return None
    except (AdminError, SubmitError) as error:
        ui.notify(getattr(error, 'message', None) or str(error), type='warning')
        return None
    if done:
        ui.notify(done, type='positive')
    return result


class PagedList:
    """A list filled one server page at a time ("Load more"); `reload` starts over when a filter
    changes. Subclasses say how to fetch a page, how to key an item and how to draw its row;
    a page that arrives after a newer reload began is dropped."""
    empty_text = 'Nothing here.'

    def __init__(self, services: Services, admin: User, list_classes: str = 'w-full gap-2') -> None:
        self.services = services
        self.admin = admin
        self.cursor: str | None = None
        self.generation = 0
        self.shown: set = set()
        self.owners: dict[int, str] = {}
        self.filters()
        self.list = ui.column().classes(list_classes)
        self.empty = ui.label(self.empty_text).classes('text-gray-500 self-center py-8').mark('empty')
        self.more = ui.button('Load more', on_click=self.load).props('outline no-caps').classes('self-center') \
            .mark('load-more')

    def filters(self) -> None:
        """Draw the filter inputs above the list (none by default)."""

    async def fetch(self) -> tuple[list, str | None] | None:
        raise NotImplementedError

    def key(self, item):
        return item.id

    async def with_owners(self, page: tuple[list, str | None]) -> tuple[list, str | None]:
        """Remember the emails of the page's video owners, for `owner_link`."""
        self.owners.update(await self.services.admin.emails(self.admin, {video.user_id for video in page[0]}))
        return page

    def owner_link(self, user_id: int) -> None:
        ui.link(self.owners.get(user_id, f'user #{user_id}'), f'/admin/users/{user_id}') \
            .classes('text-xs break-all').mark(f'owner-{user_id}')

    def row(self, item) -> None:
        raise NotImplementedError

    async def reload(self) -> None:
        self.generation += 1
        self.list.clear()
        self.shown.clear()
        self.cursor = None
        self.cleared()
        await self.load()

    def cleared(self) -> None:
        """Forget per-row state kept by a subclass (called on reload)."""

    async def load(self) -> None:
        generation = self.generation
        page = await act(self.fetch())
        if page is None or generation != self.generation:
            return
        items, self.cursor = page
        with self.list:
            for item in items:
                if self.key(item) not in self.shown:
                    self.shown.add(self.key(item))
                    self.row(item)
        self.more.set_visibility(self.cursor is not None)
        self.empty.set_visibility(not self.shown)
