"""Video files, served only to who may play them (services/access.py), with HTTP Range for seeking."""
from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import FileResponse
from nicegui import app

from models import User
from services import Services, access

VARIANTS = {'video': ('video_path', 'video/mp4', 'mp4'), 'thumbnail': ('thumbnail_path', 'image/jpeg', 'jpg')}


def create(services: Services) -> None:
    @app.get('/media/videos/{video_id}/{variant}', include_in_schema=False)
    def video_file(video_id: str, variant: str, download: bool = False) -> FileResponse:
        user = services.users.get(app.storage.user.get('user_id'))
        response = file_response(services, user, video_id, variant, download)
        if response is None:
            raise HTTPException(404, 'Not found')  # the same answer for "absent" and "not yours"
        return response


def file_response(services: Services, user: User | None, video_id: str, variant: str,
                  download: bool = False) -> FileResponse | None:
    """A video's file for a user who may play it, as a response that answers HTTP Range requests;
    None when there is no such file or it is not the user's to play (the caller answers 404).
    Shared by this route and the API's /api/v1/videos/{id}/content."""
    video = services.videos.get(video_id[:64])
    if variant not in VARIANTS or not access.can_play(user, video):
        return None
    field, media_type, extension = VARIANTS[variant]
    relative = getattr(video, field)
    path = services.storage.path(relative) if relative else None
    if path is None or not path.is_file():
        return None
    filename = f'aivideo-{video.id[:8]}.{extension}' if download else None
    return FileResponse(path, media_type=media_type, filename=filename,
                        content_disposition_type='attachment' if download else 'inline',
                        headers={'Cache-Control': 'private, max-age=3600'})
