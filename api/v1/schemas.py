"""What the API sends and takes: pydantic models, so every shape is in the OpenAPI document."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models import CreditEntry, User, Video, VideoEvent
from services import catalog
from services.videos import PROMPT_MAX

VideoStatus = Literal['queued', 'running', 'completed', 'failed', 'cancelled']
ReviewStatus = Literal['pending', 'approved', 'rejected', 'flagged']


class GenerateRequest(BaseModel):
    """The seed's generate request. `image` is an optional reference image (JPEG, PNG or WebP),
    base64-encoded; with multipart/form-data send it as a file part named `image` instead."""
    model_config = ConfigDict(extra='ignore')

    prompt: str = Field(min_length=1, max_length=PROMPT_MAX * 2)
    model: str = Field(catalog.DEFAULT_MODEL, max_length=64)
    size: str = Field(catalog.DEFAULT_SIZE, max_length=16)
    seconds: int = Field(catalog.DEFAULT_SECONDS, ge=1, le=60)
    image: str | None = Field(None, description='Base64 of the reference image (optional).')


class VideoOut(BaseModel):
    id: str
    video_id: str = Field(description='The same as `id` (the seed\'s clients read this name).')
    status: VideoStatus
    progress: int
    prompt: str
    model: str
    size: str
    seconds: int
    cost: int
    error_code: str | None = None
    error_message: str | None = None
    review_status: ReviewStatus
    review_reason: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stream_url: str
    events_url: str
    video_url: str | None = None
    thumbnail_url: str | None = None

    @classmethod
    def of(cls, video: Video) -> VideoOut:
        base = f'/api/v1/videos/{video.id}'
        done = video.status == 'completed' and video.deleted_at is None
        return cls(id=video.id, video_id=video.id, status=video.status, progress=video.progress, prompt=video.prompt,
                   model=video.model, size=video.size, seconds=video.seconds, cost=video.cost,
                   error_code=video.error_code, error_message=video.error_message,
                   review_status=video.review_status, review_reason=video.review_reason,
                   created_at=video.created_at, started_at=video.started_at, finished_at=video.finished_at,
                   stream_url=f'{base}/stream', events_url=f'{base}/events',
                   video_url=f'{base}/content?variant=video' if done else None,
                   thumbnail_url=f'{base}/content?variant=thumbnail' if done else None)


class VideoPage(BaseModel):
    videos: list[VideoOut]
    next_cursor: str | None = Field(description='Pass as `cursor` for the next page; null on the last one.')


class EventOut(BaseModel):
    """One step of a video's log, as the seed sent it, plus its id (the stream's `id:`)."""
    id: int
    step: int
    message: str
    timestamp: datetime
    progress: int | None = None
    status: str | None = None
    video_url: str | None = None

    @classmethod
    def of(cls, event: VideoEvent) -> EventOut:
        return cls(id=event.id, step=event.step, message=event.message, timestamp=event.created_at,
                   progress=event.progress, status=event.status,
                   video_url=f'/api/v1/videos/{event.video_id}/content?variant=video'
                   if event.status == 'completed' else None)

    def payload(self) -> dict:
        """The seed's stream payload: step, message and timestamp, and the rest where they apply."""
        data = self.model_dump(mode='json', exclude={'id'})
        return {key: value for key, value in data.items() if value is not None or key in ('step', 'message')}


class EventList(BaseModel):
    events: list[EventOut]


class MeOut(BaseModel):
    id: int
    email: str
    name: str
    plan: str
    plan_label: str
    can_generate: bool
    is_admin: bool
    balance: int

    @classmethod
    def of(cls, user: User, balance: int) -> MeOut:
        plan = catalog.plan(user.plan)
        return cls(id=user.id, email=user.email, name=user.name, plan=plan.name, plan_label=plan.label,
                   can_generate=plan.can_generate, is_admin=user.is_admin, balance=balance)


class CreditEntryOut(BaseModel):
    id: int
    delta: int
    kind: str
    video_id: str | None = None
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, entry: CreditEntry) -> CreditEntryOut:
        return cls(id=entry.id, delta=entry.delta, kind=entry.kind, video_id=entry.video_id, reason=entry.reason,
                   created_at=entry.created_at)


class Ledger(BaseModel):
    balance: int
    entries: list[CreditEntryOut]


class ReviewRequest(BaseModel):
    video_ids: list[str] = Field(min_length=1, max_length=100)
    decision: Literal['approved', 'rejected', 'flagged']
    reason: str = Field('', max_length=500)


class ReviewResult(BaseModel):
    changed: int


class GrantRequest(BaseModel):
    amount: int = Field(description='Credits to add; negative to deduct (never below zero).')
    reason: str = Field(min_length=1, max_length=500)


class GrantResult(BaseModel):
    user_id: int
    balance: int


class Health(BaseModel):
    ok: bool
    database: bool
    runner: bool
