"""Cards (FSRS state per person and question) and reviews (grades)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.srs import CardState, Rating
from bot.domain.streaks import StudyMark
from bot.storage.models import CardRow, ReviewRow


async def cards_of(person_id: int, *, session: AsyncSession) -> dict[str, CardState]:
    return (await cards_for_people([person_id], session=session))[person_id]


async def cards_for_people(
    person_ids: Sequence[int], *, session: AsyncSession
) -> dict[int, dict[str, CardState]]:
    result: dict[int, dict[str, CardState]] = {person_id: {} for person_id in person_ids}
    if not person_ids:
        return result
    rows = await session.scalars(select(CardRow).where(CardRow.person_id.in_(person_ids)))
    for row in rows:
        result[row.person_id][row.question_id] = CardState.from_dict(row.state)
    return result


async def save_card(
    person_id: int,
    question_id: str,
    card: CardState,
    rating: Rating,
    *,
    session: AsyncSession,
    now: datetime,
) -> None:
    row = await session.get(CardRow, (person_id, question_id))
    if row is None:
        row = CardRow(person_id=person_id, question_id=question_id, reps=0, lapses=0)
        session.add(row)
    row.state = card.to_dict()
    row.due = card.due
    row.reps = (row.reps or 0) + 1
    row.lapses = (row.lapses or 0) + (1 if rating == Rating.AGAIN else 0)
    row.updated_at = now
    await session.flush()


async def record_review(review: ReviewRow, *, session: AsyncSession) -> bool:
    """Insert a review; False if this person already graded this delivery."""
    try:
        async with session.begin_nested():
            session.add(review)
    except IntegrityError:
        return False
    return True


async def review_for_delivery(
    person_id: int, delivery_id: int, *, session: AsyncSession
) -> ReviewRow | None:
    return await session.scalar(
        select(ReviewRow).where(
            ReviewRow.person_id == person_id, ReviewRow.delivery_id == delivery_id
        )
    )


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


async def rating_counts(
    person_id: int, *, session: AsyncSession, since: datetime | None = None
) -> dict[int, int]:
    query = (
        select(ReviewRow.rating, func.count())
        .where(ReviewRow.person_id == person_id)
        .group_by(ReviewRow.rating)
    )
    if since is not None:
        query = query.where(ReviewRow.reviewed_at >= since)
    return {int(rating): int(count) for rating, count in await session.execute(query)}
