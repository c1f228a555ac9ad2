"""For operators and their tools: a health check for load balancers and Prometheus metrics."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from api.v1.schemas import Health
from services import Services, metrics

PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8'


def router(services: Services) -> APIRouter:
    routes = APIRouter(tags=['operations'])

    @routes.get('/healthz', response_model=Health, responses={503: {'model': Health, 'description': 'Unhealthy'}})
    async def healthz() -> JSONResponse:
        """200 when the database answers and this process's job runner is alive; 503 otherwise."""
        database = await services.db.call(metrics.database_reachable, services.db)
        runner = services.runner.alive
        health = Health(ok=database and runner, database=database, runner=runner)
        return JSONResponse(health.model_dump(), status_code=200 if health.ok else 503,
                            headers={'Cache-Control': 'no-store'})

    @routes.get('/metrics', response_class=PlainTextResponse,
                responses={200: {'content': {'text/plain': {'schema': {'type': 'string'}}}}})
    async def prometheus_metrics() -> PlainTextResponse:
        """Prometheus text format: videos by status, provider calls by kind and result, and the
        latency from an event's creation to its push to live subscribers."""
        counts = await services.db.call(metrics.video_counts, services.db)
        return PlainTextResponse(metrics.render(counts), media_type=PROMETHEUS_TEXT)

    return routes
