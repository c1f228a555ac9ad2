"""The one place that decides who may see or act on a video: its owner or an admin; and who may
play it: a video an admin rejected plays (and shows its thumbnail) for admins only."""
from __future__ import annotations

import logging

from models import User, Video

log = logging.getLogger(__name__)


def can_view(user: User | None, video: Video | None) -> bool:
    allowed = user is not None and video is not None and not user.disabled \
        and (user.is_admin or video.user_id == user.id)
    if not allowed and video is not None:
        log.info('denied: user %s on video %s', user.id if user else None, video.id)
    return allowed


def can_play(user: User | None, video: Video | None) -> bool:
    """May this user watch or download the video's files (video and thumbnail)?"""
    if not can_view(user, video):
        return False
    return user.is_admin or video.review_status != 'rejected'
