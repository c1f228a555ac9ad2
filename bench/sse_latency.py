"""Event latency over the SSE stream: from an event's creation to its arrival at concurrent clients.

Starts the real app (`app.py`, mock provider at test speed, throw-away data folder), makes a user
and an API token through the services, then per round submits `--videos` videos through the API and
opens `--clients` / `--videos` streams on each at once (100 concurrent clients by default), all in
one asyncio process with httpx. For every event created after all the round's streams were open
(so replays and the connection storm are left out), latency = arrival time - the event's
`timestamp` (its `created_at`, set just before the commit; client and server share the clock).
The mock polls at test speed (every 50 ms, a progress event each time) and renders for 3 s. It also checks
that every client got every event once, in order, ending with the terminal one, and prints the
server's own histogram (created -> pushed to subscribers) from /api/v1/metrics.

    .venv/bin/python bench/sse_latency.py
    .venv/bin/python bench/sse_latency.py --clients 100 --videos 10 --rounds 5 --render-seconds 2
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import FAST  # noqa: E402
from tests.live_server import running_app  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--clients', type=int, default=100, help='concurrent stream clients (100)')
    parser.add_argument('--videos', type=int, default=10, help='videos per round; clients are spread over them (10)')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--render-seconds', type=float, default=3.0,
                        help='the mock render (3 s: the streams are all open while it renders)')
    parser.add_argument('--json', type=Path, help='write raw samples and the summary here')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix='sse-bench-') as folder:
        data = Path(folder) / 'data'
        env = {**FAST, 'MOCK_RENDER_SECONDS': str(args.render_seconds), 'API_GENERATE_PER_MINUTE': '0',
               'MAX_CONCURRENT_JOBS': str(max(20, args.videos))}
        with running_app(data, **env) as url:
            token = make_token(data)
            samples, problems = [], []
            limits = httpx.Limits(max_connections=args.clients + 20, max_keepalive_connections=0)  # one connection per stream, as EventSource
            async with httpx.AsyncClient(base_url=url, headers={'Authorization': f'Bearer {token}'}, timeout=60,
                                         limits=limits) as client:
                for round_number in range(args.rounds):
                    got, bad = await one_round(client, args.videos, args.clients)
                    samples += got
                    problems += bad
                    print(f'round {round_number + 1}: {len(got)} live deliveries', flush=True)
                server_histogram = (await client.get('/api/v1/metrics')).text
            log_lines = [line for path in Path(folder).glob('app-*.log')
                         for line in path.read_text(errors='replace').splitlines()
                         if 'WARNING' in line or 'ERROR' in line]
    report(args, samples, problems, server_histogram, log_lines)


def make_token(data: Path) -> str:
    os.environ.update({'DATA_DIR': str(data)})
    from services import Services
    from services.config import Settings
    services = Services.build(Settings(data_dir=data))
    try:
        user = services.users.sign_in_local('bench@example.com')
        services.credits.grant(user.id, 10_000_000, 'benchmark')
        return services.tokens.create(user.id, 'bench').secret
    finally:
        services.db.dispose()


async def one_round(client: httpx.AsyncClient, videos: int, clients: int) -> tuple[list[float], list[str]]:
    answers = await asyncio.gather(*(client.post('/api/v1/videos/generate',
                                                 json={'prompt': f'Benchmark video number {n}, a calm sea'})
                                     for n in range(videos)))
    ids = [answer.json()['id'] for answer in answers]
    opened: list[float] = []
    results = await asyncio.gather(*(listen(client, ids[n % videos], opened) for n in range(clients)))
    all_open = max(opened)  # count only what was created once every client was listening
    samples, problems = [], []
    for video_id, (deliveries, event_ids) in zip((ids[n % videos] for n in range(clients)), results):
        samples += [(arrived - created) * 1000 for created, arrived in deliveries if created >= all_open]
        stored = [e['id'] for e in (await client.get(f'/api/v1/videos/{video_id}/events')).json()['events']]
        if event_ids != stored:
            problems.append(f'{video_id}: got {event_ids}, stored {stored}')
    return samples, problems


async def listen(client: httpx.AsyncClient, video_id: str,
                 opened: list[float]) -> tuple[list[tuple[float, float]], list[int]]:
    deliveries, event_ids, current = [], [], {}
    async with client.stream('GET', f'/api/v1/videos/{video_id}/stream') as stream:
        opened.append(time.time())
        async for line in stream.aiter_lines():
            if line:
                name, _, value = line.partition(':')
                current[name] = value.lstrip(' ')
                continue
            if 'data' in current:
                arrived = time.time()
                payload = json.loads(current['data'])
                created = datetime.fromisoformat(payload['timestamp'].replace('Z', '+00:00')).timestamp()
                event_ids.append(int(current['id']))
                deliveries.append((created, arrived))
            current = {}
    return deliveries, event_ids


def report(args, samples: list[float], problems: list[str], server_metrics: str, log_lines: list[str]) -> None:
    def pct(p: float) -> float:
        ordered = sorted(samples)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    print(f'\nmachine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; {args.clients} concurrent clients over '
          f'{args.videos} videos x {args.rounds} rounds, mock render {args.render_seconds} s')
    if samples:
        print(f'event created -> arrived at client: n={len(samples)}  p50={pct(50):.1f} ms  p90={pct(90):.1f} ms  '
              f'p99={pct(99):.1f} ms  max={max(samples):.1f} ms  mean={statistics.fmean(samples):.1f} ms')
    print(f'every client got every event once, in order: {"yes" if not problems else "NO"}')
    for problem in problems[:5]:
        print('  ', problem)
    buckets = [(line.split('le="')[1].split('"')[0], int(line.rsplit(' ', 1)[1])) for line in server_metrics.splitlines()
               if line.startswith('aivideo_event_delivery_seconds_bucket')]
    total = buckets[-1][1] if buckets else 0
    if total:
        def bound(p: float) -> str:
            return next(le for le, count in buckets if count >= p / 100 * total)
        print(f'server side, event created -> pushed to subscribers (histogram bucket bounds): n={total}  '
              f'p50<={bound(50)} s  p90<={bound(90)} s  p99<={bound(99)} s')
    print(f'app log warnings/errors: {len(log_lines)}')
    for line in log_lines[:10]:
        print('  ', line)
    if args.json:
        args.json.write_text(json.dumps({'samples_ms': samples, 'problems': problems,
                                         'p50': pct(50) if samples else None, 'p99': pct(99) if samples else None}))


if __name__ == '__main__':
    asyncio.run(main())
