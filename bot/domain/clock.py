"""Time as a value: the domain never reads the clock itself.

Every function in ``bot.domain`` takes ``now`` as an argument so that tests can
pin exact instants and so that one request sees one consistent "now". The only
place that asks the operating system for the time is :func:`system_clock`,
which the application injects wherever a :data:`Clock` is expected.

All instants inside the domain are timezone-aware UTC datetimes. Naive
datetimes are rejected rather than guessed at: a naive value is almost always a
bug (``datetime.utcnow()``, a database column without a zone) and silently
treating it as UTC or as local time would shift deliveries by hours.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A zero-argument callable returning the current instant (aware, UTC)."""


def require_utc(dt: datetime, name: str = "datetime") -> datetime:
    """Return ``dt`` converted to UTC; raise ``ValueError`` if it is naive.

    Any aware datetime is accepted (``+02:00``, ``ZoneInfo("Europe/Berlin")``…)
    and converted to the same instant in UTC, so callers may pass local
    instants. ``name`` only makes the error message point at the culprit.
    """
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {dt.isoformat()}")
    return dt.astimezone(UTC)


def system_clock() -> datetime:
    """The real current instant in UTC; the production :data:`Clock`."""
    return datetime.now(UTC)
