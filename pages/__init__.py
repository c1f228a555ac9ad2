"""NiceGUI pages. Each module exposes `create(services)`, which registers its routes."""
from __future__ import annotations

from nicegui import ui

from pages import admin, generate, history, login, profile, video
from services import Services


def create(services: Services) -> None:
    @ui.page('/')
    def index() -> None:
        ui.navigate.to('/generate')

    for module in (login, generate, history, video, admin, profile):
        module.create(services)
