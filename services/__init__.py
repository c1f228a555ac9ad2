"""Domain services, built once at start-up and handed to pages and routes."""
from __future__ import annotations

from dataclasses import dataclass

from services.admin import Admin
from services.config import Settings
from services.credits import Credits
from services.db import Database
from services.events import EventLog
from services.jobs import Runner
from services.metrics import CountedProvider
from services.providers import Provider, build_provider
from services.storage import Storage
from services.tokens import Tokens
from services.users import Users
from services.videos import Videos


@dataclass
class Services:
    settings: Settings
    db: Database
    storage: Storage
    events: EventLog
    credits: Credits
    users: Users
    videos: Videos
    provider: Provider
    runner: Runner
    admin: Admin
    tokens: Tokens

    @classmethod
    def build(cls, settings: Settings) -> Services:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.db_url)
        db.migrate()
        storage = Storage(settings.data_dir)
        events = EventLog(db)
        provider = build_provider(settings, storage.root)
        runner = Runner(db, events, CountedProvider(provider), storage, settings)  # counts provider calls
        videos = Videos(db, events, storage, settings, on_submitted=runner.wake, on_cancelled=runner.forget)
        return cls(settings, db, storage, events, Credits(db), Users(db, settings), videos, provider, runner,
                   Admin(db, events, videos), Tokens(db))
