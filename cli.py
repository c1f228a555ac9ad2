"""Operator commands for AIVideo Studio, run on the server with the app's settings (.env, environment).

    .venv/bin/python cli.py create-user EMAIL [--admin] [--credits N]
    .venv/bin/python cli.py grant-credits EMAIL N [--reason TEXT]
    .venv/bin/python cli.py make-admin EMAIL [--revoke]
    .venv/bin/python cli.py create-token EMAIL [--name NAME]
    .venv/bin/python cli.py events VIDEO_ID
    .venv/bin/python cli.py reconcile [--timeout SECONDS]

Everything goes through the services, as the pages and the API do; nothing here touches SQL.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from models import User
from services import Services, credits, logs
from services.config import Settings
from services.tokens import TokenError
from services.users import SignInError

log = logging.getLogger('cli')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='cli.py', description='Operator commands for AIVideo Studio.')
    commands = parser.add_subparsers(dest='command', required=True)

    command = commands.add_parser('create-user', help='create a local account (or find it) and print it')
    command.add_argument('email')
    command.add_argument('--admin', action='store_true', help='make the account an admin')
    command.add_argument('--credits', type=int, default=0, metavar='N',
                         help='credits to grant on top of the sign-up credits')

    command = commands.add_parser('grant-credits', help='add (or, negative, deduct) credits')
    command.add_argument('email')
    command.add_argument('amount', type=int)
    command.add_argument('--reason', default='Granted by an operator')

    command = commands.add_parser('make-admin', help='give (or with --revoke take) admin rights')
    command.add_argument('email')
    command.add_argument('--revoke', action='store_true')

    command = commands.add_parser('create-token', help='make an API token for a user and print it (once)')
    command.add_argument('email')
    command.add_argument('--name', default='made by an operator')

    command = commands.add_parser('events', help="print a video's event log")
    command.add_argument('video_id')

    command = commands.add_parser('reconcile', help='run the job runner until no video is queued, running or '
                                                    'stuck in submitting (or the timeout passes)')
    command.add_argument('--timeout', type=float, default=600.0, metavar='SECONDS')

    args = parser.parse_args(argv)
    settings = Settings()
    logs.configure(settings.secrets)
    services = Services.build(settings)
    try:
        handler = {'create-user': create_user, 'grant-credits': grant_credits, 'make-admin': make_admin,
                   'create-token': create_token, 'events': print_events, 'reconcile': reconcile}[args.command]
        return handler(services, args)
    finally:
        services.db.dispose()


def create_user(services: Services, args) -> int:
    try:
        user = services.users.sign_in_local(args.email)
    except SignInError as refusal:
        return fail(str(refusal))
    if args.admin:
        services.users.set_admin(user.id, True)
    if args.credits:
        services.credits.grant(user.id, args.credits, 'Granted by an operator')
    user = services.users.get(user.id)
    print(f'user {user.id} {user.email} plan={user.plan} admin={user.is_admin} credits={user.credits}')
    return 0


def grant_credits(services: Services, args) -> int:
    user = one_user(services, args.email)
    if user is None:
        return 1
    try:
        services.credits.grant(user.id, args.amount, args.reason)
    except credits.InsufficientCredits:
        return fail(f'{user.email} has {user.credits} credits; a balance cannot go below zero.')
    print(f'{user.email}: {services.credits.balance(user.id)} credits')
    return 0


def make_admin(services: Services, args) -> int:
    user = one_user(services, args.email)
    if user is None:
        return 1
    services.users.set_admin(user.id, not args.revoke)
    print(f'{user.email} is {"no longer " if args.revoke else ""}an admin')
    return 0


def create_token(services: Services, args) -> int:
    user = one_user(services, args.email)
    if user is None:
        return 1
    try:
        made = services.tokens.create(user.id, args.name)
    except TokenError as refusal:
        return fail(str(refusal))
    print(made.secret)  # the only time it is shown
    return 0


def print_events(services: Services, args) -> int:
    video = services.videos.get(args.video_id[:64])
    if video is None:
        return fail(f'no video {args.video_id}')
    print(f'video {video.id} of user {video.user_id}: {video.status} ({video.phase}) {video.model} {video.size} '
          f'{video.seconds}s cost={video.cost}')
    for event in services.events.since(video.id):
        progress = f'  [Progress: {event.progress}%]' if event.progress is not None else ''
        status = f'  <{event.status}>' if event.status else ''
        print(f'{event.created_at:%Y-%m-%d %H:%M:%S.%f}'[:-3] + f' #{event.id} [{event.step}] {event.message}'
              f'{progress}{status}')
    return 0


def reconcile(services: Services, args) -> int:
    """Work every due video with this process's runner: queued ones run, one found in `submitting`
    is reconciled with the provider (adopted or failed and refunded), stale leases are taken over."""
    return asyncio.run(_reconcile(services, args.timeout))


async def _reconcile(services: Services, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    services.runner.start()
    try:
        while True:
            active = await services.db.call(active_videos, services)
            if not active:
                print('no video is queued or running')
                return 0
            if time.monotonic() > deadline:
                return fail(f'{len(active)} videos still active after {timeout:g} s: ' + ', '.join(active[:20]))
            await asyncio.sleep(0.5)
    finally:
        await services.runner.stop()


def active_videos(services: Services) -> list[str]:
    ids = []
    for status in ('queued', 'running'):
        cursor = None
        while True:
            videos, cursor = services.videos.page(status=status, cursor=cursor, limit=100)
            ids += [video.id for video in videos]
            if cursor is None:
                break
    return ids


def one_user(services: Services, email: str) -> User | None:
    found = services.users.by_email(email)
    if len(found) != 1:
        fail(f'no user with the email {email}' if not found else
             f'{len(found)} accounts use {email} (ids {", ".join(str(u.id) for u in found)})')
        return None
    return found[0]


def fail(message: str) -> int:
    print(f'error: {message}', file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
