"""Cards (FSRS state per person and question) and reviews (grades)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, null, select, union_all
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


async def grade_target(
    delivery_id: int, person_id: int, *, session: AsyncSession
) -> GradeTarget | None:
    """The delivery with the person and their card for its question (outer joins)."""
    found = (
        await session.execute(
            select(DeliveryRow, PersonRow, CardRow)
            .select_from(DeliveryRow)
            .outerjoin(PersonRow, PersonRow.id == person_id)
            .outerjoin(
                CardRow,
                (CardRow.person_id == person_id) & (CardRow.question_id == DeliveryRow.question_id),
            )
            .where(DeliveryRow.id == delivery_id)
        )
    ).first()
    return GradeTarget(*found) if found is not None else None


async def save_card(
    person_id: int,
    question_id: str,
    card: CardState,
    rating: Rating,
    *,
    session: AsyncSession,
    now: datetime,
    row: CardRow | None = None,
) -> None:
    """Store a card's new state; ``row`` if the caller already loaded it."""
    row = row or await session.get(CardRow, (person_id, question_id))
    if row is None:
        row = CardRow(person_id=person_id, question_id=question_id, reps=0, lapses=0)
        session.add(row)
    row.state = card.to_dict()
    row.due = card.due
    row.reps = (row.reps or 0) + 1
    row.lapses = (row.lapses or 0) + (1 if rating == Rating.AGAIN else 0)
    row.updated_at = now


async def record_review(review: ReviewRow, *, session: AsyncSession) -> bool:
    """Insert a review; False if this person already graded this delivery.

    One ``INSERT ... ON CONFLICT DO NOTHING`` on (person, delivery): the unique
    constraint decides a double tap or a race, with no savepoint and no read
    before the write.
    """
    values = {
        column.key: getattr(review, column.key)
        for column in ReviewRow.__table__.columns
        if column.key != "id"
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ReviewRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=["person_id", "delivery_id"])
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def review_for_delivery(
    person_id: int, delivery_id: int, *, session: AsyncSession
) -> ReviewRow | None:
    return await session.scalar(
        select(ReviewRow).where(
            ReviewRow.person_id == person_id, ReviewRow.delivery_id == delivery_id
        )
    )


async def review_history(person_id: int, *, session: AsyncSession) -> list[tuple[StudyMark, int]]:
    """Every grade of a person with its study mark, oldest first, in one query."""
    rows = await session.execute(
        select(
            ReviewRow.reviewed_at,
            ReviewRow.local_date,
            ReviewRow.utc_offset_minutes,
            ReviewRow.rating,
        )
        .where(ReviewRow.person_id == person_id)
        .order_by(ReviewRow.reviewed_at)
    )
    return [
        (StudyMark(at=at, local_date=local_date, utc_offset_minutes=offset), int(rating))
        for at, local_date, offset, rating in rows
    ]


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


async def study_snapshot(person_id: int, *, session: AsyncSession) -> StudySnapshot | None:
    """The person's chat and zone (one join), grades (one query), cards and shown
    questions (one UNION ALL); None if either the person or the chat is unknown."""
    found = (
        await session.execute(
            select(ChatRow, PersonRow.timezone)
            .join(PersonRow, PersonRow.id == ChatRow.id)
            .where(ChatRow.id == person_id)
        )
    ).first()
    if found is None:
        return None
    chat, timezone = found
    history = await review_history(person_id, session=session)
    shown: CompoundSelect[str, datetime | None, bool] = union_all(
        select(CardRow.question_id, CardRow.due, literal(True).label("carded")).where(
            CardRow.person_id == person_id
        ),
        select(DeliveryRow.question_id, null().cast(CardRow.due.type), literal(False))
        .where(DeliveryRow.chat_id == person_id)
        .distinct(),
    )
    cards: dict[str, CardDue] = {}
    delivered: set[str] = set()
    for question_id, due, carded in await session.execute(shown):
        if carded and due is not None:
            cards[question_id] = CardDue(due)
        else:
            delivered.add(question_id)
    return StudySnapshot(timezone, to_settings(chat), history, cards, delivered)
