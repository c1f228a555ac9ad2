"""History and admin lists with a large table: 100,000 videos (10,000 of them one user's),
1,000 users and 100,000 audit entries, inserted in bulk with SQLAlchemy Core.

Measures
  query         Videos.page for the big user's first page (plain, by status, by prompt search),
                in-process, N runs each
  served        HTTP GET /history of the real app (a subprocess) signed in as the big user: the
                page builder plus its query, as the browser's first request sees it
  admin walk    every page of the review queue, the jobs list, the users list and the audit log
                with the keyset cursor (100 rows a page), timing each page; RSS before and after
                shows that the rows were never all loaded at once

Run from the repository root:  .venv/bin/python bench/history_load.py
    .venv/bin/python bench/history_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import AuditEntry, User, Video, utcnow  # noqa: E402
from services import Services  # noqa: E402
from services.config import Settings  # noqa: E402
from tests.live_server import running_app  # noqa: E402

STATUSES = ['completed'] * 7 + ['failed'] * 2 + ['cancelled']  # nothing the runner would pick up
WORDS = 'lighthouse storm kite river forest city neon desert ocean mountain cat robot train snow'.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--videos', type=int, default=100_000)
    parser.add_argument('--user-videos', type=int, default=10_000)
    parser.add_argument('--users', type=int, default=1_000)
    parser.add_argument('--audit', type=int, default=100_000)
    parser.add_argument('--runs', type=int, default=50)
    parser.add_argument('--database-url', default='')
    parser.add_argument('--json', default='')
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix='history-bench-')) / 'data'
    os.environ['DATA_DIR'] = str(data_dir)
    schema = None
    if args.database_url:
        schema = f'bench_{uuid.uuid4().hex[:10]}'
        with _pg_admin(args.database_url) as admin:
            admin.execute(f'CREATE SCHEMA {schema}')
        os.environ['DATABASE_URL'] = f'{args.database_url}?options=-csearch_path%3D{schema}'
    try:
        results = run(args, data_dir)
    finally:
        if schema:
            with _pg_admin(args.database_url) as admin:
                admin.execute(f'DROP SCHEMA {schema} CASCADE')
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def run(args, data_dir: Path) -> dict:
    settings = Settings()
    services = Services.build(settings)
    started = time.perf_counter()
    big_user, admin = fill(services, args)
    results = {'database': 'postgresql' if not services.db.is_sqlite else 'sqlite', 'videos': args.videos,
               'user_videos': args.user_videos, 'users': args.users, 'audit_entries': args.audit,
               'fill_seconds': round(time.perf_counter() - started, 1)}

    queries = {
        'first page': {},
        'first page, status=failed': {'status': 'failed'},
        'first page, model=sora-2-pro': {'model': 'sora-2-pro'},
        'first page, search "neon"': {'search': 'neon'},
        'first page, search with no match': {'search': 'no such words anywhere'},
    }
    results['query_ms'] = {name: summary(timed(lambda f=filters: services.videos.page(user_id=big_user, limit=24, **f),
                                               args.runs)) for name, filters in queries.items()}
    _, cursor = services.videos.page(user_id=big_user, limit=24)
    for _ in range(200):  # page 200 of the user's history
        _, cursor = services.videos.page(user_id=big_user, limit=24, cursor=cursor)
    results['query_ms']['page 201'] = summary(timed(
        lambda: services.videos.page(user_id=big_user, limit=24, cursor=cursor), args.runs))

    rss_before = rss_mb()
    results['admin_walk'] = asyncio.run(walk_admin_lists(services, admin))
    results['rss_mb'] = {'before_walk': rss_before, 'after_walk': rss_mb()}
    ticket = services.users.ticket(big_user)
    services.db.dispose()

    env = {'DATABASE_URL': os.environ.get('DATABASE_URL', ''), 'STORAGE_SECRET': settings.storage_secret}
    with running_app(data_dir, **{k: v for k, v in env.items() if v}) as url:
        with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as http:
            assert http.get(f'/auth/local?ticket={ticket}').status_code in (302, 303, 307)
            for _ in range(3):  # warm up
                assert http.get('/history').status_code == 200
            samples = []
            for _ in range(args.runs):
                begin = time.perf_counter()
                response = http.get('/history')
                samples.append((time.perf_counter() - begin) * 1000)
                assert response.status_code == 200 and 'load-more' in response.text or 'Load more' in response.text
            results['served_history_ms'] = summary(samples)
            results['served_history_samples_ms'] = [round(sample, 1) for sample in samples]
    return results


def fill(services: Services, args) -> tuple[int, int]:
    """Users, videos and audit entries in bulk; returns the big user's and an admin's id."""
    now = utcnow()
    rng = random.Random(7)
    with services.db.engine.begin() as connection:
        connection.execute(insert(User.__table__), [
            {'auth_issuer': 'local', 'auth_subject': f'user{n}@example.com', 'email': f'user{n}@example.com',
             'name': f'user {n}', 'plan': 'standard', 'is_admin': n == 1, 'disabled': False, 'credits': 0,
             'created_at': now - timedelta(minutes=n)} for n in range(args.users)])
        ids = [row[0] for row in connection.execute(text('SELECT id FROM "user" ORDER BY id'))]
        big_user, admin = ids[0], ids[1]
        batch = []
        for n in range(args.videos):
            status = rng.choice(STATUSES)
            model = 'sora-2' if rng.random() < 0.8 else 'sora-2-pro'
            created = now - timedelta(seconds=n * 30 + rng.random())
            batch.append({
                'id': uuid.uuid4().hex, 'user_id': big_user if n % (args.videos // args.user_videos) == 0
                else rng.choice(ids[1:]), 'idempotency_key': uuid.uuid4().hex,
                'prompt': ' '.join(rng.choice(WORDS) for _ in range(12)), 'model': model, 'size': '720x1280',
                'seconds': 4, 'cost': 100, 'status': status, 'phase': 'done', 'progress': 100,
                'provider': 'mock', 'attempts': 1, 'retries': 0, 'created_at': created,
                'finished_at': created + timedelta(seconds=40 + rng.random() * 60),
                'error_code': 'moderation_blocked' if status == 'failed' else None,
                'error_message': 'Blocked.' if status == 'failed' else None,
                'review_status': 'pending', 'video_path': None, 'thumbnail_path': None})
            if len(batch) == 10_000:
                connection.execute(insert(Video.__table__), batch)
                batch = []
        if batch:
            connection.execute(insert(Video.__table__), batch)
        for start in range(0, args.audit, 10_000):
            connection.execute(insert(AuditEntry.__table__), [
                {'actor_id': admin, 'action': 'video.review', 'target_type': 'video', 'target_id': str(n),
                 'before': '{}', 'after': '{"review_status": "approved"}', 'reason': 'bench',
                 'created_at': now - timedelta(seconds=n)} for n in range(start, min(start + 10_000, args.audit))])
    if not services.db.is_sqlite:  # what autovacuum does soon after a bulk load in production
        with services.db.engine.connect().execution_options(isolation_level='AUTOCOMMIT') as connection:
            connection.execute(text('ANALYZE'))
    return big_user, admin


async def walk_admin_lists(services: Services, admin_id: int) -> dict:
    admin = services.users.get(admin_id)
    lists = {
        'review queue (pending)': lambda cursor: services.admin.review_page(admin, cursor=cursor, limit=100),
        'jobs (queued, running, failed)': lambda cursor: services.admin.jobs_page(admin, cursor=cursor, limit=100),
        'users': lambda cursor: services.admin.users_page(admin, cursor=cursor, limit=100),
        'audit log': lambda cursor: services.admin.audit_page(admin, cursor=cursor, limit=100),
    }
    results = {}
    for name, fetch in lists.items():
        cursor, rows, samples = None, 0, []
        while True:
            begin = time.perf_counter()
            page, cursor = await fetch(cursor)
            samples.append((time.perf_counter() - begin) * 1000)
            rows += len(page)
            if cursor is None:
                break
        results[name] = {'rows': rows, 'pages': len(samples), 'page_ms': summary(samples)}
    return results


def timed(fn, runs: int) -> list[float]:
    fn()
    samples = []
    for _ in range(runs):
        begin = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - begin) * 1000)
    return samples


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    rank = lambda p: ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]  # noqa: E731
    return {'n': len(ordered), 'p50': round(rank(50), 1), 'p90': round(rank(90), 1), 'p99': round(rank(99), 1),
            'max': round(ordered[-1], 1)}


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class _pg_admin:
    def __init__(self, url: str) -> None:
        import psycopg
        self.connection = psycopg.connect(url.replace('+psycopg', ''), autocommit=True)

    def __enter__(self):
        return self.connection

    def __exit__(self, *exc) -> None:
        self.connection.close()


if __name__ == '__main__':
    main()
