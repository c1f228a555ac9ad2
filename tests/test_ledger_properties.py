"""The credit ledger under random sequences of everything that moves credits.

A Hypothesis state machine drives the real services (sign-in, submit, cancel, admin grants and
deductions, the runner's claim / fail / complete writes, stand-alone refunds) on a real SQLite
database, keeps its own model of every balance and video, and after every step checks:

- every cached balance equals the sum of its ledger entries and is never negative;
- every video has exactly one `reserve` entry of `-cost`; failed and cancelled videos have
  exactly one refund of `+cost`, queued, running and completed ones none;
- balances, statuses and leases match the model.
"""
from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as label
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant,
                                 multiple, precondition, rule)
from sqlmodel import select

from models import CreditEntry, User, Video, utcnow
from services import Services, catalog
from services.config import Settings
from services.credits import InsufficientCredits
from services.events import COMPLETED, UPDATING, VALIDATING
from services.jobs import LeaseLost, Runner
from services.users import SignInError
from services.videos import SubmitError, VideoRequest
from tests.conftest import image_bytes

PROMPT = 'Waves rolling onto a pebble beach at dawn'
ADMIN = 'admin@example.com'
SIGNUP_CREDITS = 1000
# Spellings that sign in the same account, an admin and one that is no email at all.
EMAILS = ['alice@example.com', ' Alice@Example.COM ', 'bob@example.com', 'BOB@example.com',
          'carol@example.com', ADMIN, 'not-an-email']
KEYS = ['k1', 'k2', 'k3', 'k1', 'k2', 'k3', 'a-rather-longer-key-0123456789', '', 'k' * 65]
MODELS = [*catalog.MODELS, 'sora-3']
SIZES = [*catalog.SIZE_CLASS, '99999x99999']
SECONDS = [*catalog.SECONDS, 0, 5, -4]
PROMPTS = [PROMPT] * 6 + ['too short', 'bell \x07 in the prompt, which is refused']
ACTIVE = ('queued', 'running')
TERMINAL = ('completed', 'failed', 'cancelled')
SMALL_IMAGE = image_bytes(64, 48)
VALID_OPTIONS = [(m, size, sec) for m in catalog.MODELS for size in catalog.sizes_for(m) for sec in catalog.SECONDS]
# Mostly valid requests (so that videos exist to work on), now and then anything at all.
OPTIONS = st.one_of(st.sampled_from(VALID_OPTIONS), st.sampled_from(VALID_OPTIONS),
                    st.tuples(st.sampled_from(MODELS), st.sampled_from(SIZES), st.sampled_from(SECONDS)))


@dataclass
class ModelVideo:
    owner: int
    cost: int
    status: str = 'queued'
    lease: str | None = None  # the runner owner that holds it


class LedgerMachine(RuleBasedStateMachine):
    users = Bundle('users')
    videos = Bundle('videos')

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix='ledger-props-'))
        self.settings = Settings(_env_file=None, data_dir=self.tmp / 'data', database_url='',
                                 video_provider='mock', admin_emails=ADMIN, signup_credits=SIGNUP_CREDITS,
                                 local_signup_plan='standard', credits_per_second=25,
                                 lease_seconds=3600, max_upload_bytes=10 * 1024 * 1024)
        self.services = Services.build(self.settings)
        # A second runner (another replica) to check that every job write is fenced by the lease.
        s = self.services
        self.runners = [s.runner, Runner(s.db, s.events, s.provider, s.storage, s.settings)]
        self.balances: dict[int, int] = {}  # the model: user id -> expected credits
        self.emails: dict[int, str] = {}
        self.by_key: dict[tuple[int, str], tuple[str, tuple]] = {}  # -> (video id, its request)
        self.model_videos: dict[str, ModelVideo] = {}

    def teardown(self) -> None:
        self.services.db.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- accounts and admin credits --------------------------------------------------------------

    @initialize(target=users)
    def first_user(self):
        return self._sign_in('alice@example.com')

    @initialize(target=videos, options=st.sampled_from(
        [o for o in VALID_OPTIONS if catalog.price(*o) <= SIGNUP_CREDITS]), with_image=st.booleans())
    def first_video(self, options, with_image):
        """Something for the runner rules to work on from the first step."""
        return self.submit(self._sign_in('bob@example.com'), 'k1', options, PROMPT, with_image)

    @rule(target=users, email=st.sampled_from(EMAILS))
    def sign_in(self, email: str):
        return self._sign_in(email)

    def _sign_in(self, email: str):
        if email == 'not-an-email':
            with pytest.raises(SignInError):
                self.services.users.sign_in_local(email)
            return multiple()
        user = self.services.users.sign_in_local(email)
        normal = email.strip().lower()
        assert user.email == normal
        assert user.is_admin == (normal == ADMIN)
        if user.id not in self.balances:  # a new account gets its welcome credits, once
            assert normal not in self.emails.values()
            self.balances[user.id] = SIGNUP_CREDITS
            self.emails[user.id] = normal
        assert self.emails[user.id] == normal
        assert user.credits == self.balances[user.id]
        return user.id

    @rule(user_id=users, amount=st.one_of(st.integers(1, 2000), st.integers(-2500, -1),
                                          st.sampled_from([0, -1, -100, -400])))
    def grant(self, user_id: int, amount: int) -> None:
        expected = self.balances[user_id]
        if amount < 0 and -amount > expected:
            with pytest.raises(InsufficientCredits):
                self.services.credits.grant(user_id, amount, 'property test: deduction', actor_id=None)
            label('deduction refused')
        else:
            self.services.credits.grant(user_id, amount, 'property test: grant', actor_id=None)
            self.balances[user_id] = expected + amount
            label('grant' if amount >= 0 else 'deduction')
        assert self.services.credits.balance(user_id) == self.balances[user_id]

    @rule(user_id=users)
    def deduct_everything(self, user_id: int) -> None:
        """Drain a balance exactly to zero (the boundary), then one more credit is refused."""
        balance = self.balances[user_id]
        if balance:
            self.services.credits.grant(user_id, -balance, 'property test: drain')
            self.balances[user_id] = 0
        with pytest.raises(InsufficientCredits):
            self.services.credits.grant(user_id, -1, 'property test: overdraw')

    @rule(amount=st.integers(-50, 50))
    def grant_to_nobody(self, amount: int) -> None:
        with pytest.raises(InsufficientCredits):
            self.services.credits.grant(10_000_000, amount, 'no such user')

    # --- submit and cancel -----------------------------------------------------------------------

    @rule(target=videos, user_id=users, key=st.sampled_from(KEYS), options=OPTIONS,
          prompt=st.sampled_from(PROMPTS), with_image=st.sampled_from([False, False, False, True]))
    def submit(self, user_id, key, options, prompt, with_image):
        model, size, seconds = options
        request = VideoRequest(prompt, model=model, size=size, seconds=seconds,
                               image=SMALL_IMAGE if with_image else None)
        fingerprint = (prompt.strip(), model, size, seconds, with_image)
        # The service's order of checks: key, prompt, options, then the repeat, then the charge.
        if not key or len(key) > 64:
            expected_error = 'request'
        elif prompt not in (PROMPT, f'{PROMPT} at dusk'):
            expected_error = 'prompt'
        elif model not in catalog.MODELS:
            expected_error = 'model'
        elif size not in catalog.sizes_for(model):
            expected_error = 'size'
        elif seconds not in catalog.SECONDS:
            expected_error = 'seconds'
        elif (user_id, key) in self.by_key:  # a key is bound to the request it was first used for
            expected_error = None if self.by_key[(user_id, key)][1] == fingerprint else 'idempotency_key'
        elif catalog.price(model, size, seconds, self.settings.credits_per_second) > self.balances[user_id]:
            expected_error = 'credits'
        else:
            expected_error = None
        balance_before = self.services.credits.balance(user_id)
        if expected_error:
            with pytest.raises(SubmitError) as refusal:
                asyncio.run(self.services.videos.submit(user_id, request, key))
            assert refusal.value.field == expected_error, refusal.value.message
            label(f'submit refused: {expected_error}')
            assert self.services.credits.balance(user_id) == balance_before
            return multiple()
        video = asyncio.run(self.services.videos.submit(user_id, request, key))
        if (user_id, key) in self.by_key:  # a repeat: the same video, charged once
            assert video.id == self.by_key[(user_id, key)][0]
            assert self.services.credits.balance(user_id) == balance_before
            label('submit repeated')
            return multiple()
        label('submit charged')
        cost = catalog.price(model, size, seconds, self.settings.credits_per_second)
        assert (video.user_id, video.cost, video.status) == (user_id, cost, 'queued')
        assert video.id not in self.model_videos
        self.by_key[(user_id, key)] = (video.id, fingerprint)
        self.model_videos[video.id] = ModelVideo(owner=user_id, cost=cost)
        self.balances[user_id] -= cost
        return video.id

    @precondition(lambda self: self.by_key)
    @rule(data=st.data(), change=st.sampled_from([None, None, 'seconds', 'prompt', 'image']))
    def submit_again(self, data, change) -> None:
        """A deliberate repeat of an earlier key: the same request (a double click, a retry) or,
        with `change`, a different one, which the key refuses."""
        user_id, key = data.draw(st.sampled_from(list(self.by_key)))
        prompt, model, size, seconds, with_image = self.by_key[(user_id, key)][1]
        if change == 'seconds':
            seconds = 8 if seconds != 8 else 4
        elif change == 'prompt':
            prompt = f'{prompt} at dusk'
        elif change == 'image':
            with_image = not with_image
        assert self.submit(user_id, key, (model, size, seconds), prompt, with_image) == multiple()

    @rule(video_id=videos, user_id=users)
    def cancel(self, video_id: str, user_id: int) -> None:
        video = self.model_videos[video_id]
        user = self.services.users.get(user_id)
        allowed = user_id == video.owner or user.is_admin
        done = asyncio.run(self.services.videos.cancel(user, video_id))
        label(f'cancel: {"owner" if user_id == video.owner else "admin" if allowed else "other"}, {video.status}')
        if allowed and video.status in ACTIVE:
            assert done is True
            video.status, video.lease = 'cancelled', None
            self.balances[video.owner] += video.cost
        else:
            assert done is False, (allowed, video.status)

    # --- the runner's own write paths ------------------------------------------------------------

    @rule(runner=st.sampled_from([0, 1]), limit=st.integers(1, 3))
    def claim(self, runner: int, limit: int) -> None:
        owner = self.runners[runner].owner
        claimable = {vid for vid, v in self.model_videos.items() if v.status in ACTIVE and v.lease is None}
        claimed = self.runners[runner]._claim(limit)
        assert len(claimed) == len(set(claimed)) == min(limit, len(claimable))
        assert set(claimed) <= claimable
        for video_id in claimed:
            self.model_videos[video_id].lease = owner
        label(f'claimed {len(claimed)}')

    @rule(video_id=videos, runner=st.sampled_from([0, 1]))
    def start(self, video_id: str, runner: int) -> None:
        """The runner's first write on a claimed video (as in `_validate`): status running."""
        video, r = self.model_videos[video_id], self.runners[runner]
        changes = dict(status='running', phase='submit', started_at=utcnow())
        started = ((VALIDATING, 'property test: started'),)
        if video.lease == r.owner:
            r._save_tx(video_id, started, changes)
            video.status = 'running'
        else:
            with pytest.raises(LeaseLost):
                r._save_tx(video_id, started, changes)

    @rule(video_id=videos, runner=st.sampled_from([0, 1]), code=st.sampled_from(['moderation_blocked', 'timeout']),
          path=st.sampled_from(['fail_tx', 'finish_failed']))
    def provider_failure(self, video_id: str, runner: int, code: str, path: str) -> None:
        video, r = self.model_videos[video_id], self.runners[runner]
        message = f'property test: {code}'
        if video.status in TERMINAL:  # nothing to fail any more, by any runner
            if path == 'fail_tx':
                assert r._fail_tx(video_id, code, message) is None
            else:
                asyncio.run(r._finish_failed(video_id, code, message))
        elif video.lease == r.owner:
            if path == 'fail_tx':
                event = r._fail_tx(video_id, code, message)
                assert event is not None and event.status == 'failed'
            else:
                asyncio.run(r._finish_failed(video_id, code, message))
            video.status, video.lease = 'failed', None
            self.balances[video.owner] += video.cost
            label(f'failed by {path}')
            assert self.services.credits.refunded_amount(video_id) == video.cost
        else:  # not held by this runner: fenced off
            if path == 'fail_tx':
                with pytest.raises(LeaseLost):
                    r._fail_tx(video_id, code, message)
            else:
                asyncio.run(r._finish_failed(video_id, code, message))  # swallows LeaseLost

    @rule(video_id=videos, runner=st.sampled_from([0, 1]))
    def complete(self, video_id: str, runner: int) -> None:
        """The runner's final write, as `_finalize` makes it. A completion moves no credits."""
        video, r = self.model_videos[video_id], self.runners[runner]
        changes = dict(status='completed', phase='done', progress=100, finished_at=utcnow(),
                       lease_owner=None, lease_expires_at=None)
        finished = ((UPDATING, 'property test: updating'), (COMPLETED, 'property test: completed', None, 'completed'))
        args = (video_id, finished, changes)
        if video.lease == r.owner:
            events = r._save_tx(*args)
            assert [e.status for e in events] == [None, 'completed']
            video.status, video.lease = 'completed', None
            label('completed')
        else:
            with pytest.raises(LeaseLost):
                r._save_tx(*args)

    # The rules above pick any video and any runner, so mostly exercise the fence; these pick a
    # video some runner holds and act as that runner, so that failures and completions happen.

    def _held(self) -> list[tuple[str, int]]:
        owners = [r.owner for r in self.runners]
        # In submit order, not by id: ids are random uuids, and draws must not depend on them.
        return [(vid, owners.index(v.lease)) for vid, v in self.model_videos.items() if v.lease]

    @precondition(lambda self: self._held())
    @rule(data=st.data(), code=st.sampled_from(['moderation_blocked', 'timeout', 'internal_error']),
          path=st.sampled_from(['fail_tx', 'finish_failed']))
    def held_video_fails(self, data, code: str, path: str) -> None:
        video_id, runner = data.draw(st.sampled_from(self._held()))
        self.provider_failure(video_id, runner, code, path)

    @precondition(lambda self: self._held())
    @rule(data=st.data())
    def held_video_starts_and_completes(self, data) -> None:
        video_id, runner = data.draw(st.sampled_from(self._held()))
        if data.draw(st.booleans()):
            self.start(video_id, runner)
        self.complete(video_id, runner)

    @rule(runner=st.sampled_from([0, 1]))
    def release_all(self, runner: int) -> None:
        """A runner stopping hands its videos back (they stay queued/running, unleased)."""
        r = self.runners[runner]
        r._release_all()
        for video in self.model_videos.values():
            if video.lease == r.owner:
                video.lease = None

    # --- refunds -----------------------------------------------------------------------------------

    @precondition(lambda self: any(v.status in ('failed', 'cancelled') for v in self.model_videos.values()))
    @rule(data=st.data())
    def refund_again(self, data) -> None:
        ended = [vid for vid, v in self.model_videos.items() if v.status in ('failed', 'cancelled')]
        video_id = data.draw(st.sampled_from(ended))
        assert self.services.credits.refund(video_id, 'property test: second refund') == 0
        label('refund repeated')

    @rule()
    def refund_unknown_video(self) -> None:
        assert self.services.credits.refund('0' * 32, 'no such video') == 0

    # --- invariants --------------------------------------------------------------------------------

    @invariant()
    def ledger_balances(self) -> None:
        assert self.services.credits.unbalanced_users() == []

    @invariant()
    def balances_match_the_model(self) -> None:
        with self.services.db.session() as session:
            actual = {u.id: u.credits for u in session.exec(select(User))}
        assert actual == self.balances
        assert all(credits >= 0 for credits in actual.values())

    @invariant()
    def one_reserve_and_the_right_refunds_per_video(self) -> None:
        with self.services.db.session() as session:
            videos = {v.id: v for v in session.exec(select(Video))}
            entries = list(session.exec(select(CreditEntry).where(CreditEntry.video_id.is_not(None))))
        assert set(videos) == set(self.model_videos)
        counts = Counter((e.video_id, e.kind) for e in entries)
        by_kind = {(e.video_id, e.kind): e for e in entries}
        for video_id, video in videos.items():
            expected = self.model_videos[video_id]
            assert (video.status, video.lease_owner, video.cost, video.user_id) == \
                (expected.status, expected.lease, expected.cost, expected.owner)
            assert counts[(video_id, 'reserve')] == 1
            reserve = by_kind[(video_id, 'reserve')]
            assert (reserve.delta, reserve.user_id) == (-video.cost, video.user_id)
            if video.status in ('failed', 'cancelled'):
                assert counts[(video_id, 'refund')] == 1
                refund = by_kind[(video_id, 'refund')]
                assert (refund.delta, refund.user_id) == (video.cost, video.user_id)
            else:
                assert counts[(video_id, 'refund')] == 0
        assert {kind for _, kind in counts} <= {'reserve', 'refund'}


LedgerMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestLedgerProperties = LedgerMachine.TestCase
