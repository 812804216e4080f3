"""The shared send budget's statements on PostgreSQL (bot/telegram/send_budget.py).

Two ``SharedBudget`` objects on one database stand for two instances. The tests
read the stored schedule (``tat``) on the database's own clock, so they assert
exact bookings rather than elapsed time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.telegram.limits import PRIVATE_BURST
from bot.telegram.send_budget import (
    GROUP_BURST,
    HORIZON_SECONDS,
    OVERALL_KEY,
    PRIVATE_INTERVAL_SECONDS,
    Denied,
    Lease,
    SharedBudget,
)
from tests.support.databases import TestDatabase

T = 0.04  # seconds between two leased instants


@pytest.fixture
async def pg(database: TestDatabase) -> AsyncIterator[asyncpg.Connection]:
    if database.backend != "postgresql":
        pytest.skip("the shared budget is PostgreSQL's (SQLite is one process)")
    dsn = make_url(database.url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    yield connection
    await connection.close()


@pytest.fixture
async def budgets(database: TestDatabase) -> AsyncIterator[tuple[SharedBudget, SharedBudget]]:
    a, b = SharedBudget(database.url), SharedBudget(database.url)
    yield a, b
    await a.close()
    await b.close()


async def booked_ahead(pg: asyncpg.Connection, key: str = OVERALL_KEY) -> float:
    """How far the schedule reaches past the database's now, in seconds."""
    value = await pg.fetchval(
        "SELECT extract(epoch FROM tat - now())::float8 FROM send_budget WHERE key = $1", key
    )
    return float(value)


async def book_until(pg: asyncpg.Connection, seconds: float, key: str = OVERALL_KEY) -> str:
    """Set the schedule to end ``seconds`` from now; returns that instant (as text)."""
    return str(
        await pg.fetchval(
            "INSERT INTO send_budget (key, tat) VALUES ($1, now() + $2 * interval '1 second') "
            "ON CONFLICT (key) DO UPDATE SET tat = excluded.tat RETURNING tat::text",
            key,
            seconds,
        )
    )


async def tat_minus(pg: asyncpg.Connection, instant: str, key: str = OVERALL_KEY) -> float:
    """Seconds from ``instant`` to the stored schedule's end (database values only)."""
    value = await pg.fetchval(
        "SELECT extract(epoch FROM tat - $2::text::timestamptz)::float8 FROM send_budget "
        "WHERE key = $1",
        key,
        instant,
    )
    return round(float(value), 6)


async def test_instances_lease_consecutive_instants(
    pg: asyncpg.Connection, budgets: tuple[SharedBudget, SharedBudget]
) -> None:
    a, b = budgets
    start = await book_until(pg, 0.05)  # within the horizon: broadcast is granted
    first = await a.lease(OVERALL_KEY, 5, T, interactive=False)
    second = await b.lease(OVERALL_KEY, 5, T, interactive=True)
    assert isinstance(first, Lease)
    assert isinstance(second, Lease)
    assert (first.count, second.count) == (5, 5)
    # Both blocks were booked one after the other: ten instants T apart, none shared.
    assert await tat_minus(pg, start) == pytest.approx(10 * T)
    assert second.end_in > first.end_in - 1e-6


async def test_the_first_lease_creates_the_row(
    pg: asyncpg.Connection, budgets: tuple[SharedBudget, SharedBudget]
) -> None:
    a, _ = budgets
    lease = await a.lease(OVERALL_KEY, 3, T, interactive=False)
    assert isinstance(lease, Lease)
    assert (lease.count, lease.interval) == (3, T)
    assert lease.end_in == pytest.approx(3 * T)  # from the database's now
    assert lease.instants(100.0) == pytest.approx([100.0, 100.0 + T, 100.0 + 2 * T])


async def test_broadcast_is_denied_beyond_the_horizon_but_a_reply_is_not(
    pg: asyncpg.Connection, budgets: tuple[SharedBudget, SharedBudget]
) -> None:
    a, b = budgets
    start = await book_until(pg, 10.0)
    denied = await a.lease(OVERALL_KEY, 5, T, interactive=False)
    assert isinstance(denied, Denied)
    assert 0 < denied.retry_in <= 10.0 - HORIZON_SECONDS
    assert await tat_minus(pg, start) == 0, "a denied lease books nothing"
    reply = await b.lease(OVERALL_KEY, 1, T, interactive=True)
    assert isinstance(reply, Lease)
    assert await tat_minus(pg, start) == pytest.approx(T), "the reply's instant is booked"


async def test_retry_after_moves_every_instances_schedule(
    pg: asyncpg.Connection, budgets: tuple[SharedBudget, SharedBudget]
) -> None:
    a, b = budgets
    await a.lease(OVERALL_KEY, 1, T, interactive=True)
    await a.pause(OVERALL_KEY, 30.0)
    assert await booked_ahead(pg) > 29.0
    lease = await b.lease(OVERALL_KEY, 1, T, interactive=True)
    assert isinstance(lease, Lease)
    assert lease.instants(0.0)[0] >= 29.0, "the other instance sends after the pause"


async def test_a_private_chat_is_paced_across_instances(
    budgets: tuple[SharedBudget, SharedBudget], pg: asyncpg.Connection
) -> None:
    a, b = budgets
    chat = 4242
    waits = [await (a if index % 2 else b).reserve_chat(chat) for index in range(PRIVATE_BURST)]
    assert waits == [0.0] * PRIVATE_BURST, "a burst, whichever instance sends"
    fourth = await a.reserve_chat(chat)
    assert 0 < fourth <= PRIVATE_INTERVAL_SECONDS
    assert await b.reserve_chat(chat) > fourth
    assert await a.reserve_chat(4243) == 0.0, "another chat is not held"


async def test_a_group_gets_a_burst_then_waits(
    budgets: tuple[SharedBudget, SharedBudget], pg: asyncpg.Connection
) -> None:
    a, b = budgets
    group = -100777
    waits = [await (a, b)[index % 2].reserve_chat(group) for index in range(GROUP_BURST + 1)]
    assert waits[:GROUP_BURST] == [0.0] * GROUP_BURST
    assert waits[GROUP_BURST] > 0
    assert await booked_ahead(pg, f"c:{group}") > 0


async def test_idle_chat_rows_are_pruned(
    pg: asyncpg.Connection, budgets: tuple[SharedBudget, SharedBudget]
) -> None:
    a, _ = budgets
    await pg.execute(
        "INSERT INTO send_budget (key, tat) VALUES ('c:1', now() - interval '2 minutes'), "
        "('c:2', now()), ('overall', now() - interval '1 hour')"
    )
    await a._prune()
    keys = {row["key"] for row in await pg.fetch("SELECT key FROM send_budget")}
    assert keys == {"c:2", "overall"}


async def test_an_unreachable_database_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    budget = SharedBudget("postgresql+asyncpg://postgres@127.0.0.1:1/none", statement_timeout=0.2)
    try:
        with caplog.at_level(logging.INFO, logger="bot.telegram.send_budget"):
            assert await budget.lease(OVERALL_KEY, 5, T, interactive=True) is None
            assert await budget.reserve_chat(1) == 0.0
            await budget.pause(OVERALL_KEY, 1.0)
            assert budget._pool is None, "after the failure the database is left alone a while"
        lines = [r for r in caplog.records if r.name == "bot.telegram.send_budget"]
        assert len(lines) == 1
        assert "shared send budget unavailable" in lines[0].getMessage()
        assert lines[0].exc_info is None
    finally:
        await budget.close()
