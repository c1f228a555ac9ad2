"""Engine load: N concurrent videos through the real runner in one process, against the emulator.

The engine is built as the app builds it (`Services.build(Settings(...))`), in a throw-away
DATA_DIR (SQLite there by default, or `--database-url`), with VIDEO_PROVIDER=openai pointed at the
local Videos API emulator (tests/emulator.py) and MAX_CONCURRENT_JOBS=N. The emulator runs in a
separate process, so its CPU does not count against this event loop; the bench reads its counters
from `GET /_emulator/stats`. N videos (sora-2, 720x1280, 4 s: 100 credits) are submitted for
ceil(N/10) users (1,000 sign-up credits each), then the runner is started and the bench waits until
every video is terminal. Downloads are real HTTP transfers of a real MP4 and JPEG (the emulator
renders its clip once, before it serves), written to DATA_DIR like in production.

Measured, from the runner's start until the last video is terminal:
  event-loop lag   a coroutine sleeps 10 ms in a loop and records actual - expected delay
  memory           peak RSS (getrusage ru_maxrss) and VmRSS from /proc/self/status, sampled
  wall time        and per video: (finished_at - created_at) - render_seconds, the engine's overhead
  emulator         creates (must equal N), retrieve calls per video, content downloads
  outcome          completed / failed, and the ledger check credits.unbalanced_users() == []

With a PostgreSQL `--database-url` the bench works in a fresh schema of its own (created, put on
the search_path with `options=-csearch_path=...`, and dropped afterwards), so it never claims
anyone else's queued videos.

Run from the repository root:  .venv/bin/python bench/engine_load.py --videos 1000
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VIDEOS_PER_USER = 10  # 1,000 sign-up credits, 100 per 4 s sora-2 video
PROMPT = 'A paper boat drifting down a rain gutter in the city, take {}'
LAG_INTERVAL = 0.010
STEP_NAMES = {3: 'create', 6: 'download', 5: 'poll'}  # services.events step numbers of retried phases
TARGET_LAG_P99_MS = 100.0
TARGET_RSS_MB = 500.0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- the emulator, in its own process ---------------------------------------------------------------

def serve_emulator(port: int, render_seconds: float, poll_after_ms: int, backlog: int) -> None:
    """Child process: tests.emulator with the bench's poll-after (its own CLI has no such option),
    with the clip rendered before it serves so that no download waits on ffmpeg."""
    from aiohttp import web

    from services import catalog
    from tests.emulator import Emulator

    emulator = Emulator(render_seconds=render_seconds, poll_after_ms=poll_after_ms)

    async def warm() -> None:
        for variant in ('video', 'thumbnail'):
            await emulator._clip(catalog.DEFAULT_SIZE, str(catalog.DEFAULT_SECONDS), variant)

    asyncio.run(warm())
    emulator._clip_locks.clear()  # made under the warm-up loop; fresh ones for the serving loop
    web.run_app(emulator.app(), host='127.0.0.1', port=port, access_log=None, print=None, backlog=backlog)


@contextmanager
def emulator_process(scratch: Path, render_seconds: float, poll_after_ms: int, backlog: int):
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    log_file = open(scratch / 'emulator.log', 'wb')
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), '--serve-emulator', str(port),
         '--render-seconds', str(render_seconds), '--poll-after-ms', str(poll_after_ms),
         '--emulator-backlog', str(backlog)],
        cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                emulator_stats(base)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f'the emulator did not start; see {scratch / "emulator.log"}') from None
                time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


def emulator_stats(base: str) -> dict:
    with urllib.request.urlopen(f'{base}/_emulator/stats', timeout=10) as response:
        return json.loads(response.read())


def listen_overflows() -> int:
    """The kernel's count of connections dropped because a listen queue was full (all sockets)."""
    lines = [line.split() for line in Path('/proc/net/netstat').read_text().splitlines() if line.startswith('TcpExt:')]
    return int(dict(zip(lines[0], lines[1])).get('ListenOverflows', 0))


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of another process, from /proc/<pid>/stat."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


# --- PostgreSQL: a fresh schema per run -------------------------------------------------------------

@contextmanager
def fresh_database(url: str):
    """SQLite (empty url) as is; PostgreSQL in a new schema that is dropped afterwards."""
    if not url.startswith('postgresql'):
        yield url, None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    schema = f'bench_{secrets.token_hex(4)}'
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA {schema}'))
    try:
        yield make_url(url).update_query_dict({'options': f'-csearch_path={schema}'}) \
            .render_as_string(hide_password=False), schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA {schema} CASCADE'))
        admin.dispose()


# --- probes -------------------------------------------------------------------------------------------

class LagMonitor:
    """Sleeps LAG_INTERVAL in a loop; every wake-up's lateness in ms, filed under the current phase."""

    def __init__(self) -> None:
        self.phase = 'setup'
        self.samples: dict[str, list[float]] = {}
        self.stalls: list[tuple[float, float]] = []  # (seconds since the monitor started, lag ms) over 100 ms

    async def run(self) -> None:
        clock = time.perf_counter
        start = clock()
        while True:
            before = clock()
            await asyncio.sleep(LAG_INTERVAL)
            lag = (clock() - before - LAG_INTERVAL) * 1000
            self.samples.setdefault(self.phase, []).append(lag)
            if lag > 100:
                self.stalls.append((round(before - start, 2), round(lag, 1)))


class RssSampler(threading.Thread):
    """VmRSS of this process every 100 ms, from a thread so that a stalled loop cannot hide a peak."""

    def __init__(self) -> None:
        super().__init__(name='rss-sampler', daemon=True)
        self.peak_mb = 0.0
        self.series: list[tuple[float, float]] = []  # (seconds since start, MB), one a second
        self._halt = threading.Event()

    def run(self) -> None:
        start = last = time.monotonic()
        while not self._halt.is_set():
            mb = vm_rss_mb()
            self.peak_mb = max(self.peak_mb, mb)
            now = time.monotonic()
            if now - last >= 1.0 or not self.series:
                self.series.append((round(now - start, 1), round(mb, 1)))
                last = now
            self._halt.wait(0.1)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def vm_rss_mb() -> float:
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    return 0.0


class ProblemLog(logging.Handler):
    """Counts the engine's warning and error records; keeps the first few."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.first) < 5:
            cause = f' [{record.exc_info[0].__name__}: {record.exc_info[1]}]' if record.exc_info else ''
            self.first.append(f'{record.levelname} {record.name}: {record.getMessage()}{cause}'[:240])


# --- the run ------------------------------------------------------------------------------------------

async def run(args: argparse.Namespace, scratch: Path, emulator_base: str, database_url: str) -> dict:
    from sqlmodel import select

    from models import TERMINAL_STATUSES, Video, VideoEvent, utcnow
    from services import Services
    from services.config import Settings
    from services.videos import VideoRequest

    poll_after = args.poll_after_ms / 1000
    settings = Settings(
        _env_file=None, data_dir=scratch / 'data', database_url=database_url,
        video_provider='openai', openai_api_key='bench-key', openai_base_url=f'{emulator_base}/v1',
        max_concurrent_jobs=args.videos, poll_min_seconds=min(1.0, poll_after),
        poll_max_seconds=max(20.0, poll_after), signup_credits=VIDEOS_PER_USER * 100)
    services = Services.build(settings)
    monitor, sampler = LagMonitor(), RssSampler()
    lag_task = asyncio.get_running_loop().create_task(monitor.run(), name='lag-monitor')
    sampler.start()
    rss_before = vm_rss_mb()
    try:
        # Submit: ceil(N/10) users, 10 videos each, at most 32 submits in flight.
        monitor.phase = 'submit'
        users = [services.users.sign_in_local(f'bench{i}@example.com')
                 for i in range(math.ceil(args.videos / VIDEOS_PER_USER))]
        gate = asyncio.Semaphore(32)

        async def submit(number: int) -> None:
            async with gate:
                await services.videos.submit(users[number // VIDEOS_PER_USER].id,
                                             VideoRequest(PROMPT.format(number)), f'bench-{number}')

        started = time.perf_counter()
        await asyncio.gather(*(submit(n) for n in range(args.videos)))
        submit_seconds = time.perf_counter() - started

        # Run: start the runner and wait until every video has had its terminal event.
        done, terminal = asyncio.Event(), set()

        def on_event(event) -> None:
            if event.status in TERMINAL_STATUSES:
                terminal.add(event.video_id)
                if len(terminal) >= args.videos:
                    done.set()

        unsubscribe = services.events.subscribe(None, on_event)
        emulator_cpu_before = process_cpu_seconds(args.emulator_pid)
        overflows_before = listen_overflows()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        monitor.phase = 'run'
        started = time.perf_counter()
        run_start_utc = utcnow()
        services.runner.start()
        timed_out = False
        try:
            await asyncio.wait_for(done.wait(), args.timeout)
        except asyncio.TimeoutError:
            timed_out = True
        wall = time.perf_counter() - started
        monitor.phase = 'stop'
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        emulator_cpu = process_cpu_seconds(args.emulator_pid) - emulator_cpu_before
        overflows = listen_overflows() - overflows_before
        unsubscribe()
        await services.runner.stop()

        stats = emulator_stats(emulator_base)
        with services.db.session() as session:
            videos = list(session.exec(select(Video)))
            warnings = list(session.exec(select(VideoEvent.step, VideoEvent.message)
                                         .where(VideoEvent.message.startswith('⚠️'))))
        unbalanced = services.credits.unbalanced_users()
    finally:
        lag_task.cancel()
        sampler.stop()
        services.db.dispose()

    def overhead(video, since) -> float:
        return (video.finished_at - since).total_seconds() - args.render_seconds

    finished = [v for v in videos if v.finished_at is not None]
    by_status: dict[str, int] = {}
    for video in videos:
        by_status[video.status] = by_status.get(video.status, 0) + 1
    from_created = [overhead(v, v.created_at) for v in finished]
    from_run = [overhead(v, max(v.created_at, run_start_utc)) for v in finished]
    calls = stats.get('calls', {})
    lag = monitor.samples.get('run', [])
    retried: dict[str, int] = {}  # the runner's retry events, by reason
    for step, message in warnings:
        reason = f"{STEP_NAMES.get(step, step)}: {message.split(' Trying again')[0].removeprefix('⚠️').strip()}"
        retried[reason] = retried.get(reason, 0) + 1
    return {
        'videos': args.videos, 'timed_out': timed_out, 'submit_seconds': submit_seconds, 'wall_seconds': wall,
        'statuses': by_status, 'completed': by_status.get('completed', 0), 'failed': by_status.get('failed', 0),
        'errors': sorted({f'{v.error_code}: {v.error_message}' for v in videos if v.error_code})[:5],
        'lag_ms': {'count': len(lag), 'p50': percentile(lag, 50), 'p99': percentile(lag, 99),
                   'max': max(lag, default=math.nan), 'stalls_over_100ms': sum(1 for x in lag if x > 100),
                   'stalled_seconds': sum(x for x in lag if x > 100) / 1000},
        'submit_lag_ms': {'p99': percentile(monitor.samples.get('submit', []), 99),
                          'max': max(monitor.samples.get('submit', []), default=math.nan)},
        'rss_mb': {'before_submit': rss_before, 'peak_sampled': sampler.peak_mb,
                   'ru_maxrss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024},
        'rss_series': sampler.series, 'stalls': monitor.stalls,
        'finished_after_run_start_s': sorted(round((v.finished_at - run_start_utc).total_seconds(), 2)
                                             for v in finished),
        'overhead_s': {'from_created': {'p50': percentile(from_created, 50), 'p99': percentile(from_created, 99),
                                        'max': max(from_created, default=math.nan)},
                       'from_runner_start': {'p50': percentile(from_run, 50), 'p99': percentile(from_run, 99),
                                             'max': max(from_run, default=math.nan)}},
        'cpu_s': {'app': (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
                  'emulator': emulator_cpu},
        'emulator': {'creates': stats.get('creates'), 'calls': calls, 'listen_overflows': overflows,
                     'polls_per_video': calls.get('retrieve', 0) / args.videos},
        'unbalanced_users': unbalanced,
        'claims_beyond_first': sum(max(0, v.attempts - 1) for v in videos),
        'retry_events': retried,
    }


def report(args: argparse.Namespace, result: dict, database: str) -> bool:
    """Print the compact report; True when every check passes."""
    n, lag, rss, over = args.videos, result['lag_ms'], result['rss_mb'], result['overhead_s']
    terminal = sum(result['statuses'].get(status, 0) for status in ('completed', 'failed', 'cancelled'))
    checks = [
        ('event-loop lag p99', f"{lag['p99']:.1f} ms", f'< {TARGET_LAG_P99_MS:g} ms', lag['p99'] < TARGET_LAG_P99_MS),
        ('peak RSS (ru_maxrss)', f"{rss['ru_maxrss']:.0f} MB", f'< {TARGET_RSS_MB:g} MB', rss['ru_maxrss'] < TARGET_RSS_MB),
        ('creates at emulator', str(result['emulator']['creates']), f'== {n}', result['emulator']['creates'] == n),
        ('all terminal', str(terminal), f'== {n} (no timeout)', not result['timed_out'] and terminal == n),
        ('completed', str(result['completed']), f'== {n}', result['completed'] == n),
        ('ledger unbalanced users', str(len(result['unbalanced_users'])), '== 0', not result['unbalanced_users']),
    ]
    cpu = result['cpu_s']
    wall = result['wall_seconds']
    print(f"machine: nproc={len(os.sched_getaffinity(0))} python={platform.python_version()} loop={args.loop} "
          f"db={database}")
    print(f"settings: videos={n} render_seconds={args.render_seconds:g} poll_after_ms={args.poll_after_ms} "
          f"max_concurrent_jobs={n}")
    print(f"submit: {n} videos in {result['submit_seconds']:.1f} s (loop lag p99 {result['submit_lag_ms']['p99']:.1f} ms, "
          f"max {result['submit_lag_ms']['max']:.1f} ms)")
    print(f"run: wall {wall:.1f} s for {n} videos; completed {result['completed']}, failed {result['failed']}"
          f"{' (TIMED OUT)' if result['timed_out'] else ''}")
    print(f"loop lag (ms): p50 {lag['p50']:.1f}  p99 {lag['p99']:.1f}  max {lag['max']:.1f}  ({lag['count']} samples; "
          f"{lag['stalls_over_100ms']} stalls > 100 ms: {lag['stalled_seconds']:.1f} s, "
          f"{lag['stalled_seconds'] / wall * 100:.0f}% of the run)")
    print(f"RSS (MB): before submit {rss['before_submit']:.0f}, peak sampled VmRSS {rss['peak_sampled']:.0f}, "
          f"ru_maxrss {rss['ru_maxrss']:.0f}")
    print(f"overhead per video beyond {args.render_seconds:g} s render (s): "
          f"from created_at p50 {over['from_created']['p50']:.2f} p99 {over['from_created']['p99']:.2f} "
          f"max {over['from_created']['max']:.2f}; "
          f"from runner start p50 {over['from_runner_start']['p50']:.2f} p99 {over['from_runner_start']['p99']:.2f}")
    calls = result['emulator']['calls']
    print(f"emulator: creates {result['emulator']['creates']}, polls/video {result['emulator']['polls_per_video']:.2f}, "
          f"content {calls.get('content', 0)}, listen-queue overflows {result['emulator']['listen_overflows']}, "
          f"calls {dict(sorted(calls.items()))}")
    print(f"cpu during run: app {cpu['app']:.1f} s ({cpu['app'] / wall * 100:.0f}% of one core), "
          f"emulator {cpu['emulator']:.1f} s")
    print(f"runner: {result['claims_beyond_first']} re-claims, retries "
          + (', '.join(f'{n}x {reason!r}' for reason, n in result['retry_events'].items()) or 'none'))
    for error in result['errors']:
        print(f'  error: {error[:160]}')
    print(f"engine log: {result['log_problems']['count']} warning/error records"
          + ''.join(f'\n  {line}' for line in result['log_problems']['first']))
    print(f"{'check':<26}{'value':>12}  {'target':<22}result")
    for name, value, target, ok in checks:
        print(f"{name:<26}{value:>12}  {target:<22}{'PASS' if ok else 'FAIL'}")
    if lag['stalled_seconds'] > 0.1 * wall:
        print(f"note: lag percentiles count 10 ms samples, one per stall however long, so they understate "
              f"stalls; the loop was stalled > 100 ms for {lag['stalled_seconds'] / wall * 100:.0f}% of the run (max {lag['max'] / 1000:.1f} s)")
    result['checks'] = {name: {'value': value, 'target': target, 'pass': ok} for name, value, target, ok in checks}
    return all(ok for *_, ok in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--videos', type=int, default=1000, help='concurrent videos, also MAX_CONCURRENT_JOBS (1000)')
    parser.add_argument('--render-seconds', type=float, default=5.0, help="the emulator's render time (5)")
    parser.add_argument('--poll-after-ms', type=int, default=1000, help="the emulator's openai-poll-after-ms (1000)")
    parser.add_argument('--database-url', default='', help='SQLAlchemy URL, e.g. postgresql+psycopg://postgres@'
                        '127.0.0.1:5432/test (a fresh schema is made and dropped); default SQLite in DATA_DIR')
    parser.add_argument('--loop', choices=('uvloop', 'asyncio'), default='uvloop',
                        help='event loop; uvicorn (so the app) uses uvloop when installed (default uvloop)')
    parser.add_argument('--emulator-backlog', type=int, default=4096,
                        help="the emulator's listen backlog (aiohttp's default is 128; 4096)")
    parser.add_argument('--timeout', type=float, default=0, help='give up after this many seconds of running '
                        '(default: render time + 600)')
    parser.add_argument('--json', type=Path, help='also write the figures (and an RSS time series) here')
    parser.add_argument('--serve-emulator', type=int, metavar='PORT', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_emulator:
        serve_emulator(args.serve_emulator, args.render_seconds, args.poll_after_ms, args.emulator_backlog)
        return
    args.timeout = args.timeout or args.render_seconds + 600

    problems = ProblemLog()
    logging.getLogger().addHandler(problems)
    logging.getLogger().setLevel(logging.WARNING)
    if args.loop == 'uvloop':
        import uvloop
        uvloop.install()
    with tempfile.TemporaryDirectory(prefix='engine-load-') as scratch_name, \
            fresh_database(args.database_url) as (database_url, schema):
        scratch = Path(scratch_name)
        with emulator_process(scratch, args.render_seconds, args.poll_after_ms, args.emulator_backlog) as (base, pid):
            args.emulator_pid = pid
            result = asyncio.run(run(args, scratch, base, database_url))
    result['log_problems'] = {'count': problems.count, 'first': problems.first}
    database = 'sqlite' if not args.database_url else f'postgresql (schema {schema}, dropped)'
    ok = report(args, result, database)
    if args.json:
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                    if k not in ('serve_emulator', 'emulator_pid')}
        args.json.write_text(json.dumps({'machine': {'nproc': len(os.sched_getaffinity(0)),
                                                     'python': platform.python_version(),
                                                     'platform': platform.platform()},
                                         'settings': settings, 'result': result}, indent=2, default=str))
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
