"""What the statistics read: reviews by day, card due dates and lapses, export rows.

Each query reads only what one picture or file needs (a date window, two
columns), so /stats stays cheap for people with long histories.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncResult, AsyncSession

from bot.domain.progress import FORECAST_DAYS, HEATMAP_DAYS, RETENTION_DAYS, GradedReview
from bot.domain.srs import Rating
from bot.storage import groups as group_store
from bot.storage.models import CardRow, ReviewRow


@dataclass(frozen=True)
class PersonPictureReads:
    """What a person's /stats picture shows, as read (bot/handlers/stats_picture.py)."""

    per_day: Counter[date]
    dues: list[datetime]
    reviews: list[GradedReview]
    lapses: dict[str, int]


@dataclass(frozen=True)
class GroupPictureReads:
    """What a group's /stats picture shows, as read."""

    instants: list[datetime]
    activity: list[tuple[int, str, int, int]]


async def person_picture_reads(
    person_id: int, *, session: AsyncSession, now: datetime, today: date
) -> PersonPictureReads:
    """The picture's windows only: the heatmap's days, the forecast's days (a day of
    margin for the zone's offset), the retention window, and the lapsed cards."""
    per_day = await reviews_per_day(
        person_id, session=session, since=today - timedelta(days=HEATMAP_DAYS)
    )
    dues = await card_dues(
        person_id, session=session, before=now + timedelta(days=FORECAST_DAYS + 1)
    )
    reviews = await graded_reviews(
        person_id, session=session, since=now - timedelta(days=RETENTION_DAYS)
    )
    lapses = await card_lapses(person_id, session=session)
    return PersonPictureReads(per_day, dues, reviews, lapses)


async def group_picture_reads(
    chat_id: int, *, session: AsyncSession, now: datetime
) -> GroupPictureReads:
    """The group's review instants of the heatmap's days (a day of margin for the zone),
    and its members' activity."""
    instants = await chat_review_instants(
        chat_id, session=session, since=now - timedelta(days=HEATMAP_DAYS + 1)
    )
    activity = await group_store.member_activity(chat_id, session=session, week_start=now)
    return GroupPictureReads(instants, activity)


async def chat_state(chat_id: int, *, session: AsyncSession) -> tuple[int, int]:
    """(reviews in the chat, newest id): the group picture's cache key."""
    count, newest = (
        await session.execute(
            select(func.count(), func.max(ReviewRow.id)).where(ReviewRow.chat_id == chat_id)
        )
    ).one()
    return int(count), int(newest or 0)


async def reviews_per_day(person_id: int, *, session: AsyncSession, since: date) -> Counter[date]:
    """Reviews per local date (the date each grade counts for) from ``since`` on."""
    rows = await session.execute(
        select(ReviewRow.local_date, func.count())
        .where(ReviewRow.person_id == person_id, ReviewRow.local_date >= since)
        .group_by(ReviewRow.local_date)
    )
    return Counter({day: int(count) for day, count in rows})


async def chat_review_instants(
    chat_id: int, *, session: AsyncSession, since: datetime
) -> list[datetime]:
    rows = await session.scalars(
        select(ReviewRow.reviewed_at).where(
            ReviewRow.chat_id == chat_id, ReviewRow.reviewed_at >= since
        )
    )
    return list(rows)


async def graded_reviews(
    person_id: int, *, session: AsyncSession, since: datetime | None = None
) -> list[GradedReview]:
    query = select(
        ReviewRow.question_id, ReviewRow.rating, ReviewRow.reviewed_at, ReviewRow.local_date
    ).where(ReviewRow.person_id == person_id)
    if since is not None:
        query = query.where(ReviewRow.reviewed_at >= since)
    rows = await session.execute(query.order_by(ReviewRow.reviewed_at, ReviewRow.id))
    return [GradedReview(q, Rating(r), at, day) for q, r, at, day in rows]


async def card_dues(
    person_id: int, *, session: AsyncSession, before: datetime | None = None
) -> list[datetime]:
    """Due instants of the person's cards, those before ``before`` only (the forecast's
    window, through the (person_id, due) index) unless None."""
    query = select(CardRow.due).where(CardRow.person_id == person_id)
    if before is not None:
        query = query.where(CardRow.due < before)
    return list(await session.scalars(query))


async def card_lapses(person_id: int, *, session: AsyncSession) -> dict[str, int]:
    """question id → times forgotten (graded Again), for cards forgotten at least once."""
    rows = await session.execute(
        select(CardRow.question_id, CardRow.lapses).where(
            CardRow.person_id == person_id, CardRow.lapses > 0
        )
    )
    return {question: int(lapses) for question, lapses in rows}


async def card_rows(person_id: int, *, session: AsyncSession) -> list[CardRow]:
    return list(await session.scalars(select(CardRow).where(CardRow.person_id == person_id)))


async def stream_reviews(person_id: int, *, session: AsyncSession) -> AsyncResult[Any]:
    """(reviewed_at, utc offset, question id, rating) of every review, oldest first, from a
    server-side cursor: /export reads it in partitions, never the whole history at once."""
    return await session.stream(
        select(
            ReviewRow.reviewed_at,
            ReviewRow.utc_offset_minutes,
            ReviewRow.question_id,
            ReviewRow.rating,
        )
        .where(ReviewRow.person_id == person_id)
        .order_by(ReviewRow.reviewed_at, ReviewRow.id)
        .execution_options(yield_per=1000)
    )
