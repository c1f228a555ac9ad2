"""Keyset paging, the one way every list pages: newest first, each page fetched with one row
more than it shows (to know whether another follows), and a cursor naming the last row shown.
Keyset rather than OFFSET, so that page 1,000 costs what page 1 does."""
from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session

from models import Video

PAGE_MAX = 100


class BadCursor(ValueError):
    """A cursor this app did not hand out (or one a user edited)."""

    def __init__(self) -> None:
        super().__init__('That page link is not valid.')


def fetch(session: Session, query, limit: int, cursor_of: Callable) -> tuple[list, str | None]:
    """Run an already ordered query for one page; returns the rows and the next page's cursor."""
    limit = clamp(limit)
    return take(list(session.exec(query.limit(limit + 1))), limit, cursor_of)


def take(rows: list, limit: int, cursor_of: Callable) -> tuple[list, str | None]:
    """The first `limit` of `rows` (fetched `limit + 1`) and the cursor after them, if more follow."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, cursor_of(rows[-1]) if more and rows else None


def clamp(limit: int) -> int:
    return max(1, min(int(limit), PAGE_MAX))


def like(search: str) -> str:
    """An ILIKE pattern (escape character '\\') that finds `search` literally: % and _ are text."""
    return '%' + search.strip()[:200].replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_') + '%'


def video_cursor(video: Video) -> str:
    raw = f'{video.created_at.isoformat()}|{video.id}'.encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip('=')


def older_than(cursor: str | None):
    """The condition for videos after `cursor` in (created_at, id) descending order, or None for
    the first page. The plain `created_at <=` lets an index seek straight to the cursor instead
    of scanning up to it."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + '=' * (-len(cursor) % 4)).decode()
        created_text, video_id = raw.split('|', 1)
        created = datetime.fromisoformat(created_text)
    except (ValueError, UnicodeDecodeError):
        raise BadCursor from None
    video_id = video_id[:32]
    return and_(Video.created_at <= created,
                or_(Video.created_at < created, and_(Video.created_at == created, Video.id < video_id)))


def id_cursor(cursor: str | None) -> int | None:
    """An integer-id cursor (users, audit entries), or None for the first page."""
    if not cursor:
        return None
    try:
        value = int(cursor)
    except (TypeError, ValueError):
        raise BadCursor from None
    if not 0 < value < 2**63:
        raise BadCursor
    return value
