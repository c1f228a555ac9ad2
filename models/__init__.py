"""The one schema: SQLModel tables shared by services, pages and migrations."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class User(SQLModel, table=True):
    """A person, identified by issuer + subject: ('local', email) in local mode, or the OpenID
    provider's issuer and `sub` claim with Google (emails can change hands; subjects do not)."""
    __table_args__ = (UniqueConstraint('auth_issuer', 'auth_subject', name='uq_user_identity'),)

    id: int | None = Field(default=None, primary_key=True)
    auth_issuer: str = Field(default='local', max_length=200)
    auth_subject: str = Field(max_length=255)
    email: str = Field(index=True, max_length=254)
    name: str = Field(default='', max_length=200)
    plan: str = Field(default='free', max_length=32)
    is_admin: bool = False
    disabled: bool = False
    credits: int = 0  # cached balance; always equals SUM(CreditEntry.delta) and never negative
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class CreditEntry(SQLModel, table=True):
    """Append-only ledger. One `reserve` and at most one `refund` per video, by constraint."""
    __table_args__ = (UniqueConstraint('video_id', 'kind', name='uq_credit_video_kind'),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key='user.id', index=True)
    delta: int
    kind: str = Field(max_length=16)  # grant | reserve | refund | adjust
    video_id: str | None = Field(default=None, foreign_key='video.id')
    reason: str = Field(default='', max_length=500)
    actor_id: int | None = Field(default=None, foreign_key='user.id')
    created_at: datetime = Field(default_factory=utcnow)


class Video(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint('user_id', 'idempotency_key', name='uq_video_user_idempotency'),
        Index('ix_video_user_created', 'user_id', 'created_at'),
        Index('ix_video_due', 'status', 'lease_expires_at'),
        # One render is adopted by one video at most, even when reconciling a lost create.
        UniqueConstraint('provider_job_id', name='uq_video_provider_job'),
        Index('ix_video_created', 'created_at'),
        Index('ix_video_status_created', 'status', 'created_at'),
        Index('ix_video_review_created', 'review_status', 'created_at'),
        Index('ix_video_queue_created', 'status', 'review_status', 'created_at'),  # the review queue
    )

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key='user.id')
    idempotency_key: str = Field(max_length=64)
    prompt: str = Field(max_length=2000)
    model: str = Field(max_length=64)
    size: str = Field(max_length=16)
    seconds: int
    cost: int
    reference_path: str | None = None  # relative to DATA_DIR, the user's validated image
    status: str = Field(default='queued', max_length=16)  # queued | running | completed | failed | cancelled
    phase: str = Field(default='validate', max_length=16)  # the next step to do; see services/jobs.py
    progress: int = 0
    provider: str = Field(default='mock', max_length=16)
    provider_job_id: str | None = Field(default=None, max_length=128)
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, max_length=1000)
    video_path: str | None = None
    thumbnail_path: str | None = None
    attempts: int = 0  # times a runner claimed it
    retries: int = 0  # transient provider failures so far (create and download)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    submitted_at: datetime | None = None
    finished_at: datetime | None = None
    # What the request looked like, so a repeated idempotency key with another body is refused.
    request_hash: str | None = Field(default=None, max_length=64)
    remix_of: str | None = Field(default=None, max_length=32)  # the video this one remixes
    review_status: str = Field(default='pending', max_length=16)  # pending | approved | rejected | flagged
    review_reason: str | None = Field(default=None, max_length=500)
    reviewed_by: int | None = Field(default=None, foreign_key='user.id')
    reviewed_at: datetime | None = None
    deleted_at: datetime | None = None  # deleted by its owner: files gone, row kept for the ledger

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


TERMINAL_STATUSES = ('completed', 'failed', 'cancelled')


class VideoEvent(SQLModel, table=True):
    """One step of a video's log. The database is the truth; live pushes only mirror it."""
    __table_args__ = (Index('ix_event_video_id', 'video_id', 'id'),)

    id: int | None = Field(default=None, primary_key=True)
    video_id: str = Field(foreign_key='video.id')
    step: int
    message: str = Field(max_length=1000)
    progress: int | None = None
    status: str | None = Field(default=None, max_length=16)  # set on terminal events
    created_at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """A personal access token for the HTTP API. Only its SHA-256 is stored; the token itself is
    shown once, when it is made."""
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key='user.id', index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # the first characters, to tell tokens apart in lists
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class AuditEntry(SQLModel, table=True):
    """Every admin action: who did what to what, when, and the state before and after."""
    __table_args__ = (Index('ix_audit_created', 'created_at'),)

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int = Field(foreign_key='user.id')
    action: str = Field(max_length=64)  # e.g. credits.grant, user.plan, video.review, video.cancel
    target_type: str = Field(max_length=32)  # user | video
    target_id: str = Field(max_length=64)
    before: str = Field(default='{}', max_length=4000)  # JSON
    after: str = Field(default='{}', max_length=4000)  # JSON
    reason: str = Field(default='', max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
