"""Video files, served only to the video's owner or an admin, with HTTP Range for seeking."""
from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import FileResponse
from nicegui import app

from services import Services, access

VARIANTS = {'video': ('video_path', 'video/mp4', 'mp4'), 'thumbnail': ('thumbnail_path', 'image/jpeg', 'jpg')}


def create(services: Services) -> None:
    @app.get('/media/videos/{video_id}/{variant}', include_in_schema=False)
    def video_file(video_id: str, variant: str, download: bool = False) -> FileResponse:
        user = services.users.get(app.storage.user.get('user_id'))
        video = services.videos.get(video_id[:64])
        if variant not in VARIANTS or not access.can_view(user, video):
            raise HTTPException(404, 'Not found')  # the same answer for "absent" and "not yours"
        field, media_type, extension = VARIANTS[variant]
        relative = getattr(video, field)
        path = services.storage.path(relative) if relative else None
        if path is None or not path.is_file():
            raise HTTPException(404, 'Not found')
        filename = f'aivideo-{video.id[:8]}.{extension}' if download else None
        return FileResponse(path, media_type=media_type, filename=filename,
                            content_disposition_type='attachment' if download else 'inline',
                            headers={'Cache-Control': 'private, max-age=3600'})
