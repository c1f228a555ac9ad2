"""One video: its settings and price, its credits, its review, its live log and result, and how
long each step took."""
from __future__ import annotations

from nicegui import ui

from models import Video
from pages.live import live_video
from pages.session import signed_in_user
from pages.theme import frame
from services import Services, access, catalog
from services.videos import step_timings

REVIEW_LABELS = {'pending': 'Not reviewed yet', 'approved': 'Approved', 'rejected': 'Rejected',
                 'flagged': 'Flagged for a closer look'}
KIND_LABELS = {'reserve': 'Charged', 'refund': 'Refunded'}


def create(services: Services) -> None:
    @ui.page('/videos/{video_id}')
    def video_page(video_id: str) -> None:
        user = signed_in_user(services)
        if user is None:
            return
        video = services.videos.get(video_id[:64])
        with frame('Video', user) as page:
            if not access.can_view(user, video) or video.deleted_at is not None:
                with ui.column().classes('w-full items-center py-16 gap-3').mark('not-found'):
                    ui.icon('search_off', size='4rem', color='grey-5')
                    ui.label('Video not found').classes('text-xl')
                    ui.button('Back to your videos', on_click=lambda: ui.navigate.to('/history'))
                return
            with ui.row().classes('w-full items-start gap-4 flex-wrap md:flex-nowrap'):
                with ui.column().classes('w-full md:w-80 gap-4 shrink-0'):
                    settings_card(video)
                    credits_card(services, video)
                    review_card(video)
                with ui.column().classes('grow w-full min-w-0 gap-4'):
                    if video.status == 'completed' and not access.can_play(user, video):
                        rejected_panel(services, video)
                    else:
                        live_video(services, user, video,
                                   on_finished=lambda _: page.show_balance(services.credits.balance(user.id)))
                    timings_card(services, video)


def settings_card(video: Video) -> None:
    with ui.card().classes('w-full gap-2').mark('settings'):
        ui.label('Prompt').classes('text-xs uppercase text-gray-500')
        ui.label(video.prompt).classes('whitespace-pre-wrap break-words')
        ui.separator()
        ui.label(f'{catalog.MODELS.get(video.model, video.model)} · '
                 f'{catalog.SIZE_LABELS.get(video.size, video.size)} · {video.seconds} s')
        ui.label('With a reference image' if video.reference_path else 'No reference image').classes('text-sm')
        if video.remix_of:
            ui.link('Remix of an earlier video', f'/videos/{video.remix_of}').classes('text-sm')
        ui.label(f'Price: {video.cost:,} credits').mark('price')
        ui.label(f'Created {video.created_at:%Y-%m-%d %H:%M} UTC').classes('text-sm text-gray-500')


def credits_card(services: Services, video: Video) -> None:
    """Whether and when credits came back: the video's own ledger entries."""
    entries = services.videos.ledger(video.id)
    with ui.card().classes('w-full gap-1').mark('credits'):
        ui.label('Credits').classes('text-xs uppercase text-gray-500')
        for entry in entries:
            ui.label(f'{KIND_LABELS.get(entry.kind, entry.kind)} {abs(entry.delta):,} credits · '
                     f'{entry.created_at:%Y-%m-%d %H:%M:%S} UTC').classes('text-sm')
        if not any(entry.kind == 'refund' for entry in entries):
            ui.label('No credits came back (none are owed unless the video fails or is cancelled).'
                     if video.status != 'failed' and video.status != 'cancelled' else 'No refund recorded.') \
                .classes('text-sm text-gray-500').mark('no-refund')


def review_card(video: Video) -> None:
    if video.status != 'completed':
        return
    with ui.card().classes('w-full gap-1').mark('review'):
        ui.label('Review').classes('text-xs uppercase text-gray-500')
        ui.label(REVIEW_LABELS.get(video.review_status, video.review_status)).mark('review-status')
        if video.review_status in ('rejected', 'flagged') and video.review_reason:
            ui.label(f'Reason: {video.review_reason}').classes('text-sm break-words').mark('review-reason')
        if video.review_status == 'rejected':
            ui.label('Rejected videos cannot be played or downloaded. Rejection does not refund credits.') \
                .classes('text-sm text-gray-500')


def rejected_panel(services: Services, video: Video) -> None:
    """What the owner sees instead of the player once an admin rejected the video."""
    with ui.card().classes('w-full gap-2 bg-red-50 text-red-900').mark('rejected'):
        with ui.row().classes('items-center gap-2'):
            ui.icon('block', color='negative')
            ui.label('This video was rejected by a reviewer and can no longer be played.').classes('font-medium')
        if video.review_reason:
            ui.label(f'Reason: {video.review_reason}').classes('text-sm break-words')
    log = ui.log(max_lines=500).classes('event-log h-48 w-full').mark('event-log')
    for event in services.events.since(video.id):
        log.push(f'{event.created_at:%H:%M:%S}  [{event.step}] {event.message}')


def timings_card(services: Services, video: Video) -> None:
    """How long each step took, from the stored events (refreshed when the page is opened)."""
    timings = step_timings(services.events.since(video.id))
    if not timings:
        return
    with ui.expansion('Timings per step', icon='timer').classes('w-full').mark('timings'):
        with ui.grid(columns=3).classes('text-sm gap-x-4 gap-y-1'):
            for step, began, seconds in timings:
                ui.label(f'[{step}]')
                ui.label(f'{began:%H:%M:%S}')
                ui.label(f'{seconds:.1f} s')
