"""Who is calling: a personal API token as `Authorization: Bearer <token>` (services/tokens.py).

The stream endpoint alone also takes `?token=`, because a browser's EventSource cannot send
headers; everywhere else a token in the URL would end up in logs and histories.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable

from fastapi import Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.v1.problems import ApiError
from models import User
from services import Services

bearer = HTTPBearer(auto_error=False, description='A personal API token, made on the Profile page.')


def unauthorized(detail: str = 'Send a valid API token as "Authorization: Bearer <token>".') -> ApiError:
    return ApiError(401, 'unauthorized', detail, headers={'WWW-Authenticate': 'Bearer'})


def dependencies(services: Services) -> tuple[Callable, Callable, Callable]:
    """The route dependencies: (user from the header, user from the header or ?token=, admin)."""

    async def authenticate(secret: str | None) -> User:
        user = await services.db.call(services.tokens.authenticate, secret) if secret else None
        if user is None:
            raise unauthorized() if not secret else unauthorized('This API token is not valid or was revoked.')
        return user

    async def api_user(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> User:
        return await authenticate(credentials.credentials if credentials else None)

    async def stream_user(credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                          token: str | None = Query(None, max_length=200,
                                                    description='The API token, for EventSource clients '
                                                                'that cannot send headers.')) -> User:
        return await authenticate(credentials.credentials if credentials else token)

    async def api_admin(user: User = Depends(api_user)) -> User:
        if not await services.db.call(services.admin.is_admin, user):
            raise ApiError(403, 'admin_only', 'Only administrators may do this.')
        return user

    return api_user, stream_user, api_admin


class RateLimit:
    """At most `per_minute` events per key in any sliding minute, in this process (0: no limit)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[object, deque[float]] = defaultdict(deque)

    def take(self, key: object) -> float | None:
        """Count one event; None when allowed, else the seconds until the next one would be."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        seen = self._seen[key]
        while seen and seen[0] <= now - 60:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return max(1, math.ceil(seen[0] + 60 - now))
        seen.append(now)
        return None
