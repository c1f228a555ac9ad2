"""The user's videos, newest first."""
from __future__ import annotations

from nicegui import ui

from pages.live import media_url
from pages.theme import frame, status_chip
from pages.session import signed_in_user
from services import Services

PAGE_SIZE = 24


def create(services: Services) -> None:
    @ui.page('/history')
    def history_page() -> None:
        user = signed_in_user(services)
        if user is None:
            return
        with frame('History', user):
            ui.label('Your videos').classes('text-2xl font-semibold')
            videos = services.videos.recent(user.id, limit=PAGE_SIZE)
            if not videos:
                with ui.column().classes('w-full items-center py-16 gap-3 text-gray-600').mark('empty'):
                    ui.icon('movie', size='4rem', color='grey-5')
                    ui.label('No videos yet.').classes('text-lg')
                    ui.button('Make your first video', on_click=lambda: ui.navigate.to('/generate'))
                return
            with ui.grid().classes('w-full grid-cols-1 sm:grid-cols-2 md:grid-cols-3 lg:grid-cols-4 gap-4'):
                for video in videos:
                    with ui.card().tight().classes('cursor-pointer').mark(f'video-{video.id}') \
                            .on('click', lambda v=video: ui.navigate.to(f'/videos/{v.id}')):
                        if video.thumbnail_path:
                            ui.image(media_url(video.id, 'thumbnail')).classes('w-full h-40 object-cover')
                        else:
                            with ui.element('div').classes('w-full h-40 bg-gray-100 flex items-center justify-center'):
                                ui.icon('hourglass_empty' if not video.is_terminal else 'videocam_off',
                                        size='2.5rem', color='grey-6')
                        with ui.card_section().classes('w-full gap-1'):
                            ui.label(video.prompt).classes('text-sm line-clamp-2')
                            with ui.row().classes('items-center gap-2 text-xs text-gray-500'):
                                status_chip(video.status)
                                ui.label(f'{video.model} · {video.seconds}s · {video.created_at:%Y-%m-%d %H:%M}')
            total = services.videos.count(user.id)
            if total > PAGE_SIZE:
                ui.label(f'Showing the newest {PAGE_SIZE} of {total} videos.').classes('text-sm text-gray-500')
