"""A tiny Prometheus registry: counters and histograms in process memory, rendered in the text
exposition format (version 0.0.4). Small on purpose: the app exports a handful of series, which
does not justify prometheus_client and its multi-process machinery.

What is counted:
- `aivideo_provider_calls_total{kind,result}`: every call the runner makes to the video provider
  (kind: create, remix, retrieve, find, download, delete; result: ok, transient, permanent, error);
- `aivideo_event_delivery_seconds`: publish time minus the event's `created_at`, for every event
  pushed to live subscribers;
- `aivideo_videos{status}`: read from the database at scrape time (see `render`).
"""
from __future__ import annotations

import bisect
import functools
import math
import threading
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import select

from models import Video, VideoEvent, utcnow
from services.db import Database

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
VIDEO_STATUSES = ('queued', 'running', 'completed', 'failed', 'cancelled')


class Counter:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...]) -> None:
        self.name, self.help, self.labels = name, help_text, labels
        self._values: dict[tuple[str, ...], float] = defaultdict(float)
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(str(labels.get(name, '')) for name in self.labels)
        with self._lock:
            self._values[key] += amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(str(labels.get(name, '')) for name in self.labels), 0.0)

    def lines(self) -> Iterable[str]:
        yield f'# HELP {self.name} {self.help}'
        yield f'# TYPE {self.name} counter'
        for key, value in sorted(self._values.items()):
            yield f'{self.name}{_labels(zip(self.labels, key))} {_number(value)}'


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self._counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self._counts[bisect.bisect_left(self.buckets, value)] += 1
            self._sum += value

    @property
    def count(self) -> int:
        return sum(self._counts)

    def lines(self) -> Iterable[str]:
        yield f'# HELP {self.name} {self.help}'
        yield f'# TYPE {self.name} histogram'
        cumulative = 0
        for bound, count in zip((*self.buckets, math.inf), self._counts):
            cumulative += count
            le = '+Inf' if bound == math.inf else _number(bound)
            yield f'{self.name}_bucket{{le="{le}"}} {cumulative}'
        yield f'{self.name}_sum {_number(self._sum)}'
        yield f'{self.name}_count {cumulative}'


PROVIDER_CALLS = Counter('aivideo_provider_calls_total', 'Calls from the runner to the video provider.',
                         ('kind', 'result'))
EVENT_DELIVERY = Histogram('aivideo_event_delivery_seconds',
                           'Time from an event being created to its push to live subscribers.')


def observe_delivery(event: VideoEvent) -> None:
    """An EventLog listener for every video: how long the event took from creation to push."""
    if event.created_at is not None:
        EVENT_DELIVERY.observe(max(0.0, (utcnow() - event.created_at).total_seconds()))


class CountedProvider:
    """Wraps a provider so that every call is counted by kind and result; otherwise the same."""

    KINDS = ('create', 'remix', 'retrieve', 'find', 'download', 'delete')

    def __init__(self, provider) -> None:
        self._provider = provider

    def __getattr__(self, name: str):
        attribute = getattr(self._provider, name)
        if name not in self.KINDS or not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        async def counted(*args, **kwargs):
            result = 'error'
            try:
                value = await attribute(*args, **kwargs)
                result = 'ok'
                return value
            except Exception as error:
                transient = getattr(error, 'transient', None)
                result = 'error' if transient is None else 'transient' if transient else 'permanent'
                raise
            finally:
                PROVIDER_CALLS.inc(kind=name, result=result)
        return counted


def video_counts(db: Database) -> dict[str, int]:
    """Videos by status (deleted ones included: they still happened)."""
    with db.session() as session:
        rows = session.exec(select(Video.status, func.count()).group_by(Video.status)).all()
    counts = dict.fromkeys(VIDEO_STATUSES, 0)
    counts.update({status: count for status, count in rows})
    return counts


def database_reachable(db: Database) -> bool:
    try:
        with db.session() as session:
            session.exec(select(1)).one()
        return True
    except Exception:  # any failure means "not reachable" to a health check
        return False


def render(video_counts_by_status: dict[str, int]) -> str:
    """Every series in the text exposition format."""
    lines = ['# HELP aivideo_videos Videos by status.', '# TYPE aivideo_videos gauge']
    lines += [f'aivideo_videos{{status="{_escape(s)}"}} {n}' for s, n in sorted(video_counts_by_status.items())]
    lines += PROVIDER_CALLS.lines()
    lines += EVENT_DELIVERY.lines()
    return '\n'.join(lines) + '\n'


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ','.join(f'{name}="{_escape(value)}"' for name, value in pairs)
    return f'{{{inner}}}' if inner else ''


def _escape(value: str) -> str:
    return str(value).replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))
