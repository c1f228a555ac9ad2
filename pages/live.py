"""The live view of one video: step log, last five messages, progress, and the result.

It follows the event log's `follow` (stored events first, then live pushes, with database
re-reads for pushes that never come), the same way the API's event stream does.
"""
from __future__ import annotations

from collections.abc import Callable

from nicegui import background_tasks, ui

from models import User, Video, VideoEvent
from pages.theme import status_chip
from services import Services

CATCH_UP_SECONDS = 5.0  # how long without a push before the database is read again


def media_url(video_id: str, variant: str, download: bool = False) -> str:
    return f'/media/videos/{video_id}/{variant}' + ('?download=1' if download else '')


def live_video(services: Services, user: User, video: Video,
               on_finished: Callable[[Video], None] | None = None) -> None:
    """Draw the live panel of `video` in the current container and keep it up to date."""
    client = ui.context.client
    state = {'finished': False}

    with ui.card().classes('w-full gap-3').mark('live-panel'):
        with ui.row().classes('w-full items-center gap-2'):
            ui.label('● Connected').classes('text-positive text-sm font-medium').mark('connected')
            chip_box = ui.row()
            ui.space()
            percent = ui.label('').classes('text-sm text-gray-600').mark('progress-label')
            cancel_button = ui.button('Cancel', icon='cancel', on_click=lambda: confirm.open()) \
                .props('flat dense no-caps color=negative').mark('cancel')
        progress = ui.linear_progress(value=video.progress / 100, show_value=False).props('rounded size=10px') \
            .mark('progress')
        with ui.column().classes('w-full gap-0 bg-indigo-50 rounded p-2 min-h-[7.5rem]').mark('last-five'):
            recent = [ui.label('').classes('text-sm truncate w-full') for _ in range(5)]
        with ui.expansion('Full log', icon='list', value=True).classes('w-full'):
            log = ui.log(max_lines=200).classes('event-log h-48 w-full').mark('event-log')
        result = ui.column().classes('w-full gap-2').mark('result')

    with ui.dialog() as confirm, ui.card().classes('max-w-sm'):
        ui.label('Cancel this video?').classes('text-lg font-semibold')
        ui.label(f'You get all {video.cost:,} credits back. If the video service has already started '
                 'rendering, we ask it to stop and discard the result.').classes('text-sm')
        with ui.row().classes('w-full justify-end'):
            ui.button('Keep going', on_click=confirm.close).props('flat no-caps')
            ui.button('Cancel video', on_click=lambda: cancel()).props('no-caps color=negative') \
                .mark('confirm-cancel')

    async def cancel() -> None:
        confirm.close()
        if not await services.videos.cancel(user, video.id):
            ui.notify('This video has already finished.')

    def set_status(status: str) -> None:
        chip_box.clear()
        with chip_box:
            status_chip(status).mark('status')

    def show(event: VideoEvent) -> None:  # each event once, in order: the event log's follow sees to it
        log.push(f'{event.created_at:%H:%M:%S}  [{event.step}] {event.message}'
                 + (f'    [Progress: {event.progress}%]' if event.progress is not None else ''))
        texts = [label.text for label in recent[1:]] + [f'[{event.step}] {event.message}']
        for label, text in zip(recent, texts):
            label.set_text(text)
        if event.progress is not None:
            progress.set_value(event.progress / 100)
            percent.set_text(f'{event.progress}%')
        if event.status is None and event.step > 0:
            set_status('running')
        if event.status is not None and not state['finished']:
            finish()

    def finish() -> None:
        state['finished'] = True
        cancel_button.set_visibility(False)
        done = services.videos.get(video.id)
        set_status(done.status)
        with result:
            if done.status == 'completed':
                progress.set_value(1)
                percent.set_text('100%')
                player(done)
                ui.notify('Your video is ready', type='positive')
            else:
                refunded = services.credits.refunded_amount(done.id)
                with ui.row().classes('w-full items-start gap-2 bg-red-50 text-red-900 rounded p-3').mark('failure'):
                    ui.icon('error', color='negative')
                    with ui.column().classes('gap-1'):
                        ui.label(done.error_message or 'The video could not be made.').classes('font-medium')
                        ui.label(f'{refunded:,} credits were refunded to your balance.' if refunded
                                 else 'No credits were refunded.').classes('text-sm')
                ui.notify(f'Video {done.status}: {done.error_message or ""}',
                          type='warning' if done.status == 'cancelled' else 'negative')
        if on_finished:
            on_finished(done)

    async def follow() -> None:
        async for event in services.events.follow(video.id, recheck_seconds=CATCH_UP_SECONDS):
            with client:
                show(event)
        if not state['finished']:  # a video that ended before it wrote a terminal event
            with client:
                finish()

    set_status(video.status)
    following = background_tasks.create(follow(), name=f'live-{video.id}')
    client.on_delete(following.cancel)  # and the event log subscription goes with it


def player(video: Video) -> None:
    """The finished video, its thumbnail and a download button, all from authorized routes."""
    ui.video(media_url(video.id, 'video'), autoplay=False, muted=True).classes('player').mark('player')
    with ui.row().classes('items-center gap-3'):
        ui.image(media_url(video.id, 'thumbnail')).classes('w-24 rounded').mark('thumbnail')
        ui.button('Download MP4', icon='download',
                  on_click=lambda: ui.download.from_url(media_url(video.id, 'video', download=True))) \
            .mark('download')
