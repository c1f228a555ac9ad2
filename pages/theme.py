"""The shared frame of every signed-in page: header, navigation, credits badge, sign-out."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from models import User

PRIMARY = '#4f46e5'
STATUS_COLORS = {'queued': 'grey-7', 'running': 'blue-7', 'completed': 'positive', 'failed': 'negative',
                 'cancelled': 'orange-8'}


class Frame:
    """What a page may change in the frame after building it."""

    def __init__(self, balance: ui.label) -> None:
        self._balance = balance

    def show_balance(self, credits: int) -> None:
        self._balance.set_text(f'{credits:,} credits')


@contextmanager
def frame(title: str, user: User) -> Iterator[Frame]:
    ui.page_title(f'{title} · AIVideo Studio')
    ui.colors(primary=PRIMARY)
    with ui.header().classes('items-center gap-2 px-4 py-2 bg-white text-gray-900 shadow-sm no-wrap'):
        with ui.link(target='/generate').classes('flex items-center gap-2 no-underline text-inherit'):
            ui.image('/assets/logo.svg').classes('w-8 h-8')
            ui.label('AIVideo Studio').classes('text-lg font-semibold gt-xs')
        with ui.row().classes('gap-1 ml-2 no-wrap'):
            nav_button('Generate', 'movie_creation', '/generate')
            nav_button('History', 'video_library', '/history')
            if user.is_admin:
                nav_button('Admin', 'admin_panel_settings', '/admin')
        ui.space()
        balance = ui.label().classes('rounded-full bg-indigo-50 text-indigo-800 px-3 py-1 text-sm font-medium '
                                     'whitespace-nowrap') \
            .mark('balance')
        with ui.button(icon='account_circle').props('flat round').mark('account'):
            with ui.menu():
                ui.menu_item(user.email).props('disable')
                ui.menu_item('Profile and API tokens', on_click=lambda: ui.navigate.to('/profile')).mark('nav-profile')
                ui.menu_item('Sign out', on_click=sign_out).mark('sign-out')
    page = Frame(balance)
    page.show_balance(user.credits)
    with ui.column().classes('w-full max-w-6xl mx-auto p-4 gap-4'):
        yield page


def nav_button(label: str, icon: str, target: str) -> None:
    """An icon with its label; on a phone just the icon (the label becomes a tooltip)."""
    with ui.button(icon=icon, on_click=lambda: ui.navigate.to(target)).props('flat no-caps') \
            .mark(f'nav-{label.lower()}').tooltip(label):
        ui.label(label).classes('gt-xs ml-2')


def sign_out() -> None:
    ui.navigate.to('/auth/logout')  # an HTTP route, so the session cookie itself is replaced


def status_chip(status: str) -> ui.chip:
    return ui.chip(status, color=STATUS_COLORS.get(status, 'grey-7'), text_color='white').props('dense square')
