"""The small Prometheus registry: provider calls counted by kind and result, histogram format."""
from __future__ import annotations

import pytest

from services import metrics
from services.providers import ProviderError


class FakeProvider:
    name, label = 'fake', 'Fake'

    async def retrieve(self, job_id: str) -> str:
        if job_id == 'down':
            raise ProviderError('server_error', 'down', transient=True)
        if job_id == 'gone':
            raise ProviderError('not_found', 'gone')
        return job_id


async def test_provider_calls_are_counted_by_kind_and_result() -> None:
    provider = metrics.CountedProvider(FakeProvider())
    before = {result: metrics.PROVIDER_CALLS.value(kind='retrieve', result=result)
              for result in ('ok', 'transient', 'permanent')}
    assert await provider.retrieve('job') == 'job'
    for job_id in ('down', 'gone'):
        with pytest.raises(ProviderError):
            await provider.retrieve(job_id)
    assert provider.label == 'Fake'  # everything else passes through
    for result in ('ok', 'transient', 'permanent'):
        assert metrics.PROVIDER_CALLS.value(kind='retrieve', result=result) == before[result] + 1


def test_the_text_format_has_cumulative_buckets_and_escaped_labels() -> None:
    histogram = metrics.Histogram('test_seconds', 'A test.', buckets=(0.1, 1.0))
    for value in (0.05, 0.5, 0.5, 5.0):
        histogram.observe(value)
    lines = list(histogram.lines())
    assert 'test_seconds_bucket{le="0.1"} 1' in lines and 'test_seconds_bucket{le="1"} 3' in lines
    assert 'test_seconds_bucket{le="+Inf"} 4' in lines and 'test_seconds_count 4' in lines
    counter = metrics.Counter('test_total', 'A test.', ('kind',))
    counter.inc(kind='a"b\\c\nd')
    assert 'test_total{kind="a\\"b\\\\c\\nd"} 1' in list(counter.lines())
    text = metrics.render({'queued': 2, 'completed': 1})
    assert '# TYPE aivideo_videos gauge' in text and 'aivideo_videos{status="queued"} 2' in text


async def test_healthz_answers_503_while_the_runner_is_not_running(services) -> None:
    import httpx
    from fastapi import FastAPI

    import api.v1
    app = FastAPI()
    api.v1.create(app, services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://test') as client:
        down = await client.get('/api/v1/healthz')
        assert down.status_code == 503 and down.json() == {'ok': False, 'database': True, 'runner': False}
        services.runner.start()
        try:
            assert (await client.get('/api/v1/healthz')).status_code == 200
        finally:
            await services.runner.stop()
