"""UI latency of the generate page, measured in a real headless Chromium against the real app.

Two figures, both timed inside the page with `performance.now()` from the click on the main
Generate button (a capture-phase click listener on that button):

  submit -> first event   until the first line shows up in the `.event-log` of the live panel
  submit -> playable      until `<video class="player">` fires `loadeddata` (readyState >= 2)

The live panel (and so `.event-log`) and the player are only created after the click, so one
MutationObserver on document.body, installed before the click, watches for both.

The app runs in a subprocess with the mock provider at test speed (tests/conftest.py FAST), in a
throw-away data folder. Each run reloads /generate, so it gets a fresh form key; a new browser
context with a new user is started every 9 videos (1,000 credits, 100 per 4 s sora-2 video).

Run from the repository root:  .venv/bin/python bench/ui_latency.py --runs 20
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import FAST  # noqa: E402
from tests.live_server import chromium_path, running_app  # noqa: E402

VIDEOS_PER_USER = 9
MEASURES = ('submit_to_first_event', 'submit_to_playable')

# Installed on the freshly loaded /generate page, before the click.
WATCH = """button => {
  const marks = window.__bench = {click: null, firstEvent: null, playable: null};
  button.addEventListener('click', () => { if (marks.click === null) marks.click = performance.now(); },
                          {capture: true});
  const playable = () => { if (marks.playable === null) marks.playable = performance.now(); };
  const check = () => {
    const log = document.querySelector('.event-log');
    if (marks.firstEvent === null && log && log.textContent.trim()) marks.firstEvent = performance.now();
    for (const video of document.querySelectorAll('video.player')) {
      if (video.__benchWatched) continue;
      video.__benchWatched = true;
      video.addEventListener('loadeddata', playable);
      if (video.readyState >= 2) playable();
    }
  };
  new MutationObserver(check).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def sign_in(browser, url: str, email: str):
    context = browser.new_context(viewport={'width': 1280, 'height': 900})
    page = context.new_page()
    page.goto(f'{url}/login')
    page.get_by_label('Email').fill(email)
    page.get_by_role('button', name='Continue').click()
    page.get_by_text('1,000 credits').wait_for()
    return context, page


def one_run(page, url: str, number: int, image: bool, timeout_ms: float) -> dict[str, float]:
    page.goto(f'{url}/generate')
    page.get_by_text('Price: ').wait_for()
    page.get_by_label('Prompt').fill(f'A red kite over green hills on a windy day, take {number}')
    if image:
        page.get_by_text('Trial image', exact=True).click()
        page.locator('.trial-thumb').nth(1).click()
    button = page.get_by_role('main').get_by_role('button', name='Generate')
    button.evaluate(WATCH)
    button.click()
    page.wait_for_function('window.__bench.firstEvent !== null && window.__bench.playable !== null',
                           timeout=timeout_ms)
    marks = page.evaluate('window.__bench')
    return {'submit_to_first_event': marks['firstEvent'] - marks['click'],
            'submit_to_playable': marks['playable'] - marks['click']}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20, help='measured videos (default 20)')
    parser.add_argument('--warmup', type=int, default=1, help='videos made first and not counted (default 1)')
    parser.add_argument('--render-seconds', type=float, default=float(FAST['MOCK_RENDER_SECONDS']),
                        help='the mock provider render time (default %(default)s)')
    parser.add_argument('--image', action=argparse.BooleanOptionalAction, default=True,
                        help='use the 2nd trial image as reference (default: yes)')
    parser.add_argument('--json', type=Path, help='also write the raw samples and summary here')
    args = parser.parse_args()
    browser_path = chromium_path()
    if browser_path is None:
        sys.exit('Chromium not found: apt-get install chromium, or set CHROMIUM_PATH')

    from playwright.sync_api import sync_playwright
    samples: dict[str, list[float]] = {name: [] for name in MEASURES}
    env = {**FAST, 'MOCK_RENDER_SECONDS': str(args.render_seconds)}
    with tempfile.TemporaryDirectory(prefix='ui-latency-') as scratch, sync_playwright() as playwright:
        with running_app(Path(scratch) / 'data', **env) as url:
            browser = playwright.chromium.launch(executable_path=browser_path, headless=True, args=['--no-sandbox'])
            context = None
            for number in range(args.warmup + args.runs):
                if number % VIDEOS_PER_USER == 0:
                    if context is not None:
                        context.close()
                    context, page = sign_in(browser, url, f'bench{number}@example.com')
                result = one_run(page, url, number, args.image, timeout_ms=30_000 + args.render_seconds * 1000)
                if number >= args.warmup:
                    for name in MEASURES:
                        samples[name].append(result[name])
            browser.close()
        logs = list(Path(scratch).glob('app-*.log'))
        problems = [line for log in logs for line in log.read_text(errors='replace').splitlines()
                    if ' ERROR ' in line or ' WARNING ' in line or 'Traceback' in line]

    summary = {name: {'count': len(values), 'p50': percentile(values, 50), 'p90': percentile(values, 90),
                      'p99': percentile(values, 99), 'max': max(values)} for name, values in samples.items()}
    machine = {'nproc': len(os.sched_getaffinity(0)), 'python': platform.python_version(), 'platform': platform.platform()}
    print(f"machine: nproc={machine['nproc']} python={machine['python']} {machine['platform']}")
    print(f"settings: runs={args.runs} warmup={args.warmup} render_seconds={args.render_seconds} "
          f"image={'trial' if args.image else 'none'}")
    print(f"{'measure (ms)':<24}{'count':>6}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}")
    for name, row in summary.items():
        print(f"{name:<24}{row['count']:>6}" + ''.join(f'{row[k]:>9.1f}' for k in ('p50', 'p90', 'p99', 'max')))
    print(f'app log: {len(problems)} warning/error lines' + ''.join(f'\n  {line[:160]}' for line in problems[:5]))
    if args.json:
        args.json.write_text(json.dumps({'machine': machine, 'settings': {**vars(args), 'json': str(args.json)},
                                         'summary': summary, 'samples': samples, 'app_log_problems': problems},
                                        indent=2))


if __name__ == '__main__':
    main()
