"""Logging set-up: one format, and configured secrets masked wherever they would appear."""
from __future__ import annotations

import logging

MASK = '[redacted]'


class RedactSecrets(logging.Filter):
    """Replaces every configured secret (API key, OAuth client secret, storage secret) in a
    record's message and arguments, whichever logger wrote it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if any(secret in message or (record.exc_text and secret in record.exc_text) for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, MASK)
                if record.exc_text:
                    record.exc_text = record.exc_text.replace(secret, MASK)
            record.msg, record.args = message, None
        return True


def configure(secrets: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    logging.getLogger('alembic').setLevel(logging.WARNING)
    logging.getLogger('httpx').setLevel(logging.WARNING)  # request lines carry query strings
    redact = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(redact)
