"""Helpers for page tests with NiceGUI's simulated user."""
from nicegui import app
from nicegui.testing import User

from services.videos import VideoRequest
from tests.conftest import finished


def services():
    """The app's own services (built by app.py for this test)."""
    return app.state.services


async def finished_video(email: str, prompt: str = 'A lighthouse in a storm at night', key: str = 'k', **request):
    """A video of `email`'s, made through the app's runner to its end."""
    user_id = services().users.sign_in_local(email).id
    video = await services().videos.submit(user_id, VideoRequest(prompt, **request), key)
    return await finished(services(), video.id)


async def sign_in(user: User, email: str = 'alice@example.com') -> None:
    await user.open('/login')
    user.find(marker='email').type(email)
    user.find(marker='sign-in').click()
    await user.should_see(marker='balance')
