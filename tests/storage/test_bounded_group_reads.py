"""What /top, a group's /stats, /question and a group /quiz read: the window or the
questions they need, not the chat's whole history (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content.check import load_checked_bank
from bot.domain.chats import ChatSettings
from bot.domain.schedule import Schedule
from bot.domain.selection import quiz_picks
from bot.domain.topics import all_topics, topic_bank
from bot.storage import deliveries as delivery_store
from bot.storage import groups as group_store
from bot.storage import people
from bot.storage.deliveries import create_delivery
from bot.storage.models import ChatRow, ReviewRow
from bot.study.questions import group_pool_ids, pick_group_question

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
GROUP = -100
OTHER = -200
CONTENT = Path(__file__).resolve().parents[2] / "content"


def _chat(chat_id: int) -> ChatRow:
    return ChatRow(
        id=chat_id, kind="group", active=True, paused=False, timezone="UTC",
        delivery_time="09:00", days=127, decks="", created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def _review(person: int, chat_id: int, at: datetime) -> ReviewRow:
    return ReviewRow(
        person_id=person, question_id="q", delivery_id=None, chat_id=chat_id, rating=3,
        source="group", reviewed_at=at, local_date=at.date(), utc_offset_minutes=0,
    )  # fmt: skip


async def test_the_leaderboard_counts_the_window_and_the_week_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    since = NOW - timedelta(days=30)
    week = NOW - timedelta(days=7)
    async with sessions() as session, session.begin():
        for person, first, username in [(1, "Ann", None), (2, "", "bob"), (3, "", None)]:
            await people.upsert_person(
                person, session=session, first_name=first, username=username,
                timezone="UTC", now=NOW,
            )  # fmt: skip
        session.add_all([_chat(GROUP), _chat(OTHER)])
        await session.flush()
        ann = [timedelta(0), timedelta(days=1), timedelta(days=7), timedelta(days=10)]
        ann += [timedelta(days=30), timedelta(days=30, seconds=1), timedelta(days=200)]
        session.add_all(_review(1, GROUP, NOW - ago) for ago in ann)
        session.add_all(_review(2, GROUP, NOW - timedelta(days=d)) for d in (8, 20))
        session.add_all(_review(3, GROUP, NOW - timedelta(days=d)) for d in (31, 365))
        session.add_all(_review(3, OTHER, NOW - timedelta(days=d)) for d in (0, 1))
    async with sessions() as session:
        found = await group_store.recent_member_activity(
            GROUP, session=session, week_start=week, since=since
        )
        empty = await group_store.recent_member_activity(
            OTHER, session=session, week_start=week, since=NOW + timedelta(days=1)
        )
    # Ann: 0, 1 and 7 days ago in the week (7 days ago is its first instant); 10 and
    # exactly 30 days ago in the window too; 30 days and a second, 200 days: outside.
    # Bob: outside the week, in the window. Person 3 graded here only before the window.
    assert found == [(1, "Ann", 3, 5), (2, "@bob", 0, 2)]
    assert empty == []


async def _deliveries(
    sessions: async_sessionmaker[AsyncSession], rows: list[tuple[int, str, int]]
) -> None:
    async with sessions() as session, session.begin():
        session.add_all([_chat(GROUP), _chat(OTHER)])
        await session.flush()
        # As the bot records them: the delivery and the chat's shown set together.
        for chat_id, question, days_ago in rows:
            await create_delivery(
                session=session, chat_id=chat_id, question_id=question,
                now=NOW - timedelta(days=days_ago), daily_on=None,
            )  # fmt: skip


HISTORY = [
    (GROUP, "q1", 300),
    (GROUP, "q1", 3),
    (GROUP, "q2", 100),
    (GROUP, "q3", 1),
    (OTHER, "q4", 2),
    (OTHER, "q2", 0),
]


async def test_a_quiz_reads_whether_its_own_questions_were_shown(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _deliveries(sessions, HISTORY)
    async with sessions() as session:
        topic = await delivery_store.delivered_among(
            GROUP, ["q1", "q2", "q4", "q9"], session=session
        )
        none = await delivery_store.delivered_among(GROUP, [], session=session)
        everything = await delivery_store.delivered_question_ids(GROUP, session=session)
    assert topic == {"q1", "q2"}
    assert none == set()
    assert everything == {"q1", "q2", "q3"}


async def test_the_rotation_reads_when_its_pool_was_last_posted(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _deliveries(sessions, HISTORY)
    async with sessions() as session:
        pool = await group_store.delivered_at_among(
            GROUP, ["q1", "q2", "q4", "q9"], session=session
        )
        none = await group_store.delivered_at_among(GROUP, [], session=session)
        everything = await group_store.delivered_at(GROUP, session=session)
    assert pool == {"q1": NOW - timedelta(days=3), "q2": NOW - timedelta(days=100)}
    assert none == {}
    assert everything == {**pool, "q3": NOW - timedelta(days=1)}


# What the handlers now pass is enough: a quiz's picks and a group's next question are
# the same from the topic's or the pool's part of the history as from all of it.
BANK = load_checked_bank(CONTENT)


@pytest.mark.parametrize("shown", [0, 1, 5, 40, 10_000])
def test_a_quiz_picks_the_same_from_its_topics_history(shown: int) -> None:
    everything = [question.id for question in BANK]
    seen = set(everything[::3][:shown])
    for topic in all_topics(BANK):
        bank = topic_bank(BANK, topic)
        own = {question.id for question in bank} & seen
        for count in (1, 5, 50):
            picks = partial(quiz_picks, bank, decks=bank.deck_ids, cards={}, now=NOW, count=count)
            assert picks(seen=own) == picks(seen=seen), topic


@pytest.mark.parametrize("decks", ["", "nlp", "nlp,misc", "deep-learning"])
@pytest.mark.parametrize("posted", [0, 30, 10_000])
def test_the_rotation_picks_the_same_from_its_pools_history(decks: str, posted: int) -> None:
    everything = [question.id for question in BANK]
    history = {q: NOW - timedelta(hours=i) for i, q in enumerate(everything[:posted])}
    settings = ChatSettings(
        chat_id=GROUP,
        kind="group",
        schedule=Schedule(local_time=time(9), timezone="UTC", days=frozenset(range(7))),
        decks=tuple(filter(None, decks.split(","))),
    )
    pool = set(group_pool_ids(BANK, settings))
    own = {q: at for q, at in history.items() if q in pool}
    assert pick_group_question(BANK, settings, delivered=own) == pick_group_question(
        BANK, settings, delivered=history
    )
