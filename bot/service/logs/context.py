"""The update and chat a log line belongs to, carried by context variables.

The update processor binds them while it handles an update (bot/service/metrics.py), so
every line logged meanwhile, by any module, can name them; the JSON log format
writes them as fields (bot/service/logs/json_lines.py).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token

from telegram import Update

_UPDATE: ContextVar[tuple[int | None, int | None] | None] = ContextVar(
    "interview_bot_update", default=None
)


def bind_update(update: object) -> Token[tuple[int | None, int | None] | None]:
    """Mark the current task as handling ``update``; pass the token to ``reset``."""
    if isinstance(update, Update):
        chat = update.effective_chat
        return _UPDATE.set((update.update_id, chat.id if chat else None))
    return _UPDATE.set(None)


def reset(token: Token[tuple[int | None, int | None] | None]) -> None:
    _UPDATE.reset(token)


class UpdateFieldsFilter(logging.Filter):
    """Adds ``update_id`` and ``chat_id`` to a record when known and not given already."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _UPDATE.get()
        if bound is not None:
            update_id, chat_id = bound
            if update_id is not None and not hasattr(record, "update_id"):
                record.update_id = update_id
            if chat_id is not None and not hasattr(record, "chat_id"):
                record.chat_id = chat_id
        return True
