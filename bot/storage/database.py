"""Engine and session factories, and applying migrations at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from alembic.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = REPO_ROOT / "migrations"
_REVISION = re.compile(
    r"^(down_revision|revision)\b[^=]*=\s*(?:\"([0-9a-f]+)\"|None)", re.MULTILINE
)
CONNECT_TIMEOUT_SECONDS = 5


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on, WAL for concurrent readers, and a patient busy timeout."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str, *, pool_size: int | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``; for SQLite files the folder is created first.

    ``pool_size`` connections are kept open and none beyond them are made: with
    SQLAlchemy's default overflow, a crowd of concurrent updates opened and
    closed extra connections all the time (on PostgreSQL a new server process
    and TLS set-up each, seen as a fifth of the bot's CPU in a burst of grades),
    where waiting a moment for a pooled one is nearly free. Statement parameters are
    never shown in errors or logs (``hide_parameters``).
    """
    # A failed statement's error (and so its log line and traceback) would otherwise
    # include the values bound to it, and those carry what people typed.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    in_memory = parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")
    if pool_size is not None and not in_memory:
        kwargs.setdefault("pool_size", pool_size)
        kwargs.setdefault("max_overflow", 0)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if database and database != ":memory:":
            event.listen(engine.sync_engine, "connect", _sqlite_wal)
        return engine
    # No pool_pre_ping: it costs a round trip on every checkout, i.e. on every update.
    # A connection that died with the server fails its first statement instead; that
    # invalidates the whole pool (SQLAlchemy's disconnect handling), the caller gets
    # "try again" (bot/service/db_outage.py) and the next checkout reconnects.
    # A server that hangs instead of refusing (failover, network partition) must not hold
    # a handler for asyncpg's default of 60 s: fail in 5 s and answer "try again".
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "asyncpg":
        kwargs.setdefault("connect_args", {}).setdefault("timeout", CONNECT_TIMEOUT_SECONDS)
    return create_async_engine(url, **kwargs)


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_autocommit_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads and single-statement writes, without BEGIN and ROLLBACK.

    On PostgreSQL a session opens a transaction with a round trip of its own
    (BEGIN) and ends it with another (ROLLBACK or COMMIT): for an update that
    reads twice that is half its round trips. In AUTOCOMMIT each statement is
    its own transaction, which is all a read or one conditional UPDATE needs.
    (asyncpg keeps the isolation level on the client: switching costs no round
    trip.) SQLite's driver emits BEGIN only before a write anyway, and setting
    the level there is a thread hop each way: plain sessions there.
    """
    if engine.dialect.name != "postgresql":
        return create_sessionmaker(engine)
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, pointing at ``migrations/``; no ini file needed."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def head_revision() -> str | None:
    """The newest revision id, read from the revision files' text.

    Importing Alembic and loading its script directory costs a noticeable part
    of start-up; this reads two assignments per file. A test checks it agrees
    with Alembic's own answer.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def _current_revision(engine: AsyncEngine) -> str | None:
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar()
    except DBAPIError:
        return None  # a new database: no alembic_version table yet


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (idempotent; Alembic only when needed)."""
    head = head_revision()
    if head is not None and await _current_revision(engine) == head:
        return
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
