"""Jobs: queued, running and failed videos with their phase, attempts, lease and last error;
cancel (full refund) or retry (a new video charged to its owner)."""
from __future__ import annotations

import uuid

from nicegui import ui

from models import User, Video
from pages.admin import PagedList, act, admin_frame, admin_user
from pages.theme import status_chip
from services import Services

FILTERS = {'': 'Queued, running and failed', 'queued': 'Queued', 'running': 'Running', 'failed': 'Failed'}


def create(services: Services) -> None:
    @ui.page('/admin/jobs')
    async def jobs_page():
        admin = admin_user(services)
        if not isinstance(admin, User):
            return admin
        with admin_frame('Jobs', admin):
            await JobList(services, admin).load()


class JobList(PagedList):
    empty_text = 'No jobs here.'

    def filters(self) -> None:
        with ui.row().classes('w-full items-end gap-3'):
            self.status = ui.select(FILTERS, value='', label='Status', on_change=self.reload) \
                .props('dense').classes('w-64').mark('status-filter')
            ui.button(icon='refresh', on_click=self.reload).props('flat round').mark('refresh')

    async def fetch(self):
        return await self.with_owners(
            await self.services.admin.jobs_page(self.admin, self.status.value or None, self.cursor))

    def row(self, video: Video) -> None:
        with ui.card().classes('w-full').mark(f'job-{video.id}'):
            with ui.row().classes('w-full items-center gap-3'):
                status_chip(video.status)
                ui.link(video.id[:12], f'/videos/{video.id}').classes('font-mono text-sm')
                self.owner_link(video.user_id)
                ui.label(f'phase {video.phase} · attempts {video.attempts} · retries {video.retries}') \
                    .classes('text-sm')
                ui.label(f'lease: {video.lease_owner or "—"}').classes('text-xs text-gray-500 font-mono')
                ui.space()
                if video.status in ('queued', 'running'):
                    ui.button('Cancel', on_click=lambda: self.ask_cancel(video)) \
                        .props('no-caps dense flat color=negative').mark(f'cancel-{video.id}')
                if video.status == 'failed':
                    ui.button('Retry', on_click=lambda: self.ask_retry(video)) \
                        .props('no-caps dense flat').mark(f'retry-{video.id}')
            ui.label(video.prompt).classes('text-sm line-clamp-1 break-all')
            if video.error_message:
                ui.label(f'{video.error_code}: {video.error_message}').classes('text-xs text-negative break-words')

    def ask_cancel(self, video: Video) -> None:
        with ui.dialog() as dialog, ui.card().classes('max-w-sm'):
            ui.label('Cancel this video?').classes('text-lg font-semibold')
            ui.label(f'Its owner gets all {video.cost:,} credits back.').classes('text-sm')
            reason = ui.input('Reason').props('dense maxlength=500').classes('w-full').mark('cancel-reason')
            with ui.row().classes('w-full justify-end'):
                ui.button('Keep going', on_click=dialog.close).props('flat no-caps')
                ui.button('Cancel video', on_click=lambda: self.cancel(dialog, video, reason.value)) \
                    .props('no-caps color=negative').mark('confirm-cancel')
        dialog.open()

    async def cancel(self, dialog: ui.dialog, video: Video, reason: str | None) -> None:
        dialog.close()
        done = await act(self.services.admin.cancel(self.admin, video.id, reason or ''))
        if done is False:
            ui.notify('This video has already finished.')
        elif done:
            ui.notify('Cancelled and refunded.', type='positive')
        await self.reload()

    def ask_retry(self, video: Video) -> None:
        key = uuid.uuid4().hex
        price = self.services.videos.price(video.model, video.size, video.seconds)
        with ui.dialog() as dialog, ui.card().classes('max-w-sm'):
            ui.label('Retry this video?').classes('text-lg font-semibold')
            ui.label(f'A new video with the same settings, charged to its owner: {price:,} credits.') \
                .classes('text-sm').mark('retry-price')
            reason = ui.input('Reason').props('dense maxlength=500').classes('w-full').mark('retry-reason')
            with ui.row().classes('w-full justify-end'):
                ui.button('Not now', on_click=dialog.close).props('flat no-caps')
                ui.button(f'Retry for {price:,} credits',
                          on_click=lambda: self.retry(dialog, video, key, reason.value)) \
                    .props('no-caps').mark('confirm-retry')
        dialog.open()

    async def retry(self, dialog: ui.dialog, video: Video, key: str, reason: str | None) -> None:
        dialog.close()
        new = await act(self.services.admin.retry(self.admin, video.id, key, reason or ''), 'Queued again.')
        if new is not None:
            await self.reload()
