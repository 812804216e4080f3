"""Riding out a database outage: recognise it, say so once, notice when it ends.

A PostgreSQL restart or failover makes every statement fail for a while. The bot
keeps running: handlers answer with ``UNAVAILABLE`` (bot/handlers/errors.py), the
dispatcher's tick fails and the next one retries, and the outcome recorder holds
send outcomes until they can be written (bot/jobs/send_outcomes.py). ``DatabaseStatus`` turns
a flood of failures into one log line when the database goes away and one when a
probe finds it back, instead of a traceback per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import weakref
from collections.abc import Callable
from types import TracebackType

import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.service import metrics

log = logging.getLogger(__name__)

UNAVAILABLE = "I can't reach my data right now, try again in a minute."
UNAVAILABLE_BUTTON = "I can't reach my data right now. Please press the button again in a minute."
PING_TIMEOUT_SECONDS = 1.0
PROBE_INTERVAL_SECONDS = 1.0
_DRIVER_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3")


def is_unavailable(error: BaseException | None) -> bool:
    """True when ``error`` means the database could not be reached (not a bug in a query).

    Only connection-level failures count: connection refused or reset, a dropped
    connection, a connect or pool timeout, the server shutting down or refusing
    connections, and on SQLite a lock still held when the busy timeout ran out or a
    file that cannot be opened. A schema or query error ("no such table", a syntax
    error, a constraint) is a bug, even when the driver calls it an
    OperationalError: it gets a traceback and an apology, not "try again" and a
    retry loop. A driver's OSError or TimeoutError counts only when it was raised
    inside the database stack, so an unrelated network error is not mistaken for an
    outage.
    """
    seen: set[int] = set()
    waiting = [error]
    while waiting:
        current = waiting.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _is_unavailable_one(current):
            return True
        waiting.append(current.__cause__ or current.__context__)
        if isinstance(current, sqlalchemy.exc.DBAPIError) and isinstance(
            current.orig, BaseException
        ):
            waiting.append(current.orig)  # the driver's error, judged on its own
    return False


# SQLite's connection-level failures (SQLITE_BUSY past the busy timeout, SQLITE_CANTOPEN);
# every other sqlite3.OperationalError ("no such table", "near ...: syntax error") is a bug.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file")
# SQLSTATEs of a server that cannot be used: class 08 (connection exception), operator
# intervention (shutdown, crash, cannot connect now), too many connections.
_POSTGRES_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03", "53300")


def _is_unavailable_one(error: BaseException) -> bool:
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        # The driver's own error (error.orig, its cause) is judged on its own when the
        # walk reaches it; here only what SQLAlchemy knows: the connection was lost.
        return bool(error.connection_invalidated)
    if isinstance(error, sqlalchemy.exc.TimeoutError):  # pool checkout timed out
        return True
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        return any(text_ in message for text_ in _SQLITE_UNAVAILABLE)
    if _is_asyncpg_connection_error(error):
        return True
    if isinstance(error, OSError | TimeoutError):
        return _raised_in_driver(error.__traceback__)
    return False


def _is_asyncpg_connection_error(error: BaseException) -> bool:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    if isinstance(error, asyncpg.InterfaceError):
        # "connection is closed"; not "another operation is in progress" (a bug).
        return "closed" in str(error).lower()
    if isinstance(error, asyncpg.PostgresError):
        state = str(getattr(error, "sqlstate", "") or "")
        return state.startswith("08") or state in _POSTGRES_UNAVAILABLE_STATES
    return False


def _raised_in_driver(tb: TracebackType | None) -> bool:
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        tb = tb.tb_next
    return False


def describe(error: BaseException) -> str:
    """The root cause in one short line: its class and the first line of its message."""
    root: BaseException = error
    while root.__cause__ is not None:
        root = root.__cause__
    text_ = str(root).strip().splitlines()[0] if str(root).strip() else ""
    return f"{type(root).__name__}: {text_}"[:200] if text_ else type(root).__name__


async def ping(engine: AsyncEngine) -> bool:
    """``SELECT 1`` within ``PING_TIMEOUT_SECONDS``."""
    try:
        async with asyncio.timeout(PING_TIMEOUT_SECONDS):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception:  # any failure means "not answering", which is all a ping says
        return False
    return True


class DatabaseStatus:
    """Up or down, with one log line per change; a probe watches for the way back."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        probe_interval: float = PROBE_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Weak: the status lives in a WeakKeyDictionary keyed by this engine.
        self._engine = weakref.ref(engine)
        self._probe_interval = probe_interval
        self._clock = clock
        self._down_since: float | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def up(self) -> bool:
        return self._down_since is None

    def failed(self, error: BaseException) -> None:
        """A database operation failed with an outage error (see ``is_unavailable``)."""
        metrics.DATABASE_ERRORS.inc()
        if self._down_since is not None:
            return
        self._down_since = self._clock()
        log.error(
            "database unreachable (%s); answering 'try again' and retrying until it is back",
            describe(error),
        )
        self._probe = asyncio.get_running_loop().create_task(self._watch(), name="database-probe")

    def succeeded(self) -> None:
        """A database operation worked: if it was down, it is back."""
        if self._down_since is None:
            return
        seconds = self._clock() - self._down_since
        self._down_since = None
        log.warning("database reachable again after %.0f s", seconds)

    async def _watch(self) -> None:
        while self._down_since is not None:
            await asyncio.sleep(self._probe_interval)
            engine = self._engine()
            if engine is None:
                return
            if await ping(engine):
                self.succeeded()

    async def close(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None and not probe.done():
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe


_STATUS: weakref.WeakKeyDictionary[AsyncEngine, DatabaseStatus] = weakref.WeakKeyDictionary()


def status_of(engine: AsyncEngine) -> DatabaseStatus:
    """The one DatabaseStatus of an engine (created on first use, gone with the engine)."""
    status = _STATUS.get(engine)
    if status is None:
        status = _STATUS[engine] = DatabaseStatus(engine)
    return status


async def close(engine: AsyncEngine) -> None:
    """Stop watching an engine (on shutdown, before it is disposed)."""
    status = _STATUS.pop(engine, None)
    if status is not None:
        await status.close()
