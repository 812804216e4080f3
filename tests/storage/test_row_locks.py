"""bot/storage/locks.py ``lock_row`` on both backends: it says whether the row exists,
and a second transaction locking the same row waits for the first and then reads what
the first wrote (a read-modify-write in each, none lost, no "database is locked")."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.locks import lock_row
from bot.storage.models import ChatRow, DeckRow
from tests.support.databases import TestDatabase
from tests.support.statement_gate import StatementGate, blocked_or_done

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CHAT = 4242


def _chat() -> ChatRow:
    return ChatRow(
        id=CHAT, kind="private", active=True, paused=False, timezone="UTC",
        delivery_time="09:00", days=127, decks="ml", created_at=NOW, updated_at=NOW,
    )  # fmt: skip


async def _append(
    sessions: async_sessionmaker[AsyncSession], deck: str, *, locked: bool = True
) -> None:
    """A read-modify-write of the chat's decks."""
    async with sessions() as session, session.begin():
        if locked:
            assert await lock_row(session, ChatRow, CHAT)
        decks = await session.scalar(select(ChatRow.decks).where(ChatRow.id == CHAT))
        assert decks is not None
        await session.execute(
            update(ChatRow).where(ChatRow.id == CHAT).values(decks=f"{decks},{deck}")
        )


async def test_it_says_whether_the_row_exists(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add(_chat())
    for shared in (False, True):
        async with sessions() as session, session.begin():
            assert await lock_row(session, ChatRow, CHAT, shared=shared)
            assert not await lock_row(session, DeckRow, 1, shared=shared)


async def test_a_second_read_modify_write_waits_and_sees_the_first(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], database: TestDatabase
) -> None:
    """The first is held just before its write, its lock taken; the second locks the
    same row meanwhile: it waits, then reads the first's change and adds its own."""
    async with sessions() as session, session.begin():
        session.add(_chat())
    with StatementGate(engine, r"^UPDATE chats SET decks") as gate:
        first = asyncio.ensure_future(_append(sessions, "nlp"))
        await gate.wait_arrived()
        second = asyncio.ensure_future(_append(sessions, "u1"))
        await blocked_or_done(second, database, gate)
        assert not second.done()
        gate.release()
        async with asyncio.timeout(20):
            await first
            await second
    async with sessions() as session:
        assert await session.scalar(select(ChatRow.decks)) == "ml,nlp,u1"


async def test_without_the_lock_the_first_change_is_lost(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], database: TestDatabase
) -> None:
    """The same interleaving without ``lock_row``: what the test above guards against."""
    async with sessions() as session, session.begin():
        session.add(_chat())
    with StatementGate(engine, r"^UPDATE chats SET decks") as gate:
        first = asyncio.ensure_future(_append(sessions, "nlp", locked=False))
        await gate.wait_arrived()
        await _append(sessions, "u1", locked=False)
        gate.release()
        async with asyncio.timeout(20):
            await first
    async with sessions() as session:
        assert await session.scalar(select(ChatRow.decks)) == "ml,nlp"
