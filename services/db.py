"""The database: one engine, short transactions, migrations on start-up.

Service code is synchronous SQLAlchemy; async callers go through `Database.call`, which runs
the work in a thread so that a busy database never blocks the event loop.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)
T = TypeVar('T')
DB_THREADS = 4
ROOT = Path(__file__).resolve().parent.parent


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith('sqlite')
        self._executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix='db')
        if self.is_sqlite:
            self.engine = create_engine(url, connect_args={'check_same_thread': False, 'timeout': 30})
            event.listen(self.engine, 'connect', _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        config = Config()
        config.set_main_option('script_location', str(ROOT / 'migrations'))
        with self.engine.begin() as connection:
            config.attributes['connection'] = connection
            command.upgrade(config, 'head')

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    async def call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run database work in one of a few dedicated threads. Few, because each one competes
        with the event loop for the interpreter lock: more threads would not make SQLite faster,
        only the pages slower."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args, **kwargs))

    def dispose(self) -> None:
        self.engine.dispose()
        self._executor.shutdown(wait=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA busy_timeout=30000')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.close()
