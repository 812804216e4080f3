"""Test databases: a migrated SQLite file per test, and PostgreSQL when configured.

``TEST_DATABASE_URL`` (set by ``.ci/run``) names a PostgreSQL server database;
the suite creates its own throw-away database next to it, migrates it once,
and empties every table between tests, so tests see a real, fresh schema.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.storage.database import create_engine, migrate
from bot.storage.models import Base

TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"


@dataclass(frozen=True)
class TestDatabase:
    """A database a test may use: its URL and its backend name."""

    __test__ = False  # not a test class
    url: str
    backend: str


async def _migrate_url(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def sqlite_template(directory: Path) -> Path:
    """A migrated SQLite file to copy for each test (migrating once is faster)."""
    path = directory / "template.sqlite3"
    asyncio.run(_migrate_url(f"sqlite+aiosqlite:///{path}"))
    return path


def fresh_sqlite(template: Path, directory: Path) -> TestDatabase:
    path = directory / f"{uuid.uuid4().hex}.sqlite3"
    shutil.copyfile(template, path)
    return TestDatabase(f"sqlite+aiosqlite:///{path}", "sqlite")


def postgres_server_url() -> str | None:
    return os.environ.get(TEST_DATABASE_URL_ENV) or None


async def admin_statement(server_url: str, statement: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def postgres_session_database(server_url: str) -> Iterator[str]:
    """Create and migrate a private database for this test session; drop it after."""
    name = f"interview_bot_test_{uuid.uuid4().hex[:12]}"
    url = make_url(server_url).set(database=name)
    rendered = url.render_as_string(hide_password=False)
    asyncio.run(admin_statement(server_url, f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_migrate_url(rendered))
        yield rendered
    finally:
        asyncio.run(admin_statement(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def truncate_all(url: str) -> None:
    """Empty every table (not alembic_version) so the next test starts clean."""
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
