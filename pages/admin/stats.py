"""Stats over a chosen date range: videos per day by status, success rate, median time to
playable, credits spent and estimated provider spend by model, as charts."""
from __future__ import annotations

from datetime import date, timedelta

from nicegui import ui

from models import User, utcnow
from pages.admin import act, admin_frame, admin_user
from services import Services
from services.admin import Stats

DEFAULT_DAYS = 14
STATUS_CHART_COLORS = {'completed': '#21ba45', 'failed': '#c10015', 'cancelled': '#f2994a', 'running': '#1976d2',
                       'queued': '#9e9e9e'}


def create(services: Services) -> None:
    @ui.page('/admin/stats')
    async def stats_page():
        admin = admin_user(services)
        if not isinstance(admin, User):
            return admin
        with admin_frame('Stats', admin):
            today = utcnow().date()
            with ui.row().classes('w-full items-end gap-3'):
                start = ui.input('From', value=(today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()) \
                    .props('dense type=date').mark('start')
                end = ui.input('To', value=today.isoformat()).props('dense type=date').mark('end')
                ui.button('Show', on_click=lambda: show()).props('no-caps').mark('show')
            panel = ui.column().classes('w-full gap-4')

            async def show() -> None:
                try:
                    first, last = date.fromisoformat(start.value or ''), date.fromisoformat(end.value or '')
                except (TypeError, ValueError):
                    ui.notify('Enter dates as YYYY-MM-DD.', type='warning')
                    return
                stats = await act(services.admin.stats(admin, first, last))
                if stats is not None:
                    panel.clear()
                    with panel:
                        draw(stats)
            await show()


def draw(stats: Stats) -> None:
    with ui.row().classes('w-full gap-4').mark('figures'):
        figure('Videos', f'{stats.total:,}')
        figure('Success rate', f'{stats.success_rate:.1%}' if stats.success_rate is not None else '—')
        figure('Median time to playable', f'{stats.median_seconds_to_playable:.0f} s'
               if stats.median_seconds_to_playable is not None else '—')
        figure('Credits spent', f'{stats.credits_spent:,}')
        figure('Provider spend (est.)', f'${sum(stats.usd_by_model.values()):,.2f}')
    ui.echart({
        'title': {'text': 'Videos per day by status', 'textStyle': {'fontSize': 14}},
        'tooltip': {'trigger': 'axis'}, 'legend': {'bottom': 0},
        'xAxis': {'type': 'category', 'data': stats.days},
        'yAxis': {'type': 'value', 'minInterval': 1},
        'series': [{'name': status, 'type': 'bar', 'stack': 'videos', 'data': counts,
                    'itemStyle': {'color': STATUS_CHART_COLORS.get(status, '#777')}}
                   for status, counts in stats.per_day.items()],
    }).classes('w-full h-80').mark('per-day-chart')
    ui.echart({
        'title': {'text': 'Estimated provider spend by model (USD, list prices)', 'textStyle': {'fontSize': 14}},
        'tooltip': {}, 'xAxis': {'type': 'category', 'data': list(stats.usd_by_model)},
        'yAxis': {'type': 'value'},
        'series': [{'type': 'bar', 'data': list(stats.usd_by_model.values()), 'barMaxWidth': 80,
                    'itemStyle': {'color': '#4f46e5'}}],
    }).classes('w-full h-64').mark('usd-chart')


def figure(label: str, value: str) -> None:
    with ui.card().classes('gap-0 min-w-40'):
        ui.label(label).classes('text-xs uppercase text-gray-500')
        ui.label(value).classes('text-2xl font-semibold')
