"""An outage or a bug, told apart on real databases (issue 14, part 4).

Only connection-level failures mean "the database is unreachable": a refused or
reset connection, a timeout, SQLite's lock past the busy timeout. A schema or
query error (a missing table, a syntax error) is a bug: the person gets the
generic apology, the log gets one traceback, and nothing retries it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.handlers.errors import APOLOGY
from bot.service import db_outage
from bot.storage.database import create_engine
from tests.support.bot_harness import RunningBot
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

ADA = 1001


async def _error_of(engine: AsyncEngine, statement: str) -> Exception:
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    except Exception as error:
        return error
    raise AssertionError(f"{statement!r} did not fail")


@pytest.mark.parametrize(
    "statement", ["SELECT * FROM no_such_table", "SELEC 1", "SELECT no_such_column FROM chats"]
)
async def test_schema_and_query_errors_are_bugs(engine: AsyncEngine, statement: str) -> None:
    assert not db_outage.is_unavailable(await _error_of(engine, statement))


async def test_a_connection_refused_is_an_outage(database: TestDatabase) -> None:
    if database.backend != "postgresql":
        pytest.skip("a server that refuses connections")
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    try:
        assert db_outage.is_unavailable(await _error_of(engine, "SELECT 1"))
    finally:
        await engine.dispose()


async def test_sqlite_locked_past_the_busy_timeout_is_an_outage(
    database: TestDatabase, engine: AsyncEngine
) -> None:
    if database.backend != "sqlite":
        pytest.skip("SQLite's write lock")
    impatient = create_async_engine(database.url, connect_args={"timeout": 0})
    try:
        async with engine.connect() as holder:
            await holder.execute(text("BEGIN IMMEDIATE"))
            error = await _error_of(impatient, "UPDATE chats SET title = 'x'")
            await holder.execute(text("ROLLBACK"))
    finally:
        await impatient.dispose()
    assert "locked" in str(error)
    assert db_outage.is_unavailable(error)


async def test_postgres_terminating_the_connection_is_an_outage(
    database: TestDatabase, engine: AsyncEngine
) -> None:
    if database.backend != "postgresql":
        pytest.skip("a server-side disconnect")
    async with engine.connect() as victim:
        pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as admin:
            await admin.execute(text(f"SELECT pg_terminate_backend({int(pid)})"))
            await admin.commit()
        with pytest.raises(Exception) as failure:  # noqa: PT011 - whatever the driver raises
            await victim.execute(text("SELECT 1"))
    assert db_outage.is_unavailable(failure.value)


@asynccontextmanager
async def _table_away(database: TestDatabase, table: str) -> AsyncIterator[None]:
    """Rename a table for a while: every query on it fails as with a missing migration."""
    engine = create_engine(database.url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
        try:
            yield
        finally:
            async with engine.begin() as connection:
                await connection.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
    finally:
        await engine.dispose()


async def test_a_missing_table_gets_an_apology_and_one_traceback(
    tg: FakeTelegram, bot: RunningBot, database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    tg.private_chat(ADA, "Ada")
    await tg.send_text(ADA, ADA, "/start")
    await tg.wait_for_messages(ADA, 1)
    caplog.set_level(logging.INFO)
    async with _table_away(database, "reviews"):
        await tg.send_text(ADA, ADA, "/stats")
        replies = await tg.wait_for_messages(ADA, 2)
    assert replies[-1].plain_text == APOLOGY
    records = [r for r in caplog.records if r.name.startswith("bot")]
    tracebacks = [r for r in records if r.exc_info]
    assert len(tracebacks) == 1, [r.getMessage() for r in tracebacks]
    assert not any("database unreachable" in r.getMessage() for r in records)
    assert db_outage.status_of(bot.services.engine).up


async def test_a_tick_failing_on_a_bug_logs_one_traceback_not_one_per_tick(
    tg: FakeTelegram, bot: RunningBot, database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    """The reminders table missing: every tick fails (every 50 ms here), one traceback."""
    caplog.set_level(logging.INFO)
    async with _table_away(database, "reminders"):

        def failures() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.exc_info and r.name.startswith("bot")]

        await tg.wait_for(lambda: len(failures()) >= 1, what="the failing tick's traceback")
        await asyncio.sleep(1.0)  # about twenty more failing ticks
        assert len(failures()) == 1, [r.getMessage() for r in failures()]
        assert not any("database unreachable" in r.getMessage() for r in caplog.records)
    await tg.wait_for(
        lambda: any("works again" in r.getMessage() for r in caplog.records),
        what="the tick working again",
    )


async def test_the_notices_sender_failing_on_a_bug_logs_one_traceback_not_one_per_run(
    tg: FakeTelegram, bot: RunningBot, database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    """The notices table missing: the sender's every run fails (every 50 ms here, as the
    dispatcher's tick), one traceback; and a line when it works again."""
    caplog.set_level(logging.INFO)
    async with _table_away(database, "notices"):

        def failures() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.exc_info and r.name.startswith("bot")]

        await tg.wait_for(lambda: len(failures()) >= 1, what="the failing run's traceback")
        await asyncio.sleep(1.0)  # about twenty more failing runs
        assert len(failures()) == 1, [r.getMessage() for r in failures()]
        assert failures()[0].getMessage() == "sending notices failed; the next run tries again"
    await tg.wait_for(
        lambda: any("sending notices works again" in r.getMessage() for r in caplog.records),
        what="the sender working again",
    )
