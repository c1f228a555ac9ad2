"""The user's videos, newest first: filters, search, paging, live status, and actions on each.

The list is paged on the server (`Videos.page`, keyset cursor). Cards of videos still running
follow the event log and update their chip and thumbnail in place.
"""
from __future__ import annotations

import uuid

from nicegui import background_tasks, ui

from models import User, Video, VideoEvent
from pages.live import media_url
from pages.session import signed_in_user
from pages.theme import frame, status_chip
from services import Services, access, catalog
from services.events import STARTED
from services.videos import PROMPT_MAX, SubmitError

PAGE_SIZE = 24
STATUSES = {'': 'Any status', 'queued': 'Queued', 'running': 'Running', 'completed': 'Completed',
            'failed': 'Failed', 'cancelled': 'Cancelled'}


def create(services: Services) -> None:
    @ui.page('/history')
    async def history_page() -> None:
        user = signed_in_user(services)
        if user is None:
            return
        with frame('History', user):
            await HistoryList(services, user).load()


class HistoryList:
    """The filter bar, the grid of cards and the "Load more" button of one user's history."""

    def __init__(self, services: Services, user: User) -> None:
        self.services = services
        self.user = user
        self.client = ui.context.client
        self.cursor: str | None = None
        self.generation = 0  # bumped by each reload, so that a slower earlier load is dropped
        self.cards: dict[str, VideoCard] = {}
        with ui.row().classes('w-full items-end gap-3'):
            ui.label('Your videos').classes('text-2xl font-semibold')
            ui.space()
            self.search = ui.input('Search prompts').props('clearable dense maxlength=200') \
                .classes('w-56').mark('search').on('keydown.enter', self.reload)
            self.status = ui.select(STATUSES, value='', label='Status', on_change=self.reload) \
                .props('dense').classes('w-36').mark('status-filter')
            self.model = ui.select({'': 'Any model', **catalog.MODELS}, value='', label='Model',
                                   on_change=self.reload).props('dense').classes('w-36').mark('model-filter')
            ui.button(icon='search', on_click=self.reload).props('flat round').mark('apply-search')
        self.grid = ui.grid().classes('w-full grid-cols-1 sm:grid-cols-2 md:grid-cols-3 lg:grid-cols-4 gap-4')
        self.empty = ui.column().classes('w-full items-center py-16 gap-3 text-gray-600')
        self.more = ui.button('Load more', on_click=self.load_more).props('outline no-caps') \
            .classes('self-center').mark('load-more')
        unsubscribe = services.events.subscribe(None, self.on_event)
        self.client.on_delete(unsubscribe)

    def filters(self) -> dict:
        return {'status': self.status.value or None, 'model': self.model.value or None,
                'search': (self.search.value or '')[:200] or None}

    async def reload(self) -> None:
        self.generation += 1
        self.grid.clear()
        self.cards.clear()
        self.cursor = None
        await self.load()

    async def load_more(self) -> None:
        await self.load()

    async def load(self) -> None:
        """The next page of cards (the first, after a reload)."""
        generation = self.generation
        try:
            videos, self.cursor = await self.services.db.call(
                self.services.videos.page, user_id=self.user.id, cursor=self.cursor, limit=PAGE_SIZE,
                **self.filters())
        except SubmitError as error:
            ui.notify(error.message, type='warning')
            return
        if generation != self.generation:
            return
        with self.grid:
            for video in videos:
                if video.id not in self.cards:
                    self.cards[video.id] = VideoCard(self, video)
        self.more.set_visibility(self.cursor is not None)
        self.show_empty_state()

    def show_empty_state(self) -> None:
        self.empty.clear()
        if self.cards:
            return
        filtered = any(self.filters().values())
        with self.empty.mark('empty'):
            ui.icon('search_off' if filtered else 'movie', size='4rem', color='grey-5')
            if filtered:
                ui.label('No videos match these filters.').classes('text-lg')
                ui.button('Clear filters', on_click=self.clear_filters).props('flat no-caps')
            else:
                ui.label('No videos yet.').classes('text-lg')
                ui.button('Make your first video', on_click=lambda: ui.navigate.to('/generate'))

    async def clear_filters(self) -> None:
        self.search.value = ''
        self.status.value = ''
        self.model.value = ''
        await self.reload()

    def on_event(self, event: VideoEvent) -> None:
        """From the event log (any video's): update the card of ours it concerns, in place; a
        video of ours that has just started (made in another tab, say) joins the top of the list."""
        if self.client.is_deleted:
            return
        card = self.cards.get(event.video_id)
        if card is None:
            if event.step == STARTED and event.status is None and not any(self.filters().values()):
                background_tasks.create(self.add_new(event.video_id), name=f'history-new-{event.video_id}')
            return
        with self.client:
            if event.status is not None:  # finished: read the final state (thumbnail, error)
                background_tasks.create(card.refresh(), name=f'history-card-{event.video_id}')
            elif event.step > 0:
                card.show_status('running', event.progress)

    async def add_new(self, video_id: str) -> None:
        video = await self.services.db.call(self.services.videos.get, video_id)
        if video is None or video.user_id != self.user.id or video_id in self.cards or self.client.is_deleted:
            return
        with self.client, self.grid:
            card = VideoCard(self, video)
            card.card.move(target_index=0)
        self.cards[video_id] = card
        self.show_empty_state()

    def removed(self, video_id: str) -> None:
        self.cards.pop(video_id, None)
        self.show_empty_state()


class VideoCard:
    def __init__(self, history: HistoryList, video: Video) -> None:
        self.history = history
        self.services = history.services
        self.user = history.user
        self.video = video
        with ui.card().tight().classes('w-full').mark(f'video-{video.id}') as self.card:
            self.thumb_box = ui.element('div').classes('w-full cursor-pointer') \
                .on('click', lambda: ui.navigate.to(f'/videos/{video.id}'))
            with ui.card_section().classes('w-full gap-1'):
                ui.label(video.prompt).classes('text-sm line-clamp-2 break-words')
                with ui.row().classes('items-center gap-2 text-xs text-gray-500'):
                    self.chip_box = ui.row().classes('items-center gap-1')
                    ui.label(f'{catalog.MODELS.get(video.model, video.model)} · {video.seconds}s · '
                             f'{video.created_at:%Y-%m-%d %H:%M}')
            self.actions = ui.row().classes('w-full gap-0 px-2 pb-2')
        self.draw()

    def draw(self, progress: int | None = None) -> None:
        video = self.video
        playable = video.status == 'completed' and access.can_play(self.user, video)
        self.thumb_box.clear()
        with self.thumb_box:
            if playable and video.thumbnail_path:
                ui.image(media_url(video.id, 'thumbnail')).classes('w-full h-40 object-cover').mark('thumbnail')
            else:
                icon = 'block' if video.review_status == 'rejected' and video.status == 'completed' \
                    else 'hourglass_empty' if not video.is_terminal else 'videocam_off'
                with ui.element('div').classes('w-full h-40 bg-gray-100 flex items-center justify-center'):
                    ui.icon(icon, size='2.5rem', color='grey-6')
        self.show_status(video.status, progress)
        self.actions.clear()
        with self.actions:
            action('Open', 'open_in_new', lambda: ui.navigate.to(f'/videos/{video.id}'), 'open')
            if playable:
                action('Download', 'download',
                       lambda: ui.download.from_url(media_url(video.id, 'video', download=True)), 'download')
                action('Remix', 'auto_fix_high', self.ask_remix, 'remix')
            if video.status in ('failed', 'cancelled'):
                action('Retry', 'replay', self.ask_retry, 'retry')
            if video.is_terminal:
                action('Delete', 'delete', self.ask_delete, 'delete')

    def show_status(self, status: str, progress: int | None = None) -> None:
        self.chip_box.clear()
        with self.chip_box:
            status_chip(status).mark(f'status-{self.video.id}')
            if progress is not None and status == 'running':
                ui.label(f'{progress}%')
            if self.video.review_status == 'rejected' and status == 'completed':
                ui.label('rejected').classes('text-negative')

    async def refresh(self) -> None:
        video = await self.services.db.call(self.services.videos.get, self.video.id)
        if video is not None:
            self.video = video
            self.draw()

    # --- actions: each asks first, then lets the service decide ----------------------

    def ask_delete(self) -> None:
        with ui.dialog() as dialog, ui.card().classes('max-w-sm'):
            ui.label('Delete this video?').classes('text-lg font-semibold')
            ui.label('The video and its files are removed for good. Credits are not affected.').classes('text-sm')
            with ui.row().classes('w-full justify-end'):
                ui.button('Keep it', on_click=dialog.close).props('flat no-caps')
                ui.button('Delete', on_click=lambda: self.delete(dialog)).props('no-caps color=negative') \
                    .mark('confirm-delete')
        dialog.open()

    async def delete(self, dialog: ui.dialog) -> None:
        dialog.close()
        if not await self.services.videos.delete(self.user, self.video.id):
            ui.notify('This video cannot be deleted now (it may still be running).', type='warning')
            return
        ui.notify('Video deleted.')
        self.card.delete()
        self.history.removed(self.video.id)

    def ask_retry(self) -> None:
        video = self.video
        key = uuid.uuid4().hex  # one key per confirmation: double clicks make one video
        price = self.services.videos.price(video.model, video.size, video.seconds)
        with ui.dialog() as dialog, ui.card().classes('max-w-sm'):
            ui.label('Try this video again?').classes('text-lg font-semibold')
            ui.label(f'A new video with the same settings, for {price:,} credits.').mark('retry-price')
            with ui.row().classes('w-full justify-end'):
                ui.button('Not now', on_click=dialog.close).props('flat no-caps')
                ui.button(f'Retry for {price:,} credits', on_click=lambda: self.start(
                    dialog, self.services.videos.retry(self.user, video.id, key))).props('no-caps') \
                    .mark('confirm-retry')
        dialog.open()

    def ask_remix(self) -> None:
        video = self.video
        key = uuid.uuid4().hex
        price = self.services.videos.price(video.model, video.size, video.seconds)
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md'):
            ui.label('Remix this video').classes('text-lg font-semibold')
            prompt = ui.textarea('What should change?', value=video.prompt) \
                .props(f'outlined autogrow maxlength={PROMPT_MAX}').classes('w-full').mark('remix-prompt')
            ui.label(f'A new video made from this one, for {price:,} credits.').mark('remix-price')
            with ui.row().classes('w-full justify-end'):
                ui.button('Not now', on_click=dialog.close).props('flat no-caps')
                ui.button(f'Remix for {price:,} credits', on_click=lambda: self.start(
                    dialog, self.services.videos.remix(self.user, video.id, prompt.value or '', key))) \
                    .props('no-caps').mark('confirm-remix')
        dialog.open()

    async def start(self, dialog: ui.dialog, submitting) -> None:
        try:
            new = await submitting
        except SubmitError as error:
            ui.notify(error.message, type='warning')
            return
        dialog.close()
        ui.navigate.to(f'/videos/{new.id}')


def action(label: str, icon: str, handler, marker: str) -> None:
    # A title, not a ui.tooltip: one element fewer per button, 24 cards a page.
    ui.button(icon=icon, on_click=handler).props(f'flat dense round size=sm title="{label}" aria-label="{label}"') \
        .mark(marker)
