"""What the group features read: members' activity in a chat, and its study days."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.streaks import StudyMark
from bot.storage.models import DeliveryRow, PersonRow, ReviewRow


async def member_activity(
    chat_id: int, *, session: AsyncSession, week_start: datetime
) -> list[tuple[int, str, int, int]]:
    """(person, name, graded this week, graded all time) for everyone who graded in the chat."""
    rows = await session.execute(
        select(
            ReviewRow.person_id,
            PersonRow.first_name,
            PersonRow.username,
            func.count(),
        )
        .join(PersonRow, PersonRow.id == ReviewRow.person_id)
        .where(ReviewRow.chat_id == chat_id)
        .group_by(ReviewRow.person_id, PersonRow.first_name, PersonRow.username)
    )
    weekly = dict(
        (
            await session.execute(
                select(ReviewRow.person_id, func.count())
                .where(ReviewRow.chat_id == chat_id, ReviewRow.reviewed_at >= week_start)
                .group_by(ReviewRow.person_id)
            )
        ).all()
    )
    return [
        (
            person,
            first_name or (f"@{username}" if username else str(person)),
            int(weekly.get(person, 0)),
            int(total),
        )
        for person, first_name, username, total in rows
    ]


async def marks_for_people(
    person_ids: list[int], *, session: AsyncSession
) -> dict[int, list[StudyMark]]:
    result: dict[int, list[StudyMark]] = defaultdict(list)
    if not person_ids:
        return result
    rows = await session.execute(
        select(
            ReviewRow.person_id,
            ReviewRow.reviewed_at,
            ReviewRow.local_date,
            ReviewRow.utc_offset_minutes,
        )
        .where(ReviewRow.person_id.in_(person_ids))
        .order_by(ReviewRow.reviewed_at)
    )
    for person, at, local_date, offset in rows:
        result[person].append(StudyMark(at=at, local_date=local_date, utc_offset_minutes=offset))
    return result


async def chat_review_instants(chat_id: int, *, session: AsyncSession) -> list[datetime]:
    """When members graded in this chat (for the group streak, in the group's zone)."""
    rows = await session.scalars(select(ReviewRow.reviewed_at).where(ReviewRow.chat_id == chat_id))
    return list(rows)


async def delivered_at(chat_id: int, *, session: AsyncSession) -> dict[str, datetime]:
    """question id → when it was last posted to the chat (the group's rotation)."""
    rows = await session.execute(
        select(DeliveryRow.question_id, func.max(DeliveryRow.created_at))
        .where(DeliveryRow.chat_id == chat_id)
        .group_by(DeliveryRow.question_id)
    )
    return {question: when for question, when in rows}  # noqa: C416 - Row unpacking
