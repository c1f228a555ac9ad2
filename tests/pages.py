"""Helpers for page tests with NiceGUI's simulated user."""
from nicegui.testing import User


async def sign_in(user: User, email: str = 'alice@example.com') -> None:
    await user.open('/login')
    user.find(marker='email').type(email)
    user.find(marker='sign-in').click()
    await user.should_see(marker='balance')
