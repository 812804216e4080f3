"""Every query on a hot path is served by an index, whatever the history (PostgreSQL).

A private database is seeded with a bot that has run for months (400 chats, 120 days of
deliveries, reviews and cards each: ~150,000 rows, analysed), so the planner prefers an
index wherever one serves. Each hot path runs for real against a handful of chats while a
listener records every statement it sends; each recorded statement is then EXPLAINed
with its own parameters, and a sequential scan of deliveries, reviews or cards fails
the test, naming the statement.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from benchmarks.history import seed_history
from bot.domain.srs import Rating, review
from bot.domain.streaks import checkpoint_due
from bot.jobs import dispatch
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import groups as group_store
from bot.storage import learning
from bot.storage import progress as progress_store
from bot.storage import reminder_candidates as reminder_store
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import ReviewRow, StreakCheckpointRow
from bot.study.questions import pick_for_chat
from tests.support.databases import postgres_server_url, postgres_session_database

CONTENT = Path(__file__).resolve().parents[2] / "content"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CHATS = 400
DAYS = 120
WATCHED = {"deliveries", "reviews", "cards", "shown_questions", "chats"}
PICKED = [7, 42, 99, 150, 333]  # a batch: a few chats of many


@pytest.fixture(scope="module")
def seeded_url() -> Iterator[str]:
    server = postgres_server_url()
    if server is None:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL (as .ci/run does) to run this test")
    for url in postgres_session_database(server):
        # Analysed, not vacuumed: no visibility map makes an index-only scan look cheaper
        # than it is on a busy database (cards and deliveries change all day).
        asyncio.run(
            seed_history(
                url, chats=CHATS, days=DAYS, now=NOW, content=CONTENT, due=NOW, vacuum=False
            )
        )
        yield url


@pytest.fixture
async def plans_engine(seeded_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(seeded_url)
    yield engine
    await engine.dispose()


def _seq_scans(plan: Any) -> list[str]:
    found: list[str] = []
    if isinstance(plan, dict):
        if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in WATCHED:
            found.append(str(plan["Relation Name"]))
        for value in plan.values():
            found += _seq_scans(value)
    elif isinstance(plan, list):
        for item in plan:
            found += _seq_scans(item)
    return found


async def _statements(
    engine: AsyncEngine, work: Callable[[AsyncSession], Awaitable[object]]
) -> list[tuple[str, Any]]:
    """Run ``work`` in a transaction that is rolled back; the statements it sent."""
    sent: list[tuple[str, Any]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _c: Any, many: bool
    ) -> None:
        if not many and statement.lstrip().upper().startswith(
            ("SELECT", "UPDATE", "INSERT", "WITH", "DELETE")
        ):
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with create_sessionmaker(engine)() as session:
            await work(session)
            await session.rollback()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    return sent


async def _explain(engine: AsyncEngine, statement: str, parameters: Any) -> Any:
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan = result.scalar_one()
        await connection.rollback()
    return json.loads(plan) if isinstance(plan, str) else plan


async def _dispatch_reads(session: AsyncSession) -> None:
    await chat_store.claim_due_rows(session=session, now=NOW, limit=len(PICKED))
    rows = list(await chat_store.claim_due_chats(session=session, now=NOW, limit=len(PICKED)))
    ids = [row.id for row in rows] or PICKED
    await learning.soonest_cards_for_people(ids, session=session)
    await learning.due_cards_for_people(ids, session=session)
    await delivery_store.delivered_ids_for_chats(ids, session=session)
    await dispatch._existing_daily(session, ids, {NOW.date()})
    await group_store.delivered_at(PICKED[0], session=session)
    await group_store.group_streak_on(PICKED[0], zone="UTC", today=NOW.date(), session=session)


async def _question_reads(session: AsyncSession) -> None:
    chat = PICKED[1]
    settings = await chat_store.get_chat(chat, session=session)
    assert settings is not None
    await delivery_store.daily_delivery(chat, NOW.date(), session=session)
    await delivery_store.latest_sent_delivery(chat, session=session)
    await pick_for_chat(_bank(), settings, session=session, now=NOW)


def _bank() -> Any:
    from bot.content.check import load_checked_bank

    return load_checked_bank(CONTENT)


async def _reveal_and_grade(session: AsyncSession) -> None:
    chat = PICKED[2]
    delivery = await delivery_store.latest_sent_delivery(chat, session=session)
    assert delivery is not None
    await delivery_store.begin_reveal(delivery.id, chat, card_of=chat, session=session, now=NOW)
    target = await learning.grade_target(delivery.id, chat, session=session)
    assert target is not None
    await learning.record_grade(
        ReviewRow(
            person_id=chat,
            question_id=delivery.question_id,
            delivery_id=None,  # never conflicts: the insert path
            chat_id=chat,
            rating=int(Rating.GOOD),
            source="daily",
            reviewed_at=NOW,
            local_date=NOW.date(),
            utc_offset_minutes=0,
        ),
        review(None, Rating.GOOD, NOW),
        session=session,
    )


async def _stats_reads(session: AsyncSession) -> None:
    person = PICKED[3]
    await learning.study_snapshot(person, session=session, now=NOW, week_start=NOW - timedelta(7))
    await progress_store.reviews_per_day(person, session=session, since=NOW.date() - timedelta(365))
    await progress_store.card_dues(person, session=session, before=NOW + timedelta(days=31))
    await progress_store.graded_reviews(person, session=session, since=NOW - timedelta(days=30))
    await progress_store.card_lapses(person, session=session)
    await progress_store.chat_state(person, session=session)
    await progress_store.chat_review_instants(person, session=session, since=NOW - timedelta(366))
    await group_store.member_activity(person, session=session, week_start=NOW - timedelta(7))


async def _group_reads(session: AsyncSession) -> None:
    chat = PICKED[0]
    bank = _bank()
    topic = [question.id for question in bank.decks[0].questions]
    await group_store.recent_member_activity(
        chat, session=session, week_start=NOW - timedelta(7), since=NOW - timedelta(30)
    )
    await group_store.delivered_at_among(chat, [q.id for q in bank], session=session)
    await delivery_store.delivered_among(chat, topic, session=session)


async def _reminder_reads(session: AsyncSession) -> None:
    await reminder_store.claim_due(session=session, now=NOW, limit=10)
    # The seeded checkpoints: the join from each reads only the dates after it.
    kept = await group_store.histories_for_people(PICKED, session=session)
    assert all(h.fold is not None and len(h.runs) <= 1 for h in kept.values())
    # Without them (people's first read), and one missed day each (all rolled back): two
    # runs one date apart, so the edge marks the travel rule reads are queried too.
    await session.execute(
        delete(StreakCheckpointRow).where(StreakCheckpointRow.person_id.in_(PICKED))
    )
    gap = NOW.date() - timedelta(days=30)
    await session.execute(
        delete(ReviewRow).where(ReviewRow.person_id.in_(PICKED), ReviewRow.local_date == gap)
    )
    histories = await group_store.histories_for_people(PICKED, session=session)
    assert all(len(h.runs) == 2 and h.runs[0].last is not None for h in histories.values())
    # Written again (as the readers do when one lags), and read once more.
    folds = {p: checkpoint_due(h, now=NOW) for p, h in histories.items()}
    await learning.save_checkpoints({p: f for p, f in folds.items() if f}, session=session)
    kept = await group_store.histories_for_people(PICKED, session=session)
    assert all(h.fold is not None and len(h.runs) <= 1 for h in kept.values())


async def _export_reads(session: AsyncSession) -> None:
    person = PICKED[4]
    result = await progress_store.stream_reviews(person, session=session)
    async for _ in result.partitions(100):
        pass
    await progress_store.card_rows(person, session=session)
    await learning.study_runs(person, session=session)


HOT_PATHS: dict[str, Callable[[AsyncSession], Awaitable[None]]] = {
    "dispatch": _dispatch_reads,
    "/question and /next": _question_reads,
    "reveal and grade": _reveal_and_grade,
    "/stats, the picture and /weak": _stats_reads,
    "/top, a group's /stats, /question and /quiz": _group_reads,
    "reminders": _reminder_reads,
    "/export": _export_reads,
}


@pytest.mark.parametrize("path", list(HOT_PATHS))
async def test_hot_path_queries_use_indexes(plans_engine: AsyncEngine, path: str) -> None:
    statements = await _statements(plans_engine, HOT_PATHS[path])
    assert statements, "the hot path sent no statement"
    scans = []
    for statement, parameters in statements:
        seq = _seq_scans(await _explain(plans_engine, statement, parameters))
        if seq:
            scans.append(f"{', '.join(seq)}: {' '.join(statement.split())[:300]}")
    assert scans == []


async def test_the_seed_is_big_enough_for_the_planner(plans_engine: AsyncEngine) -> None:
    async with plans_engine.connect() as connection:
        counts = {
            table: await connection.scalar(text(f"SELECT count(*) FROM {table}"))
            for table in sorted(WATCHED)
        }
    assert counts["deliveries"] == CHATS * DAYS
    assert counts["reviews"] == CHATS * DAYS
    assert counts["cards"] >= CHATS * 100
