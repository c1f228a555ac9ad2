"""Admin endpoints: review videos, grant credits, list videos by review state.

Every rule (and its audit entry) lives in services/admin.py; these routes only translate.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Depends, Path, Query

from api.v1.problems import ApiError, responses
from api.v1.schemas import GrantRequest, GrantResult, ReviewRequest, ReviewResult, ReviewStatus, VideoOut, VideoPage
from models import User
from services import Services
from services.admin import AdminError

MAX_USER_ID = 2 ** 31 - 1


def router(services: Services, api_admin) -> APIRouter:
    routes = APIRouter(prefix='/admin', tags=['admin'])

    @routes.get('/videos', response_model=VideoPage, responses=responses(401, 403, 422))
    async def videos_by_review(admin: User = Depends(api_admin), review: ReviewStatus = 'pending',
                               model: str | None = Query(None, max_length=64),
                               search: str | None = Query(None, max_length=200),
                               cursor: str | None = Query(None, max_length=200),
                               limit: int = Query(24, ge=1, le=100)) -> VideoPage:
        """Completed videos of every user in one review state, newest first."""
        with admin_errors():
            videos, next_cursor = await services.admin.review_page(admin, review, model, search, cursor, limit)
        return VideoPage(videos=[VideoOut.of(video) for video in videos], next_cursor=next_cursor)

    @routes.post('/videos/review', response_model=ReviewResult, responses=responses(401, 403, 422))
    async def review_videos(body: ReviewRequest, admin: User = Depends(api_admin)) -> ReviewResult:
        """Approve, reject or flag completed videos (a reason is required unless approving)."""
        with admin_errors():
            changed = await services.admin.review(admin, body.video_ids, body.decision, body.reason)
        return ReviewResult(changed=changed)

    @routes.post('/users/{user_id}/credits', response_model=GrantResult, responses=responses(401, 403, 404, 422))
    async def grant_credits(body: GrantRequest, user_id: int = Path(ge=1, le=MAX_USER_ID),
                            admin: User = Depends(api_admin)) -> GrantResult:
        """Add credits to a user's balance (or deduct them with a negative amount)."""
        if await services.db.call(services.users.get, user_id) is None:
            raise ApiError(404, 'user_not_found', 'There is no such user.')
        with admin_errors():
            balance = await services.admin.grant_credits(admin, user_id, body.amount, body.reason)
        return GrantResult(user_id=user_id, balance=balance)

    return routes


@contextmanager
def admin_errors() -> Iterator[None]:
    """Translate the admin service's refusals into problems."""
    try:
        yield
    except PermissionError:
        raise ApiError(403, 'admin_only', 'Only administrators may do this.') from None
    except AdminError as error:
        raise ApiError(422, 'invalid_admin_request', str(error)) from None
