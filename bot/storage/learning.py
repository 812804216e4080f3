"""Cards (FSRS state per person and question) and reviews (grades)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, literal, null, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CompoundSelect

from bot.domain.chats import ChatSettings
from bot.domain.srs import CardDue, CardState, Rating
from bot.domain.streaks import StudyMark
from bot.storage.chats import to_settings
from bot.storage.models import CardRow, ChatRow, DeliveryRow, PersonRow, ReviewRow


async def due_cards_of(person_id: int, *, session: AsyncSession) -> dict[str, CardDue]:
    return (await due_cards_for_people([person_id], session=session))[person_id]


async def due_cards_for_people(
    person_ids: Sequence[int], *, session: AsyncSession
) -> dict[int, dict[str, CardDue]]:
    """Each person's cards with only their due instant (what question choice needs)."""
    result: dict[int, dict[str, CardDue]] = {person_id: {} for person_id in person_ids}
    if not person_ids:
        return result
    rows = await session.execute(
        select(CardRow.person_id, CardRow.question_id, CardRow.due).where(
            CardRow.person_id.in_(person_ids)
        )
    )
    for person_id, question_id, due in rows:
        result[person_id][question_id] = CardDue(due)
    return result


async def card_of(person_id: int, question_id: str, *, session: AsyncSession) -> CardState | None:
    row = await session.get(CardRow, (person_id, question_id))
    return CardState.from_dict(row.state) if row is not None else None


@dataclass(frozen=True)
class GradeTarget:
    """What a grade needs, read in one query: the delivery, the grader, their card."""

    delivery: DeliveryRow
    person: PersonRow | None
    card: CardRow | None


# Built once: a statement object keeps its compiled form's cache key, so reusing it
# skips rebuilding and re-hashing the clauses on every tap.
_GRADE_TARGET = (
    select(DeliveryRow, PersonRow, CardRow)
    .select_from(DeliveryRow)
    .outerjoin(PersonRow, PersonRow.id == bindparam("person"))
    .outerjoin(
        CardRow,
        (CardRow.person_id == bindparam("person"))
        & (CardRow.question_id == DeliveryRow.question_id),
    )
    .where(DeliveryRow.id == bindparam("delivery"))
)


async def grade_target(
    delivery_id: int, person_id: int, *, session: AsyncSession
) -> GradeTarget | None:
    """The delivery with the person and their card for its question (outer joins)."""
    found = (
        await session.execute(_GRADE_TARGET, {"person": person_id, "delivery": delivery_id})
    ).first()
    return GradeTarget(*found) if found is not None else None


def _review_values(review: ReviewRow) -> dict[str, Any]:
    return {name: getattr(review, name) for name in _REVIEW_COLUMNS}


def _card_values(review: ReviewRow, card: CardState) -> dict[str, Any]:
    return {
        "person_id": review.person_id,
        "question_id": review.question_id,
        "state": card.to_dict(),
        "due": card.due,
        "reps": 1,
        "lapses": 1 if review.rating == Rating.AGAIN else 0,
        "updated_at": review.reviewed_at,
    }


# The tables, not the mapped classes: plain Core statements, no ORM bulk-insert path.
_CARDS = cast(Table, CardRow.__table__)
_REVIEWS = cast(Table, ReviewRow.__table__)
_REVIEW_COLUMNS = tuple(column.key for column in _REVIEWS.columns if column.key != "id")
_CARD_COLUMNS = ("person_id", "question_id", "state", "due", "reps", "lapses", "updated_at")


def _card_upsert_postgresql() -> Any:
    """Insert the review; only if that inserted a row, upsert the card: one statement.

    The review's unique (person, delivery) decides a double tap; the card's
    counters are added in SQL, so they stay right whatever was read before.
    """
    cards, reviews = _CARDS, _REVIEWS
    added = (
        postgresql.insert(reviews)
        # Named parameters: inside a CTE the columns would get anonymous ones.
        .values(
            {
                name: bindparam(f"review_{name}", type_=reviews.c[name].type)
                for name in _REVIEW_COLUMNS
            }
        )
        .on_conflict_do_nothing(index_elements=["person_id", "delivery_id"])
        .returning(reviews.c.person_id)
        .cte("added")
    )
    values = select(
        *(bindparam(f"card_{name}", type_=cards.c[name].type) for name in _CARD_COLUMNS)
    ).select_from(added)
    upsert = postgresql.insert(cards).from_select(list(_CARD_COLUMNS), values)
    return (
        upsert.on_conflict_do_update(
            index_elements=["person_id", "question_id"],
            set_={
                "state": upsert.excluded.state,
                "due": upsert.excluded.due,
                "reps": cards.c.reps + upsert.excluded.reps,
                "lapses": cards.c.lapses + upsert.excluded.lapses,
                "updated_at": upsert.excluded.updated_at,
            },
        )
        .returning(cards.c.person_id)
        .add_cte(added)
    )


def _card_upsert_sqlite() -> Any:
    cards = _CARDS
    upsert = sqlite.insert(cards)
    return upsert.on_conflict_do_update(
        index_elements=["person_id", "question_id"],
        set_={
            "state": upsert.excluded.state,
            "due": upsert.excluded.due,
            "reps": cards.c.reps + upsert.excluded.reps,
            "lapses": cards.c.lapses + upsert.excluded.lapses,
            "updated_at": upsert.excluded.updated_at,
        },
    )


_GRADE_POSTGRESQL = _card_upsert_postgresql()
_REVIEW_SQLITE = sqlite.insert(_REVIEWS).on_conflict_do_nothing(
    index_elements=["person_id", "delivery_id"]
)
_CARD_SQLITE = _card_upsert_sqlite()


async def record_grade(review: ReviewRow, card: CardState, *, session: AsyncSession) -> bool:
    """Store a grade: the review and the card's new state; False if already graded.

    On PostgreSQL one statement does both (``_card_upsert_postgresql``), so the
    session may be in AUTOCOMMIT; on SQLite two statements, which the caller
    runs in a transaction.
    """
    review_values = _review_values(review)
    card_values = _card_values(review, card)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        params = {f"review_{key}": value for key, value in review_values.items()}
        params.update({f"card_{key}": value for key, value in card_values.items()})
        return (await session.execute(_GRADE_POSTGRESQL, params)).first() is not None
    inserted = await session.execute(_REVIEW_SQLITE, review_values)
    if not getattr(inserted, "rowcount", 0):
        return False
    await session.execute(_CARD_SQLITE, card_values)
    return True


async def review_for_delivery(
    person_id: int, delivery_id: int, *, session: AsyncSession
) -> ReviewRow | None:
    return await session.scalar(
        select(ReviewRow).where(
            ReviewRow.person_id == person_id, ReviewRow.delivery_id == delivery_id
        )
    )


_HISTORY = (
    select(
        ReviewRow.reviewed_at,
        ReviewRow.local_date,
        ReviewRow.utc_offset_minutes,
        ReviewRow.rating,
        ReviewRow.id,
    )
    .where(ReviewRow.person_id == bindparam("person"))
    .order_by(ReviewRow.reviewed_at)
)


async def review_history(person_id: int, *, session: AsyncSession) -> list[tuple[StudyMark, int]]:
    """Every grade of a person with its study mark, oldest first, in one query."""
    return (await _history_with_state(person_id, session=session))[0]


async def _history_with_state(
    person_id: int, *, session: AsyncSession
) -> tuple[list[tuple[StudyMark, int]], tuple[int, int]]:
    """The history, and (reviews, newest review id): what keys the /stats picture."""
    history: list[tuple[StudyMark, int]] = []
    newest = 0
    for at, local_date, offset, rating, review_id in await session.execute(
        _HISTORY, {"person": person_id}
    ):
        history.append(
            (StudyMark(at=at, local_date=local_date, utc_offset_minutes=offset), int(rating))
        )
        newest = max(newest, review_id)
    return history, (len(history), newest)


async def study_marks(person_id: int, *, session: AsyncSession) -> list[StudyMark]:
    rows = await session.execute(
        select(ReviewRow.reviewed_at, ReviewRow.local_date, ReviewRow.utc_offset_minutes)
        .where(ReviewRow.person_id == person_id)
        .order_by(ReviewRow.reviewed_at)
    )
    return [
        StudyMark(at=at, local_date=local_date, utc_offset_minutes=offset)
        for at, local_date, offset in rows
    ]


@dataclass(frozen=True)
class StudySnapshot:
    """What /stats shows about a person in their private chat, read in three queries."""

    timezone: str
    settings: ChatSettings
    history: list[tuple[StudyMark, int]]
    cards: dict[str, CardDue]
    delivered: set[str]
    state: tuple[int, int]
    """(reviews, newest review id): changes with every grade (the picture's cache key)."""


_CHAT_AND_ZONE = (
    select(ChatRow, PersonRow.timezone)
    .join(PersonRow, PersonRow.id == ChatRow.id)
    .where(ChatRow.id == bindparam("person"))
)
_SHOWN: CompoundSelect[str, datetime | None, bool] = union_all(
    select(CardRow.question_id, CardRow.due, literal(True).label("carded")).where(
        CardRow.person_id == bindparam("person")
    ),
    select(DeliveryRow.question_id, null().cast(CardRow.due.type), literal(False))
    .where(DeliveryRow.chat_id == bindparam("person"))
    .distinct(),
)


async def study_snapshot(person_id: int, *, session: AsyncSession) -> StudySnapshot | None:
    """The person's chat and zone (one join), grades (one query), cards and shown
    questions (one UNION ALL); None if either the person or the chat is unknown."""
    params = {"person": person_id}
    found = (await session.execute(_CHAT_AND_ZONE, params)).first()
    if found is None:
        return None
    chat, timezone = found
    history, state = await _history_with_state(person_id, session=session)
    cards: dict[str, CardDue] = {}
    delivered: set[str] = set()
    for question_id, due, carded in await session.execute(_SHOWN, params):
        if carded and due is not None:
            cards[question_id] = CardDue(due)
        else:
            delivered.add(question_id)
    return StudySnapshot(timezone, to_settings(chat), history, cards, delivered, state)
