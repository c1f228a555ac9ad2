"""One video: its settings, live log and result."""
from __future__ import annotations

from nicegui import ui

from pages.live import live_video
from pages.session import signed_in_user
from pages.theme import frame
from services import Services, access, catalog


def create(services: Services) -> None:
    @ui.page('/videos/{video_id}')
    def video_page(video_id: str) -> None:
        user = signed_in_user(services)
        if user is None:
            return
        video = services.videos.get(video_id[:64])
        with frame('Video', user) as page:
            if not access.can_view(user, video):
                with ui.column().classes('w-full items-center py-16 gap-3').mark('not-found'):
                    ui.icon('search_off', size='4rem', color='grey-5')
                    ui.label('Video not found').classes('text-xl')
                    ui.button('Back to your videos', on_click=lambda: ui.navigate.to('/history'))
                return
            with ui.row().classes('w-full items-start gap-4 flex-wrap md:flex-nowrap'):
                with ui.card().classes('w-full md:w-80 gap-2 shrink-0').mark('settings'):
                    ui.label('Prompt').classes('text-xs uppercase text-gray-500')
                    ui.label(video.prompt).classes('whitespace-pre-wrap break-words')
                    ui.separator()
                    ui.label(f'{catalog.MODELS.get(video.model, video.model)} · '
                             f'{catalog.SIZE_LABELS.get(video.size, video.size)} · {video.seconds} s')
                    ui.label(f'Price: {video.cost:,} credits')
                    ui.label(f'Created {video.created_at:%Y-%m-%d %H:%M} UTC').classes('text-sm text-gray-500')
                with ui.column().classes('grow w-full min-w-0'):
                    live_video(services, user, video,
                               on_finished=lambda _: page.show_balance(services.credits.balance(user.id)))
