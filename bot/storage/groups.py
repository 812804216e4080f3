"""What the group features read: members' activity in a chat, and its study days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.leaderboard import group_streak
from bot.domain.schedule import local_date_of
from bot.domain.streaks import StudyRun
from bot.storage.learning import study_runs_for_people
from bot.storage.models import PersonRow, ReviewRow, ShownQuestionRow


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


async def runs_for_people(
    person_ids: list[int], *, session: AsyncSession
) -> dict[int, list[StudyRun]]:
    """Each person's runs of consecutive study days (one row per run, not per day), for
    their streaks on /top and in the reminders."""
    return await study_runs_for_people(person_ids, session=session)


async def chat_review_instants(
    chat_id: int, *, session: AsyncSession, since: datetime | None = None
) -> list[datetime]:
    """When members graded in this chat (for the group streak, in the group's zone),
    from ``since`` on (None: ever)."""
    query = select(ReviewRow.reviewed_at).where(ReviewRow.chat_id == chat_id)
    if since is not None:
        query = query.where(ReviewRow.reviewed_at >= since)
    return list(await session.scalars(query))


STREAK_WINDOW_DAYS = 32


async def group_streak_on(chat_id: int, *, zone: str, today: date, session: AsyncSession) -> int:
    """The group's streak on its local date ``today``, reading only the days it spans.

    Reviews of the last ``STREAK_WINDOW_DAYS`` days first (the (chat_id, reviewed_at)
    index); only a streak that reaches back to the window's start reads a window twice
    as long, and so on: a month of reviews for most groups, whatever their history.
    """
    days = STREAK_WINDOW_DAYS
    while True:
        start = datetime.combine(today - timedelta(days=days), time(), tzinfo=UTC)
        instants = await chat_review_instants(chat_id, session=session, since=start)
        streak = group_streak((local_date_of(at, zone) for at in instants), today=today)
        # Zones are within a day of UTC: a streak shorter than the window minus two
        # days started inside it.
        if streak < days - 2 or len(instants) == 0:
            return streak
        oldest = await session.scalar(
            select(func.min(ReviewRow.reviewed_at)).where(ReviewRow.chat_id == chat_id)
        )
        if oldest is None or oldest >= start:
            return streak
        days *= 2


async def delivered_at(chat_id: int, *, session: AsyncSession) -> dict[str, datetime]:
    """question id → when it was last posted to the chat (the group's rotation), from
    shown_questions: one row per question, not one per delivery of its history."""
    rows = await session.execute(
        select(ShownQuestionRow.question_id, ShownQuestionRow.posted_at).where(
            ShownQuestionRow.chat_id == chat_id
        )
    )
    return {question: when for question, when in rows}  # noqa: C416 - Row unpacking
