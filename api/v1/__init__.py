"""The HTTP API, version 1, under /api/v1: for scripts and integrations.

Authenticated with personal API tokens (`Authorization: Bearer`, made on the Profile page);
errors are problem details (api/v1/problems.py); the OpenAPI document is served at
/openapi.json and lists these routes only (the pages are not an API).
"""
from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from api.v1 import account, admin, ops, problems, stream, videos
from api.v1.auth import dependencies
from services import Services, metrics

PREFIX = '/api/v1'
OPENAPI_PATH = '/openapi.json'


def create(app: FastAPI, services: Services) -> None:
    api_user, stream_user, api_admin = dependencies(services)
    api = APIRouter(prefix=PREFIX)
    api.include_router(videos.router(services, api_user, stream_user))
    api.include_router(stream.router(services, stream_user))
    api.include_router(account.router(services, api_user))
    api.include_router(admin.router(services, api_admin))
    api.include_router(ops.router(services))

    @api.api_route('/{path:path}', methods=['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], include_in_schema=False)
    async def unknown(path: str) -> None:
        raise problems.ApiError(404, 'not_found', 'There is no such API endpoint.')

    app.include_router(api)
    problems.install(app)
    services.events.subscribe(None, metrics.observe_delivery)  # every pushed event's delivery latency
    document: dict = {}

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi() -> dict:
        if not document:
            full = get_openapi(title='AIVideo Studio API', version='1.0.0', routes=app.routes, description=__doc__)
            full['paths'] = {path: item for path, item in full['paths'].items() if path.startswith(PREFIX)}
            document.update(full)
        return document
