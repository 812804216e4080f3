"""The dispatcher's storage, exact rows on both databases: the claim as Core rows, the
batch's deliveries in one INSERT, the chats' next due instants in one executemany, and
the shown-questions set written with every delivery (and filled by its migration)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Connection, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage import chats as chat_store
from bot.storage import deliveries, people
from bot.storage import groups as group_store
from bot.storage.database import alembic_config
from bot.storage.models import ChatRow, DeliveryRow, ShownQuestionRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
LEASE = timedelta(seconds=60)
ADA, BEN, CYD, DOT = 1001, 1002, 1003, 1004


async def _chats(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Four chats: Ada and Ben due (Ben earlier), Cyd paused, Dot due tomorrow."""
    async with sessions() as session, session.begin():
        for chat in (ADA, BEN, CYD, DOT):
            await add_person_with_private_chat(session, chat, now=NOW)
        dues = {ADA: NOW, BEN: NOW - timedelta(minutes=5), CYD: NOW, DOT: NOW + timedelta(days=1)}
        for chat, due in dues.items():
            await session.execute(
                update(ChatRow)
                .where(ChatRow.id == chat)
                .values(next_due_at=due, paused=chat == CYD, last_delivered_on=date(2026, 3, 1))
            )


async def test_claim_due_rows_are_the_due_chats_in_due_order_with_their_settings(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _chats(sessions)
    async with sessions() as session, session.begin():
        rows = await chat_store.claim_due_rows(session=session, now=NOW, limit=10)
        settings = [chat_store.to_settings(row) for row in rows]
        limited = await chat_store.claim_due_rows(session=session, now=NOW, limit=1)
    assert [(s.chat_id, s.next_due_at, s.last_delivered_on, s.decks) for s in settings] == [
        (BEN, NOW - timedelta(minutes=5), date(2026, 3, 1), ("ml",)),
        (ADA, NOW, date(2026, 3, 1), ("ml",)),
    ]
    assert [row.id for row in limited] == [BEN]


async def test_reschedule_many_stores_next_due_last_delivered_and_updated_at(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _chats(sessions)
    later = NOW + timedelta(seconds=3)
    async with sessions() as session, session.begin():
        ben, ada = (
            chat_store.to_settings(row)
            for row in await chat_store.claim_due_rows(session=session, now=NOW, limit=2)
        )
        await chat_store.reschedule_many(
            [
                chat_store.rescheduled_row(ada.rescheduled(now=NOW), now=later),
                chat_store.rescheduled_row(
                    replace(ben, last_delivered_on=TODAY).rescheduled(now=NOW), now=later
                ),
            ],
            session=session,
        )
    async with sessions() as session:
        stored = (
            await session.execute(
                select(
                    ChatRow.id, ChatRow.next_due_at, ChatRow.last_delivered_on, ChatRow.updated_at
                ).order_by(ChatRow.id)
            )
        ).all()
    tomorrow = NOW + timedelta(days=1)
    assert [tuple(row) for row in stored] == [
        (ADA, NOW, date(2026, 3, 1), later),  # 09:00 today is still to come for Ada
        (BEN, tomorrow, TODAY, later),
        (CYD, NOW, date(2026, 3, 1), NOW),
        (DOT, tomorrow, date(2026, 3, 1), NOW),
    ]


async def _shown(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, str, datetime]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                ShownQuestionRow.chat_id, ShownQuestionRow.question_id, ShownQuestionRow.posted_at
            ).order_by(ShownQuestionRow.chat_id, ShownQuestionRow.question_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_insert_daily_many_records_pending_leased_deliveries_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _chats(sessions)
    async with sessions() as session, session.begin():
        ids = await deliveries.insert_daily_many(
            [(BEN, "q2", TODAY), (ADA, "q1", TODAY)], session=session, now=NOW, lease=LEASE
        )
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    DeliveryRow.id,
                    DeliveryRow.chat_id,
                    DeliveryRow.question_id,
                    DeliveryRow.kind,
                    DeliveryRow.daily_on,
                    DeliveryRow.status,
                    DeliveryRow.attempts,
                    DeliveryRow.lease_until,
                    DeliveryRow.created_at,
                ).order_by(DeliveryRow.id)
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (ids[0], BEN, "q2", "daily", TODAY, "pending", 0, NOW + LEASE, NOW),
        (ids[1], ADA, "q1", "daily", TODAY, "pending", 0, NOW + LEASE, NOW),
    ]
    assert ids[0] < ids[1]
    assert await _shown(sessions) == [(ADA, "q1", NOW), (BEN, "q2", NOW)]


async def test_insert_daily_many_refuses_a_second_daily_of_the_same_date(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _chats(sessions)
    async with sessions() as session, session.begin():
        await deliveries.insert_daily_many(
            [(ADA, "q1", TODAY)], session=session, now=NOW, lease=LEASE
        )
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await deliveries.insert_daily_many(
                [(BEN, "q2", TODAY), (ADA, "q3", TODAY)], session=session, now=NOW, lease=LEASE
            )
    assert await _shown(sessions) == [(ADA, "q1", NOW)]  # the failed batch left nothing


GROUP = -100


async def _add_group(session: AsyncSession) -> None:
    session.add(
        ChatRow(
            id=GROUP, kind="group", active=True, paused=False, timezone="UTC",
            delivery_time="09:00", days=127, decks="", created_at=NOW, updated_at=NOW,
        )
    )  # fmt: skip
    await session.flush()


async def test_shown_questions_keep_each_question_once_a_groups_with_its_latest_instant(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _chats(sessions)
    later = NOW + timedelta(days=1)
    async with sessions() as session, session.begin():
        await _add_group(session)
        for chat, question, at in (
            (ADA, "q1", NOW),
            (ADA, "q2", NOW),
            (ADA, "q1", later),  # a private chat's row keeps when it was first shown
            (BEN, "q1", NOW),
            (GROUP, "q1", later),
            (GROUP, "q2", NOW),
            (GROUP, "q2", later),  # a group's row moves to the newest post
            (GROUP, "q1", NOW),  # and never back
        ):
            row = await deliveries.create_delivery(
                session=session, chat_id=chat, question_id=question, now=at, daily_on=None
            )
            assert row is not None
        daily = await deliveries.create_delivery(
            session=session, chat_id=BEN, question_id="q9", now=NOW, daily_on=TODAY
        )
        again = await deliveries.create_delivery(
            session=session, chat_id=BEN, question_id="q8", now=NOW, daily_on=TODAY
        )
        batch = await deliveries.insert_daily_many(
            [(GROUP, "q3", TODAY), (ADA, "q3", TODAY)], session=session, now=later, lease=LEASE
        )
    assert daily is not None
    assert again is None  # the daily of that date exists: not shown, not recorded
    assert len(batch) == 2
    assert await _shown(sessions) == [
        (GROUP, "q1", later),
        (GROUP, "q2", later),
        (GROUP, "q3", later),
        (ADA, "q1", NOW),
        (ADA, "q2", NOW),
        (ADA, "q3", later),
        (BEN, "q1", NOW),
        (BEN, "q9", NOW),
    ]
    async with sessions() as session:
        assert await deliveries.delivered_ids_for_chats([ADA, BEN, CYD], session=session) == {
            ADA: {"q1", "q2", "q3"},
            BEN: {"q1", "q9"},
            CYD: set(),
        }
        assert await deliveries.delivered_question_ids(ADA, session=session) == {"q1", "q2", "q3"}
        assert await group_store.delivered_at(GROUP, session=session) == {
            "q1": later,
            "q2": later,
            "q3": later,
        }
    async with sessions() as session, session.begin():
        await people.forget_person(ADA, session=session)
    assert [(chat, question) for chat, question, _ in await _shown(sessions)] == [
        (GROUP, "q1"),
        (GROUP, "q2"),
        (GROUP, "q3"),
        (BEN, "q1"),
        (BEN, "q9"),
    ]


BEFORE = "3d9196e5f1d4"


def _downgrade(connection: Connection) -> None:
    from alembic import command

    command.downgrade(alembic_config(connection), BEFORE)


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


async def test_the_migration_fills_shown_questions_from_the_deliveries(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _chats(sessions)
    later = NOW + timedelta(hours=1)
    async with sessions() as session, session.begin():
        await _add_group(session)
        for chat, question, at in (
            (BEN, "q1", later),
            (BEN, "q2", NOW),
            (BEN, "q1", NOW),
            (GROUP, "q1", NOW),
            (GROUP, "q1", later),
        ):
            await deliveries.create_delivery(
                session=session, chat_id=chat, question_id=question, now=at, daily_on=None
            )
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade)
        await connection.execute(
            text(
                "INSERT INTO deliveries (chat_id, question_id, kind, status, attempts, created_at)"
                " SELECT chat_id, question_id, kind, status, attempts, created_at FROM deliveries"
            )
        )  # twice each, as a long history has them
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
    assert await _shown(sessions) == [
        (GROUP, "q1", later),  # a group: when last posted
        (BEN, "q1", NOW),  # a private chat: when first shown
        (BEN, "q2", NOW),
    ]
