"""What /stats reads about a person (learning.study_snapshot), on both backends.

The due and shown question ids come back aggregated (an array on PostgreSQL, a JSON
array on SQLite) rather than a row each, the cards due soon narrowed to the person's
own day in Python; these are the exact ids either way, and empty (not None) for a
person with no cards or deliveries.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.content import Bank, Deck, Question, Source
from bot.domain.streaks import (
    StudyHistory,
    StudyMark,
    checkpoint_due,
    compute_streak,
    compute_streak_of_history,
)
from bot.storage import learning
from bot.storage.deliveries import record_shown
from bot.storage.models import AddedDeckRow, CardRow, DeckRow, DeliveryRow, PersonRow
from tests.support.storage_rows import add_person_with_private_chat, study_reviews

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _card(person: int, question: str, due: datetime) -> CardRow:
    return CardRow(
        person_id=person, question_id=question, due=due, state={}, reps=1, lapses=0,
        updated_at=NOW,
    )  # fmt: skip


def _delivery(chat: int, question: str, day: int) -> DeliveryRow:
    at = NOW - timedelta(days=day)
    return DeliveryRow(
        chat_id=chat, question_id=question, kind="daily", daily_on=at.date(), status="sent",
        attempts=1, message_id=10 + day, created_at=at, sent_at=at,
    )  # fmt: skip


async def test_due_and_shown_ids_of_a_person(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW)
        await add_person_with_private_chat(session, 2, now=NOW)
        session.add_all(
            [
                _card(1, "overdue", NOW - timedelta(days=3)),
                _card(1, "due-tonight", NOW + timedelta(hours=11, minutes=59)),  # 23:59 UTC
                _card(
                    1, "due-tomorrow", NOW + timedelta(hours=12, minutes=1)
                ),  # 00:01 the next day
                _card(2, "someone-elses", NOW - timedelta(days=1)),
            ]
        )
        deliveries = [
            _delivery(1, "overdue", 5),  # carded and shown: listed once
            _delivery(1, "overdue", 40),
            _delivery(1, "shown-only", 2),
            _delivery(2, "shown-elsewhere", 1),
        ]
        session.add_all(deliveries)
        for row in deliveries:  # as the bot records a delivery: its chat's shown set too
            await record_shown([(row.chat_id, row.question_id)], session=session, now=NOW)
    async with sessions() as session:
        snapshot = await learning.study_snapshot(
            1, session=session, now=NOW, week_start=NOW - timedelta(days=7)
        )
    assert snapshot is not None
    assert sorted(snapshot.due) == ["due-tonight", "overdue"]
    assert sorted(snapshot.seen) == ["due-tomorrow", "due-tonight", "overdue", "shown-only"]


async def test_due_by_the_end_of_the_persons_own_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """UTC+14: 12:00 UTC is 02:00 on Dec 6 there, whose day ends at 10:00 UTC on Dec 6."""
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW)
        await session.execute(
            update(PersonRow).where(PersonRow.id == 1).values(timezone="Pacific/Kiritimati")
        )
        session.add_all(
            [
                _card(1, "due-there-today", NOW + timedelta(hours=21, minutes=59)),
                _card(1, "due-there-tomorrow", NOW + timedelta(hours=22, minutes=1)),
            ]
        )
    async with sessions() as session:
        snapshot = await learning.study_snapshot(
            1, session=session, now=NOW, week_start=NOW - timedelta(days=7)
        )
    assert snapshot is not None
    assert (snapshot.timezone, snapshot.due) == ("Pacific/Kiritimati", ["due-there-today"])
    assert sorted(snapshot.seen) == ["due-there-today", "due-there-tomorrow"]


async def test_nothing_due_or_shown_is_empty(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW)
    async with sessions() as session:
        snapshot = await learning.study_snapshot(
            1, session=session, now=NOW, week_start=NOW - timedelta(days=7)
        )
    assert snapshot is not None
    assert (snapshot.due, snapshot.seen, snapshot.history, snapshot.total) == (
        [],
        frozenset(),
        StudyHistory(None, ()),
        0,
    )


def test_deck_counts_count_ids_per_deck_and_skip_ids_no_longer_in_the_bank() -> None:
    source = Source(name="Tests", attribution="Written for the tests.")

    def deck(deck_id: str, *ids: str) -> Deck:
        questions = tuple(Question(id=q, question=f"{q}?", answer=f"{q}.") for q in ids)
        return Deck(id=deck_id, title=deck_id, description="D.", source=source, questions=questions)

    bank = Bank((deck("ml", "a", "b", "c"), deck("nlp", "d", "e")))
    assert bank.deck_counts(["a", "c", "d", "gone", "b"]) == {"ml": 3, "nlp": 1}
    assert bank.deck_counts([]) == {}


async def test_the_snapshot_reads_the_streak_checkpoint_in_its_first_query(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The checkpoint comes in the counts' row (no round trip of its own), and the study
    days read are those after it."""
    marks = [StudyMark.at_zone(NOW - timedelta(days=d), "UTC") for d in range(1, 30)]
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW)
        session.add_all(study_reviews(1, marks))
    async with sessions() as session:
        history = (await learning.study_histories([1], session=session))[1]
        fold = checkpoint_due(history, now=NOW)
        assert fold is not None
    async with sessions() as session, session.begin():
        await learning.save_checkpoints({1: fold}, session=session)
    statements: list[str] = []
    async with sessions() as session:
        bind = session.bind
        assert bind is not None
        engine = bind.sync_engine

        def seen(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", seen)
        try:
            snapshot = await learning.study_snapshot(
                1, session=session, now=NOW, week_start=NOW - timedelta(days=7)
            )
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert snapshot is not None
    assert len(statements) == 1  # the counts' row, with the checkpoint and the runs
    read = snapshot.history.fold
    assert read is not None
    assert read.last is not None
    assert fold.last is not None
    # As folded, with the last day's last mark filled in when it was stored.
    last_mark = next(m for m in marks if m.local_date == fold.last.last_day)
    assert read == replace(fold, last=replace(fold.last, last=last_mark))
    assert [(r.first_day, r.last_day) for r in snapshot.history.runs] == [
        (fold.through + timedelta(days=1), (NOW - timedelta(days=1)).date())
    ]
    today = NOW.date()
    assert compute_streak_of_history(snapshot.history, today=today) == compute_streak(
        marks, today=today
    )


async def test_the_snapshot_says_whether_the_person_has_decks_of_their_own(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """/stats reads a person's decks (a round trip) only when this says they have one:
    owned (person 1), added from someone's link (person 2), or neither (person 3)."""
    async with sessions() as session, session.begin():
        for person in (1, 2, 3):
            await add_person_with_private_chat(session, person, now=NOW)
        session.add(
            DeckRow(
                id=7, owner_id=1, title="Mine", version=1, question_count=0, questions="[]",
                created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
        await session.flush()
        session.add(AddedDeckRow(person_id=2, deck_id=7, added_at=NOW))
    found = {}
    async with sessions() as session:
        for person in (1, 2, 3):
            snapshot = await learning.study_snapshot(
                person, session=session, now=NOW, week_start=NOW - timedelta(days=7)
            )
            assert snapshot is not None
            found[person] = snapshot.has_decks
    assert found == {1: True, 2: True, 3: False}


async def test_the_snapshots_runs_are_those_study_histories_reads(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The runs of study days come in the snapshot's row (one round trip): the same
    history as :func:`learning.study_histories` reads, before and after a checkpoint,
    with runs one date apart (whose edge marks the travel rule reads: a second query),
    two dates apart, and a day studied in another zone."""
    days = [40, 39, 38, 36, 35, 30, 29, 27, 12, 11, 10, 8, 3, 2, 1]
    marks = [StudyMark.at_zone(NOW - timedelta(days=d), "UTC") for d in days]
    marks.append(StudyMark.at_zone(NOW - timedelta(days=2, hours=5), "Asia/Tokyo"))
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW)
        session.add_all(study_reviews(1, marks))

    async def both() -> tuple[StudyHistory, StudyHistory]:
        async with sessions() as session:
            snapshot = await learning.study_snapshot(
                1, session=session, now=NOW, week_start=NOW - timedelta(days=7)
            )
            assert snapshot is not None
            read = (await learning.study_histories([1], session=session))[1]
        return snapshot.history, read

    fresh, read = await both()
    assert fresh == read
    assert fresh.fold is None
    assert [(r.first_day, r.last_day) for r in fresh.runs][:3] == [
        ((NOW - timedelta(days=40)).date(), (NOW - timedelta(days=38)).date()),
        ((NOW - timedelta(days=36)).date(), (NOW - timedelta(days=35)).date()),
        ((NOW - timedelta(days=30)).date(), (NOW - timedelta(days=29)).date()),
    ]
    assert fresh.runs[0].last is not None  # one date apart from the next run: marks read
    fold = checkpoint_due(fresh, now=NOW)
    assert fold is not None
    async with sessions() as session, session.begin():
        await learning.save_checkpoints({1: fold}, session=session)
    kept, read = await both()
    assert kept == read
    assert kept.fold is not None
    assert kept.runs
    assert all(run.first_day > kept.fold.through for run in kept.runs)
    today = NOW.date()
    assert compute_streak_of_history(kept, today=today) == compute_streak(marks, today=today)


async def test_the_snapshot_settles_on_a_generic_plan_on_postgresql(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Planning /stats's one statement costs more than running it (0.9 against 0.55 ms
    of PostgreSQL's time with a year of history), so its prepared statement must settle
    on the generic plan after the five custom ones. It does when no estimate depends on
    a parameter but the person: with the due cards read as a range of (person_id, due)
    up to ``:soon``, every custom plan (a few cards due) looked cheaper than the generic
    one (a third of the cards) and each /stats was planned anew.

    People with 300 cards each, one due each day from the day before yesterday (three due
    soon); analysed, not vacuumed (cards change with every grade).
    """
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements' plans: PostgreSQL only")
    people = range(1, 31)
    async with sessions() as session, session.begin():
        for person in people:
            await add_person_with_private_chat(session, person, now=NOW)
        await session.execute(
            insert(CardRow),
            [
                {
                    "person_id": person,
                    "question_id": f"q{n}",
                    "state": {},
                    "reps": 1,
                    "lapses": 0,
                    "updated_at": NOW,
                    "due": NOW + timedelta(days=n - 2),
                }
                for person in people
                for n in range(300)
            ],
        )
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("ANALYZE"))
    async with engine.connect() as connection, AsyncSession(bind=connection) as session:
        for person in people[:12]:
            snapshot = await learning.study_snapshot(
                person, session=session, now=NOW, week_start=NOW - timedelta(days=7)
            )
            assert snapshot is not None
            assert (len(snapshot.due), len(snapshot.seen)) == (3, 300)
        plans = await connection.execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'SELECT chats.id%FROM cards%'"
            )
        )
        assert [tuple(row) for row in plans] == [(7, 5)]
