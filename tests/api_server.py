"""The real app in a subprocess for the HTTP API tests, plus the operator's side of it: services
built on the same database, to make users, tokens and admins the way an operator would."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import FAST
from tests.live_server import running_app


@dataclass
class ApiServer:
    url: str
    services: object  # services.Services on the app's database
    counter: list[int] = field(default_factory=lambda: [0])

    def user(self, *, admin: bool = False, credits: int = 0) -> tuple[object, str]:
        """A new user and a token of theirs."""
        self.counter[0] += 1
        user = self.services.users.sign_in_local(f'api{self.counter[0]}@example.com')
        if admin:
            self.services.users.set_admin(user.id, True)
        if credits:
            self.services.credits.grant(user.id, credits, 'test credits')
        return user, self.services.tokens.create(user.id, 'tests').secret

    def client(self, token: str | None = None, **kwargs) -> httpx.Client:
        headers = {'Authorization': f'Bearer {token}'} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


@contextmanager
def api_server(data_dir: Path, **env: str) -> Iterator[ApiServer]:
    from services import Services
    from services.config import Settings
    with running_app(data_dir, **{**FAST, **env}) as url:
        services = Services.build(Settings(data_dir=data_dir))
        try:
            yield ApiServer(url, services)
        finally:
            services.db.dispose()


def read_stream(response: httpx.Response, limit: int | None = None) -> list[dict]:
    """Parse a text/event-stream into events ({'id', 'data'} with `data` decoded), up to `limit`."""
    events, current = [], {}
    for line in response.iter_lines():
        if line == '':
            if 'data' in current:
                events.append({'id': current.get('id'), 'data': json.loads(current['data'])})
                if limit is not None and len(events) >= limit:
                    break
            current = {}
        elif line.startswith(':'):
            continue  # a heartbeat comment
        else:
            name, _, value = line.partition(':')
            current[name] = value[1:] if value.startswith(' ') else value
    return events
