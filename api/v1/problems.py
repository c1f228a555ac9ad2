"""Errors of the HTTP API as problem details (RFC 9457, `application/problem+json`).

Every answer that is not a success carries `type`, `title`, `status`, `detail` and a stable
`code` that scripts can switch on. The handlers apply to paths under /api/ only; pages keep
NiceGUI's own error pages.
"""
from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
API_PREFIX = '/api/'
MEDIA_TYPE = 'application/problem+json'
TYPE_BASE = 'urn:aivideo-studio:problem:'

# The codes used for plain HTTP errors that do not come from our own routes.
STATUS_CODES = {400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found',
                405: 'method_not_allowed', 409: 'conflict', 413: 'request_too_large', 415: 'unsupported_media_type',
                422: 'invalid_request', 429: 'rate_limited', 500: 'internal_error', 503: 'unavailable'}


class ApiError(Exception):
    """Raise from a route to answer with a problem: `ApiError(404, 'video_not_found', 'No such video.')`."""

    def __init__(self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extra) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers, self.extra = status, code, detail, headers or {}, extra


def problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra) -> JSONResponse:
    body = {'type': TYPE_BASE + code, 'title': HTTPStatus(status).phrase, 'status': status, 'detail': detail,
            'code': code, **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def not_found() -> ApiError:
    """The one answer for "there is no such video" and "it is not yours": the caller learns nothing."""
    return ApiError(404, 'video_not_found', 'There is no such video.')


# A description of the problem body for the OpenAPI document.
PROBLEM_SCHEMA = {
    'type': 'object',
    'properties': {'type': {'type': 'string'}, 'title': {'type': 'string'}, 'status': {'type': 'integer'},
                   'detail': {'type': 'string'}, 'code': {'type': 'string'}},
    'required': ['type', 'title', 'status', 'detail', 'code'],
}


def responses(*statuses: int) -> dict:
    """OpenAPI `responses` entries for the problems a route may answer with."""
    return {status: {'description': HTTPStatus(status).phrase,
                     'content': {MEDIA_TYPE: {'schema': PROBLEM_SCHEMA}}} for status in statuses}


def install(app: FastAPI) -> None:
    """Answer errors under /api/ as problems; leave every other path to the handlers it had."""
    if ApiError in app.exception_handlers:  # installed already (the app module ran again, as in tests)
        return
    previous_http = app.exception_handlers.get(StarletteHTTPException)
    previous_404 = app.exception_handlers.get(404)
    previous_validation = app.exception_handlers.get(RequestValidationError)
    previous_500 = app.exception_handlers.get(Exception)

    async def api_error(request: Request, error: ApiError) -> Response:
        return problem(error.status, error.code, error.detail, error.headers, **error.extra)

    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if not request.url.path.startswith(API_PREFIX):
            fallback = previous_404 if error.status_code == 404 and previous_404 else previous_http
            return await fallback(request, error)
        status = error.status_code if 400 <= error.status_code < 600 else 500
        detail = error.detail if isinstance(error.detail, str) else HTTPStatus(status).phrase
        return problem(status, STATUS_CODES.get(status, 'error'), detail, dict(error.headers or {}))

    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        if not request.url.path.startswith(API_PREFIX):
            return await previous_validation(request, error)
        return invalid_request(error.errors())

    async def server_error(request: Request, error: Exception) -> Response:
        if not request.url.path.startswith(API_PREFIX):
            if previous_500 is None:
                raise error
            return await previous_500(request, error)
        log.exception('API request %s %s failed', request.method, request.url.path, exc_info=error)
        return problem(500, 'internal_error', 'Something went wrong on our side.')

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(404, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, server_error)


def invalid_request(errors: list) -> JSONResponse:
    """422 for input that does not fit the schema; names the fields, never echoes the input."""
    fields = [{'field': '.'.join(str(part) for part in e.get('loc', ()) if part not in ('body', 'query', 'path',
                                                                                         'header')),
               'message': str(e.get('msg', ''))[:200]} for e in errors[:20]]
    first = fields[0] if fields else {'field': '', 'message': 'The request is not valid.'}
    detail = f"{first['field']}: {first['message']}" if first['field'] else first['message']
    return problem(422, 'invalid_request', detail, errors=fields)
