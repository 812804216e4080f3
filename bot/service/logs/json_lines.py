"""``LOG_FORMAT=json``: one JSON object per line, for log shippers.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``exception``
when there is one, and the fields a line carries, such as ``chat_id`` and
``update_id`` (given with ``extra=`` or bound by bot/service/logs/context.py). The token
filter runs before formatting, so the message and traceback are already redacted.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Attributes of every LogRecord; anything else on a record was added as a field.
_RECORD = logging.LogRecord("", 0, "", 0, "", None, None)
_STANDARD = frozenset(_RECORD.__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """A LogRecord as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value if isinstance(value, int | float | str | bool) else str(value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return json.dumps(data, ensure_ascii=False)
