"""The review queue: completed videos awaiting review, playable inline; approve, reject or flag
one or many, with a reason."""
from __future__ import annotations

from nicegui import ui

from models import User, Video
from pages.admin import PagedList, act, admin_frame, admin_user
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


class ReviewQueue(PagedList):
    empty_text = 'Nothing to review here.'

    def __init__(self, services: Services, admin: User) -> None:
        self.selected: dict[str, ui.checkbox] = {}
        super().__init__(services, admin, 'w-full gap-3')

    def filters(self) -> None:
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

    async def fetch(self):
        return await self.with_owners(await self.services.admin.review_page(
            self.admin, review=self.review.value or 'pending', model=self.model.value or None,
            search=(self.search.value or '')[:200] or None, cursor=self.cursor))

    def cleared(self) -> None:
        self.selected.clear()

    def row(self, video: Video) -> None:
        with ui.card().classes('w-full').mark(f'review-{video.id}'):
            with ui.row().classes('w-full items-start gap-4 no-wrap'):
                self.selected[video.id] = ui.checkbox().mark(f'select-{video.id}')
                ui.video(media_url(video.id, 'video'), autoplay=False, muted=True) \
                    .props('preload=none').classes('w-64 shrink-0 rounded')
                with ui.column().classes('grow gap-1 min-w-0'):
                    ui.label(video.prompt).classes('break-words')
                    with ui.row().classes('items-center gap-2'):
                        ui.label(f'{catalog.MODELS.get(video.model, video.model)} · {video.size} · {video.seconds} s · '
                                 f'{video.created_at:%Y-%m-%d %H:%M} ·').classes('text-xs text-gray-500')
                        self.owner_link(video.user_id)
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
