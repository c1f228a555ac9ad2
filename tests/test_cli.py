"""The operator CLI (cli.py), run as an operator would: its commands against a data folder."""
from __future__ import annotations

import asyncio
import subprocess
import sys

from models import utcnow
from services import Services
from services.config import Settings
from services.videos import VideoRequest
from tests.conftest import ROOT

import cli


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / 'cli.py'), *args], capture_output=True, text=True, timeout=120)


def test_an_operator_sets_up_an_admin_with_credits_and_a_token() -> None:
    made = run_cli('create-user', 'Ops@Example.com', '--admin', '--credits', '500')
    assert made.returncode == 0, made.stderr
    assert 'ops@example.com' in made.stdout and 'admin=True' in made.stdout and 'credits=1500' in made.stdout
    token = run_cli('create-token', 'ops@example.com', '--name', 'deploy').stdout.strip()
    assert token.startswith('avs_')
    services = Services.build(Settings())
    try:
        user = services.tokens.authenticate(token)
        assert user.email == 'ops@example.com' and user.is_admin
        assert services.tokens.list(user.id)[0].name == 'deploy'
    finally:
        services.db.dispose()


def test_grant_credits_and_make_admin_need_an_existing_user(capsys) -> None:
    assert cli.main(['create-user', 'member@example.com']) == 0
    assert cli.main(['grant-credits', 'member@example.com', '250', '--reason', 'bonus']) == 0
    assert 'member@example.com: 1250 credits' in capsys.readouterr().out
    assert cli.main(['grant-credits', 'member@example.com', '-5000']) == 1
    assert 'cannot go below zero' in capsys.readouterr().err
    assert cli.main(['make-admin', 'member@example.com']) == 0
    assert cli.main(['make-admin', 'nobody@example.com']) == 1
    assert 'no user' in capsys.readouterr().err
    assert cli.main(['create-user', 'not an email']) == 1
    services = Services.build(Settings())
    try:
        member = services.users.by_email('member@example.com')[0]
        assert member.is_admin and services.credits.balance(member.id) == 1250
        assert services.credits.unbalanced_users() == []
    finally:
        services.db.dispose()


def test_events_prints_a_videos_log_and_reconcile_works_the_queue(capsys) -> None:
    services = Services.build(Settings())
    try:
        user = services.users.sign_in_local('maker@example.com')
        video = asyncio.run(services.videos.submit(user.id, VideoRequest('A lighthouse in a storm, at night'), 'k1'))
    finally:
        services.db.dispose()
    assert cli.main(['reconcile', '--timeout', '60']) == 0  # no app is running: the CLI's runner works it
    assert cli.main(['events', video.id]) == 0
    out = capsys.readouterr().out
    assert 'completed' in out and '[0] 🚀 Video generation task started' in out
    assert '[9] 🎉 Video generation completed successfully!' in out
    assert cli.main(['events', 'nope']) == 1


def test_reconcile_resolves_a_video_left_in_submitting_by_a_crash(capsys) -> None:
    services = Services.build(Settings())
    try:
        user = services.users.sign_in_local('crashed@example.com')
        video = asyncio.run(services.videos.submit(user.id, VideoRequest('A lighthouse in a storm, at night'), 'k1'))
        with services.db.session() as session:  # as a runner that died right before its create call left it
            row = session.get(type(video), video.id)
            row.status, row.phase, row.submitted_at, row.started_at = 'running', 'submitting', utcnow(), utcnow()
            session.add(row)
    finally:
        services.db.dispose()
    assert cli.main(['reconcile', '--timeout', '60']) == 0
    services = Services.build(Settings())
    try:
        done = services.videos.get(video.id)
        assert done.status == 'failed' and done.error_code == 'submit_lost'  # never created blindly again
        assert services.credits.balance(user.id) == 1000
    finally:
        services.db.dispose()
