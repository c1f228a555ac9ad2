"""The review queue: completed videos awaiting review, playable inline; approve, reject or flag
one or many, with a reason."""
from __future__ import annotations

from nicegui import ui

from models import User, Video
from pages.admin import act, admin_frame, admin_user, load_more_button
from pages.live import media_url
from services import Services, catalog
from services.admin import REASON_MAX

REVIEWS = {'pending': 'Awaiting review', 'flagged': 'Flagged', 'approved': 'Approved', 'rejected': 'Rejected'}
VERBS = {'approved': 'Approve', 'rejected': 'Reject', 'flagged': 'Flag'}
DONE = {'approved': 'Approved', 'rejected': 'Rejected', 'flagged': 'Flagged'}


def create(services: Services) -> None:
    @ui.page('/admin/review')
    async def review_page():
        admin = admin_user(services)
        if not isinstance(admin, User):
            return admin
        with admin_frame('Review', admin):
            await ReviewQueue(services, admin).load()


class ReviewQueue:
    def __init__(self, services: Services, admin: User) -> None:
        self.services = services
        self.admin = admin
        self.cursor: str | None = None
        self.generation = 0
        self.selected: dict[str, ui.checkbox] = {}
        with ui.row().classes('w-full items-end gap-3'):
            self.review = ui.select(REVIEWS, value='pending', label='Review', on_change=self.reload) \
                .props('dense').classes('w-44').mark('review-filter')
            self.model = ui.select({'': 'Any model', **catalog.MODELS}, value='', label='Model',
                                   on_change=self.reload).props('dense').classes('w-36').mark('model-filter')
            self.search = ui.input('Search prompts').props('dense clearable maxlength=200').classes('w-56') \
                .mark('search').on('keydown.enter', self.reload)
            ui.button(icon='search', on_click=self.reload).props('flat round').mark('apply-search')
        with ui.row().classes('w-full items-center gap-2 bg-indigo-50 rounded p-2').mark('bulk-bar'):
            ui.checkbox('All on screen', on_change=lambda e: self.select_all(e.value)).mark('select-all')
            self.reason = ui.input('Reason (needed to reject or flag)').props(f'dense maxlength={REASON_MAX}') \
                .classes('grow').mark('bulk-reason')
            for decision, verb in VERBS.items():
                ui.button(f'{verb} selected', on_click=lambda d=decision: self.decide(self.chosen(), d,
                                                                                     self.reason.value)) \
                    .props('no-caps dense outline').mark(f'bulk-{decision}')
        self.list = ui.column().classes('w-full gap-3')
        self.empty = ui.label('Nothing to review here.').classes('text-gray-500 self-center py-8').mark('empty')
        self.more = load_more_button(self.load)

    async def reload(self) -> None:
        self.generation += 1
        self.list.clear()
        self.selected.clear()
        self.cursor = None
        await self.load()

    async def load(self) -> None:
        generation = self.generation
        page = await act(self.services.admin.review_page(
            self.admin, review=self.review.value or 'pending', model=self.model.value or None,
            search=(self.search.value or '')[:200] or None, cursor=self.cursor))
        if page is None or generation != self.generation:
            return
        videos, self.cursor = page
        with self.list:
            for video in videos:
                if video.id not in self.selected:
                    self.row(video)
        self.more.set_visibility(self.cursor is not None)
        self.empty.set_visibility(not self.selected)

    def row(self, video: Video) -> None:
        with ui.card().classes('w-full').mark(f'review-{video.id}'):
            with ui.row().classes('w-full items-start gap-4 no-wrap'):
                self.selected[video.id] = ui.checkbox().mark(f'select-{video.id}')
                ui.video(media_url(video.id, 'video'), autoplay=False, muted=True) \
                    .props('preload=none').classes('w-64 shrink-0 rounded')
                with ui.column().classes('grow gap-1 min-w-0'):
                    ui.label(video.prompt).classes('break-words')
                    ui.label(f'{catalog.MODELS.get(video.model, video.model)} · {video.size} · {video.seconds} s · '
                             f'user #{video.user_id} · {video.created_at:%Y-%m-%d %H:%M}') \
                        .classes('text-xs text-gray-500')
                    ui.label(REVIEWS.get(video.review_status, video.review_status)
                                      + (f' — {video.review_reason}' if video.review_reason else '')) \
                        .classes('text-sm').mark(f'review-status-{video.id}')
                    reason = ui.input('Reason').props(f'dense maxlength={REASON_MAX}').classes('w-full') \
                        .mark(f'reason-{video.id}')
                    with ui.row().classes('gap-1'):
                        for decision, verb in VERBS.items():
                            ui.button(verb, on_click=lambda d=decision, r=reason: self.decide([video.id], d, r.value)) \
                                .props('no-caps dense flat').mark(f'{decision}-{video.id}')

    def select_all(self, value: bool) -> None:
        for box in self.selected.values():
            box.value = value

    def chosen(self) -> list[str]:
        return [video_id for video_id, box in self.selected.items() if box.value]

    async def decide(self, video_ids: list[str], decision: str, reason: str | None) -> None:
        changed = await act(self.services.admin.review(self.admin, video_ids, decision, reason or ''))
        if changed is None:
            return
        ui.notify(f'{DONE[decision]} {changed} video{"s" if changed != 1 else ""}.', type='positive')
        await self.reload()
