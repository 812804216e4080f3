"""The few soonest cards that choosing a question reads, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import learning
from bot.storage.models import CardRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _card(person: int, question: str, days: int) -> CardRow:
    due = NOW + timedelta(days=days)
    return CardRow(person_id=person, question_id=question, due=due, state={}, updated_at=NOW)


async def test_the_window_holds_the_soonest_cards_and_every_tie_with_the_last(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        for person in (1, 2, 3):
            await add_person_with_private_chat(session, person, now=NOW)
        # Person 1: seven cards, the 5th and 6th due at the same instant.
        session.add_all(
            _card(1, q, d)
            for q, d in [("g", 9), ("a", -3), ("b", -1), ("c", 0), ("d", 2), ("e", 4), ("f", 4)]
        )
        session.add_all([_card(2, "x", 5), _card(2, "y", -2)])  # fewer than the window
    async with sessions() as session:
        found = await learning.soonest_cards_for_people([1, 2, 3], session=session)
    assert learning.SOONEST == 5
    days = {q: NOW + timedelta(days=d) for q, d in [("a", -3), ("b", -1), ("c", 0), ("d", 2)]}
    assert found[1].cards[:4] == tuple(days.items())
    assert sorted(found[1].cards[4:]) == [("e", NOW + timedelta(4)), ("f", NOW + timedelta(4))]
    assert not found[1].complete
    assert found[2] == learning.SoonestCards(
        (("y", NOW - timedelta(days=2)), ("x", NOW + timedelta(days=5))), complete=True
    )
    assert found[3] == learning.SoonestCards((), complete=True)
