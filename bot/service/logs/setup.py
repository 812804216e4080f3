"""Logging configuration, including the filter that keeps the bot token out of logs.

The token is part of every Bot API URL. httpx logs request URLs at INFO and
python-telegram-bot logs the API URL at DEBUG, and exceptions may quote URLs
too, so every record is redacted in one place: a filter on the root handler.
SQL statement parameters (which carry typed answers) are kept out at the source:
the engine hides them (bot/storage/database.py) and aiosqlite's DEBUG lines are off.
"""

from __future__ import annotations

import logging
import sys
from urllib.parse import quote

from bot.service.logs.context import UpdateFieldsFilter
from bot.service.logs.json_lines import JsonFormatter

REDACTED = "<BOT_TOKEN>"


class TokenRedactingFilter(logging.Filter):
    """Replace the token (plain or URL-encoded) in a record's message and traceback."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        variants = {s for secret in secrets if secret for s in (secret, quote(secret, safe=""))}
        self._secrets = sorted(variants, key=len, reverse=True)
        self._plain = logging.Formatter()

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(self._plain.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(
    level: str, *, secrets: list[str], log_format: str = "text"
) -> logging.Handler:
    """Log to stderr at ``level`` with the token redacted; returns the handler.

    ``log_format="json"`` writes one JSON object per line (bot/service/logs/json_lines.py).
    """
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(TokenRedactingFilter(secrets))
    handler.addFilter(UpdateFieldsFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiosqlite logs every operation at DEBUG with its arguments: the SQL statement's
    # parameters, typed answers included. Statement parameters never reach the logs (the
    # engine's hide_parameters covers SQLAlchemy's own errors and echo), so it stays quiet.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    # At INFO httpx logs one line per Bot API call (long polling included), and
    # APScheduler two per dispatcher tick: noise.
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler
