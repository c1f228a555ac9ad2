"""The credit ledger: append-only entries plus a cached balance that never goes negative.

Every change writes a `CreditEntry` and moves `User.credits` by the same delta in the same
transaction, so `SUM(delta) == credits` for every user at all times. A refund is unique per
video by a database constraint, so no code path can pay one back twice.
"""
from __future__ import annotations

import logging

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import CreditEntry, User
from services.db import Database

log = logging.getLogger(__name__)


class InsufficientCredits(Exception):
    pass


def reserve(session: Session, user_id: int, video_id: str, cost: int) -> None:
    """Debit `cost` for a video inside the caller's transaction, or raise InsufficientCredits."""
    result = session.exec(
        update(User).where(User.id == user_id, User.credits >= cost)
        .values(credits=User.credits - cost))
    if result.rowcount != 1:
        raise InsufficientCredits
    session.add(CreditEntry(user_id=user_id, delta=-cost, kind='reserve', video_id=video_id,
                            reason='Video generation'))


def refund(session: Session, video_id: str, reason: str) -> int:
    """Give a video's reserved credits back inside the caller's transaction; returns the amount,
    or 0 if there was nothing to refund or it was refunded before. The unique (video_id, kind)
    constraint is the last word: a racing second refund fails its whole transaction."""
    reserved = session.exec(select(CreditEntry).where(
        CreditEntry.video_id == video_id, CreditEntry.kind == 'reserve')).first()
    if reserved is None or session.exec(select(CreditEntry.id).where(
            CreditEntry.video_id == video_id, CreditEntry.kind == 'refund')).first() is not None:
        return 0
    session.add(CreditEntry(user_id=reserved.user_id, delta=-reserved.delta, kind='refund',
                            video_id=video_id, reason=reason[:500]))
    session.flush()
    session.exec(update(User).where(User.id == reserved.user_id).values(credits=User.credits - reserved.delta))
    return -reserved.delta


def grant(session: Session, user_id: int, amount: int, reason: str, actor_id: int | None = None) -> None:
    """Add credits (or, with a negative amount, deduct them, never below zero) by hand."""
    condition = [User.id == user_id]
    if amount < 0:
        condition.append(User.credits >= -amount)
    result = session.exec(update(User).where(*condition).values(credits=User.credits + amount))
    if result.rowcount != 1:
        raise InsufficientCredits
    session.add(CreditEntry(user_id=user_id, delta=amount, kind='grant' if amount >= 0 else 'adjust',
                            reason=reason[:500], actor_id=actor_id))


class Credits:
    """Read-side queries and stand-alone operations on the ledger."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def grant(self, user_id: int, amount: int, reason: str, actor_id: int | None = None) -> None:
        with self.db.session() as session:
            grant(session, user_id, amount, reason, actor_id)

    def refund(self, video_id: str, reason: str) -> int:
        try:
            with self.db.session() as session:
                return refund(session, video_id, reason)
        except IntegrityError:
            return 0

    def balance(self, user_id: int) -> int:
        with self.db.session() as session:
            user = session.get(User, user_id)
            return user.credits if user else 0

    def ledger(self, user_id: int, limit: int = 50) -> list[CreditEntry]:
        with self.db.session() as session:
            return list(session.exec(select(CreditEntry).where(CreditEntry.user_id == user_id)
                                     .order_by(CreditEntry.id.desc()).limit(limit)))

    def refunded_amount(self, video_id: str) -> int:
        with self.db.session() as session:
            entry = session.exec(select(CreditEntry).where(
                CreditEntry.video_id == video_id, CreditEntry.kind == 'refund')).first()
            return entry.delta if entry else 0

    def unbalanced_users(self) -> list[int]:
        """Users whose cached balance differs from their ledger, or is negative (should be none)."""
        with self.db.session() as session:
            sums = select(CreditEntry.user_id, func.sum(CreditEntry.delta).label('total')) \
                .group_by(CreditEntry.user_id).subquery()
            rows = session.exec(select(User.id, User.credits, sums.c.total)
                                .join(sums, sums.c.user_id == User.id, isouter=True))
            return [uid for uid, credits, total in rows if credits != (total or 0) or credits < 0]
