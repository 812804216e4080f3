"""What /stats reads about a person (learning.study_snapshot), on both backends.

The due and shown question ids come back aggregated (an array on PostgreSQL, a JSON
array on SQLite) rather than a row each, the cards due soon narrowed to the person's
own day in Python; these are the exact ids either way, and empty lists (not None)
for a person with no cards or deliveries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.content import Bank, Deck, Question, Source
from bot.domain.streaks import StudyHistory
from bot.storage import learning
from bot.storage.deliveries import record_shown
from bot.storage.models import CardRow, DeliveryRow, PersonRow
from tests.support.storage_rows import add_person_with_private_chat

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


async def test_nothing_due_or_shown_is_two_empty_lists(
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
        [],
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
