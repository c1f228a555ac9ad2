"""What admins may do, and the record of it: every action re-checks that its actor is an admin
(PermissionError otherwise) and writes its `AuditEntry` in the same transaction as the change.

Used by the admin pages and the JSON API alike. Queries page with keysets, so a list of
100,000 rows is read one page at a time.
"""
from __future__ import annotations

import json
import logging
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, or_
from sqlmodel import Session, func, select

from models import AuditEntry, CreditEntry, User, Video, utcnow
from services import catalog, credits, paging
from services.db import Database
from services.events import EventLog
from services.videos import SubmitError, Videos

log = logging.getLogger(__name__)

DECISIONS = ('approved', 'rejected', 'flagged')
JOB_STATUSES = ('queued', 'running', 'failed')
REASON_MAX = 500
MAX_GRANT = 1_000_000_000
MAX_BULK = 100
MAX_STATS_DAYS = 366


class AdminError(ValueError):
    """A request an admin made that cannot be done, with a message fit to show them."""


@dataclass
class Stats:
    start: date
    end: date
    days: list[str] = field(default_factory=list)
    per_day: dict[str, list[int]] = field(default_factory=dict)  # status -> count per day
    total: int = 0
    success_rate: float | None = None  # completed / (completed + failed), None without either
    median_seconds_to_playable: float | None = None
    credits_spent: int = 0  # reserved less refunded, by entries written in the range
    usd_by_model: dict[str, float] = field(default_factory=dict)


class Admin:
    def __init__(self, db: Database, events: EventLog, videos: Videos) -> None:
        self.db = db
        self.events = events
        self.videos = videos

    # --- actions on users ---------------------------------------------------------------

    async def grant_credits(self, actor: User, user_id: int, amount: int, reason: str) -> int:
        """Add (or, negative, deduct — never below zero) credits by hand; returns the new balance."""
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0 or abs(amount) > MAX_GRANT:
            raise AdminError(f'Enter a whole number of credits between -{MAX_GRANT:,} and {MAX_GRANT:,}, not 0.')
        reason = _reason(reason, required=True)
        return await self.db.call(self._grant_tx, actor, user_id, amount, reason)

    def _grant_tx(self, actor: User, user_id: int, amount: int, reason: str) -> int:
        with self.db.session() as session:
            admin = _admin(session, actor)
            user = _user(session, user_id)
            before = user.credits
            try:
                credits.grant(session, user.id, amount, reason, actor_id=admin.id)
            except credits.InsufficientCredits:
                raise AdminError(f'{user.email} has {before:,} credits; a balance cannot go below zero.') from None
            session.refresh(user)
            _audit(session, admin, 'credits.grant', 'user', user.id, {'credits': before},
                   {'credits': user.credits, 'delta': amount}, reason)
            return user.credits

    async def set_plan(self, actor: User, user_id: int, plan: str, reason: str = '') -> User:
        """Each user setter returns the user as changed (unchanged when it already was so)."""
        if plan not in catalog.PLANS:
            raise AdminError('Choose one of the plans: ' + ', '.join(catalog.PLANS) + '.')
        return await self.db.call(self._set_user_tx, actor, user_id, 'user.plan', 'plan', plan, _reason(reason))

    async def set_admin(self, actor: User, user_id: int, flag: bool, reason: str = '') -> User:
        return await self.db.call(self._set_user_tx, actor, user_id, 'user.admin', 'is_admin', bool(flag),
                                  _reason(reason))

    async def set_disabled(self, actor: User, user_id: int, flag: bool, reason: str = '') -> User:
        """A disabled user is signed out at their next request (api/middleware.py)."""
        return await self.db.call(self._set_user_tx, actor, user_id, 'user.disabled', 'disabled', bool(flag),
                           _reason(reason))

    def _set_user_tx(self, actor: User, user_id: int, action: str, column: str, value, reason: str) -> User:
        with self.db.session() as session:
            admin = _admin(session, actor)
            user = _user(session, user_id)
            if user.id == admin.id and column in ('is_admin', 'disabled') and value != (column == 'is_admin'):
                raise AdminError('You cannot remove your own admin rights or disable yourself.')
            before = getattr(user, column)
            if before == value:
                return user
            setattr(user, column, value)
            session.add(user)
            _audit(session, admin, action, 'user', user.id, {column: before}, {column: value}, reason)
            return user

    # --- actions on videos --------------------------------------------------------------

    async def review(self, actor: User, video_ids: list[str], decision: str, reason: str = '') -> int:
        """Approve, reject or flag completed videos; returns how many changed. A rejected video
        no longer plays for its owner (services/access.py), who sees the reason. No refund."""
        if decision not in DECISIONS:
            raise AdminError('Choose approve, reject or flag.')
        reason = _reason(reason, required=decision != 'approved')
        ids = list(dict.fromkeys(str(v)[:32] for v in video_ids or []))
        if not ids:
            raise AdminError('Select at least one video.')
        if len(ids) > MAX_BULK:
            raise AdminError(f'Review at most {MAX_BULK} videos at once.')
        return await self.db.call(self._review_tx, actor, ids, decision, reason)

    def _review_tx(self, actor: User, ids: list[str], decision: str, reason: str) -> int:
        with self.db.session() as session:
            admin = _admin(session, actor)
            changed = 0
            for video in session.exec(select(Video).where(Video.id.in_(ids), Video.status == 'completed',
                                                          Video.deleted_at.is_(None))):
                before = {'review_status': video.review_status, 'review_reason': video.review_reason}
                video.review_status = decision
                video.review_reason = reason or None
                video.reviewed_by = admin.id
                video.reviewed_at = utcnow()
                session.add(video)
                _audit(session, admin, 'video.review', 'video', video.id, before,
                       {'review_status': decision, 'review_reason': reason or None}, reason)
                changed += 1
            return changed

    async def cancel(self, actor: User, video_id: str, reason: str = '') -> bool:
        """Cancel a queued or running video and refund its owner in full."""
        reason = _reason(reason)
        await self.db.call(self._check, actor)

        def audit(session: Session, video: Video) -> None:
            _audit(session, _admin(session, actor), 'video.cancel', 'video', video.id,
                   {'status': video.status}, {'status': 'cancelled'}, reason)
        return await self.videos.cancel(actor, video_id, within=audit)

    async def retry(self, actor: User, video_id: str, key: str, reason: str = '') -> Video:
        """Queue a failed (or cancelled) video again as a new video with the same settings, charged
        to its owner at today's price, as the owner's own retry would be."""
        reason = _reason(reason)
        await self.db.call(self._check, actor)

        def audit(session: Session, video: Video) -> None:
            _audit(session, _admin(session, actor), 'video.retry', 'video', video_id,
                   {'video_id': video_id}, {'video_id': video.id, 'cost': video.cost}, reason)
        try:
            return await self.videos.retry(actor, video_id, key, within=audit)
        except SubmitError as error:
            raise AdminError(error.message) from None

    # --- queries ------------------------------------------------------------------------

    async def users_page(self, actor: User, search: str = '', cursor: str | None = None,
                         limit: int = 50) -> tuple[list[User], str | None]:
        """Users by id, newest first, whose email or name contains `search`."""
        return await self.db.call(self._users_page, actor, search, cursor, limit)

    def _users_page(self, actor, search, cursor, limit):
        with self.db.session() as session:
            _admin(session, actor)
            query = select(User)
            if search and search.strip():
                pattern = paging.like(search)
                query = query.where(or_(User.email.ilike(pattern, escape='\\'), User.name.ilike(pattern, escape='\\')))
            if (after := _id_cursor(cursor)) is not None:
                query = query.where(User.id < after)
            return paging.fetch(session, query.order_by(User.id.desc()), limit, lambda u: str(u.id))

    async def user_detail(self, actor: User, user_id: int, ledger_limit: int = 100) -> tuple[User, list[CreditEntry]]:
        return await self.db.call(self._user_detail, actor, user_id, ledger_limit)

    def _user_detail(self, actor, user_id, ledger_limit):
        with self.db.session() as session:
            _admin(session, actor)
            user = _user(session, user_id)
            entries = list(session.exec(select(CreditEntry).where(CreditEntry.user_id == user.id)
                                        .order_by(CreditEntry.id.desc()).limit(max(1, min(ledger_limit, 500)))))
            return user, entries

    async def jobs_page(self, actor: User, status: str | None = None, cursor: str | None = None,
                        limit: int = 50) -> tuple[list[Video], str | None]:
        """Queued, running and failed videos (or one of those), newest first."""
        return await self.db.call(self._jobs_page, actor, status, cursor, limit)

    def _jobs_page(self, actor, status, cursor, limit):
        statuses = (status,) if status in JOB_STATUSES else JOB_STATUSES
        limit = paging.clamp(limit)
        try:
            after = paging.older_than(cursor)
        except paging.BadCursor as error:
            raise AdminError(str(error)) from None
        rows: list[Video] = []
        with self.db.session() as session:
            _admin(session, actor)
            # One indexed (status, created_at) walk per status, merged: an IN over statuses would
            # sort every matching row for each page.
            for one in statuses:
                query = select(Video).where(Video.status == one)
                if after is not None:
                    query = query.where(after)
                rows += session.exec(query.order_by(Video.created_at.desc(), Video.id.desc()).limit(limit + 1))
        rows.sort(key=lambda v: (v.created_at, v.id), reverse=True)
        return paging.take(rows, limit, paging.video_cursor)

    async def review_page(self, actor: User, review: str = 'pending', model: str | None = None,
                          search: str | None = None, cursor: str | None = None,
                          limit: int = 24) -> tuple[list[Video], str | None]:
        """Completed videos in a review state (pending by default), newest first."""
        await self.db.call(self._check, actor)
        if review not in ('pending', *DECISIONS):
            review = 'pending'
        try:
            return await self.db.call(self.videos.page, status='completed', review=review, model=model or None,
                                      search=search, cursor=cursor, limit=limit)
        except SubmitError as error:
            raise AdminError(error.message) from None

    async def emails(self, actor: User, user_ids: set[int]) -> dict[int, str]:
        """The emails of some users, to show who owns what in admin lists."""
        return await self.db.call(self._emails, actor, set(user_ids))

    def _emails(self, actor, user_ids):
        with self.db.session() as session:
            _admin(session, actor)
            if not user_ids:
                return {}
            return dict(session.exec(select(User.id, User.email).where(User.id.in_(user_ids))).all())

    async def audit_page(self, actor: User, cursor: str | None = None, limit: int = 50,
                         action: str | None = None) -> tuple[list[AuditEntry], str | None]:
        return await self.db.call(self._audit_page, actor, cursor, limit, action)

    def _audit_page(self, actor, cursor, limit, action):
        with self.db.session() as session:
            _admin(session, actor)
            query = select(AuditEntry)
            if action:
                query = query.where(AuditEntry.action == action[:64])
            if (after := _id_cursor(cursor)) is not None:
                query = query.where(AuditEntry.id < after)
            return paging.fetch(session, query.order_by(AuditEntry.id.desc()), limit, lambda e: str(e.id))

    async def stats(self, actor: User, start: date, end: date) -> Stats:
        """Videos per day by status, success rate, median time to playable, credits spent and the
        estimated provider spend (USD, list prices) by model, for videos created from `start` to
        `end` inclusive (UTC days)."""
        if end < start:
            start, end = end, start
        if (end - start).days >= MAX_STATS_DAYS:
            raise AdminError(f'Choose a range of at most {MAX_STATS_DAYS} days.')
        return await self.db.call(self._stats, actor, start, end)

    def _stats(self, actor, start: date, end: date) -> Stats:
        low = datetime.combine(start, time.min, timezone.utc)
        high = datetime.combine(end + timedelta(days=1), time.min, timezone.utc)
        stats = Stats(start, end)
        stats.days = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
        in_range = and_(Video.created_at >= low, Video.created_at < high)
        with self.db.session() as session:
            _admin(session, actor)
            day = func.date(Video.created_at)
            counts: dict[str, dict[str, int]] = defaultdict(dict)
            for day_value, status, count in session.exec(select(day, Video.status, func.count())
                                                         .where(in_range).group_by(day, Video.status)):
                counts[status][str(day_value)[:10]] = count
                stats.total += count
            stats.per_day = {status: [by_day.get(d, 0) for d in stats.days]
                             for status, by_day in sorted(counts.items())}
            done = sum(stats.per_day.get('completed', []))
            failed = sum(stats.per_day.get('failed', []))
            stats.success_rate = done / (done + failed) if done + failed else None
            durations = [(finished - created).total_seconds() for created, finished in session.exec(
                select(Video.created_at, Video.finished_at).where(in_range, Video.status == 'completed',
                                                                  Video.finished_at.is_not(None)))]
            stats.median_seconds_to_playable = statistics.median(durations) if durations else None
            spent = session.exec(select(func.sum(CreditEntry.delta)).where(
                CreditEntry.kind.in_(('reserve', 'refund')), CreditEntry.created_at >= low,
                CreditEntry.created_at < high)).one()
            stats.credits_spent = -(spent or 0)
            usd: dict[str, float] = defaultdict(float)
            for model, size, seconds, count in session.exec(
                    select(Video.model, Video.size, Video.seconds, func.count())
                    .where(in_range, Video.status == 'completed').group_by(Video.model, Video.size, Video.seconds)):
                try:
                    usd[model] += catalog.usd_cost(model, size, seconds) * count
                except KeyError:  # a model or size no longer offered
                    log.warning('no price for %s %s', model, size)
            stats.usd_by_model = {model: round(value, 2) for model, value in sorted(usd.items())}
        return stats

    # --- helpers ------------------------------------------------------------------------

    def _check(self, actor: User | None) -> None:
        with self.db.session() as session:
            _admin(session, actor)

    def is_admin(self, user: User | None) -> bool:
        try:
            self._check(user)
            return True
        except PermissionError:
            return False


def _admin(session: Session, actor: User | None) -> User:
    """The actor as the database knows them now, or PermissionError: the flag on a session's
    copy may be stale (rights removed since)."""
    admin = session.get(User, actor.id) if actor is not None and actor.id is not None else None
    if admin is None or not admin.is_admin or admin.disabled:
        raise PermissionError('admins only')
    return admin


def _user(session: Session, user_id) -> User:
    try:
        user_id = int(user_id)
    except (TypeError, ValueError, OverflowError):
        user_id = 0
    user = session.get(User, user_id) if 0 < user_id < 2**63 else None
    if user is None:
        raise AdminError('No such user.')
    return user


def _audit(session: Session, admin: User, action: str, target_type: str, target_id, before: dict,
           after: dict, reason: str) -> None:
    session.add(AuditEntry(actor_id=admin.id, action=action, target_type=target_type, target_id=str(target_id)[:64],
                           before=json.dumps(before, default=str)[:4000], after=json.dumps(after, default=str)[:4000],
                           reason=reason[:REASON_MAX]))


def _reason(reason: str | None, *, required: bool = False) -> str:
    text = ' '.join(str(reason or '').split())
    if required and not text:
        raise AdminError('Give a reason.')
    if len(text) > REASON_MAX:
        raise AdminError(f'Keep the reason under {REASON_MAX} characters.')
    return text


def _id_cursor(cursor: str | None) -> int | None:
    try:
        return paging.id_cursor(cursor)
    except paging.BadCursor as error:
        raise AdminError(str(error)) from None
