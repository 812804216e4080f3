"""What the group features read: members' activity in a chat, and its study days."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.leaderboard import group_streak
from bot.domain.schedule import local_date_of
from bot.domain.streaks import StudyHistory
from bot.storage.deliveries import ids_parameter, is_postgresql, question_ids_table
from bot.storage.learning import study_histories
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


LEADERBOARD_DAYS = 30
"""/top and a group's /stats count grades over this many days, not all time: a year-old
group's leaderboard reads a month of its reviews, whatever its history."""


async def recent_member_activity(
    chat_id: int, *, session: AsyncSession, week_start: datetime, since: datetime
) -> list[tuple[int, str, int, int]]:
    """(person, name, graded since ``week_start``, graded since ``since``) for everyone
    who graded in the chat since ``since``.

    One query, counted in SQL over the reviews from ``since`` on only (the
    (chat_id, reviewed_at) index), then one row per member: the work grows with the
    window's grades, not with the chat's history. ``week_start`` is at or after ``since``.
    """
    counts = (
        select(
            ReviewRow.person_id.label("person_id"),
            func.count(case((ReviewRow.reviewed_at >= week_start, 1))).label("week"),
            func.count().label("recent"),
        )
        .where(ReviewRow.chat_id == chat_id, ReviewRow.reviewed_at >= since)
        .group_by(ReviewRow.person_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            counts.c.person_id,
            PersonRow.first_name,
            PersonRow.username,
            counts.c.week,
            counts.c.recent,
        )
        .join(PersonRow, PersonRow.id == counts.c.person_id)
        .order_by(counts.c.person_id)
    )
    return [
        (
            person,
            first_name or (f"@{username}" if username else str(person)),
            int(week),
            int(recent),
        )
        for person, first_name, username, week, recent in rows
    ]


async def histories_for_people(
    person_ids: list[int], *, session: AsyncSession
) -> dict[int, StudyHistory]:
    """Each person's streak checkpoint and runs of study days after it, for their streaks
    on /top and in the reminders."""
    return await study_histories(person_ids, session=session)


def _hour_of(postgres: bool) -> Any:
    """The UTC hour a review's instant falls in, as a number (the same on both backends)."""
    if postgres:
        return func.floor(func.extract("epoch", ReviewRow.reviewed_at) / 3600)
    return cast(func.strftime("%s", ReviewRow.reviewed_at), Integer) // 3600


async def chat_study_dates(
    chat_id: int, *, zone: str, session: AsyncSession, since: datetime, before: datetime | None
) -> set[date]:
    """The local dates in ``zone`` on which members graded in the chat, in [since, before).

    One row per hour with grades (a group grades around its daily post: a row or two a
    day), not one per grade: each hour's first and last grade. That is exact in any zone:
    the local date never goes back as time passes and changes at most once within an
    hour, so an hour's grades fall on the local dates of its first and last grade.
    """
    query = (
        select(func.min(ReviewRow.reviewed_at), func.max(ReviewRow.reviewed_at))
        .where(ReviewRow.chat_id == chat_id, ReviewRow.reviewed_at >= since)
        .group_by(_hour_of(is_postgresql(session)))
    )
    if before is not None:
        query = query.where(ReviewRow.reviewed_at < before)
    dates: set[date] = set()
    for first, last in await session.execute(query):
        dates.add(local_date_of(first, zone))
        dates.add(local_date_of(last, zone))
    return dates


STREAK_WINDOW_DAYS = 32


async def group_streak_on(chat_id: int, *, zone: str, today: date, session: AsyncSession) -> int:
    """The group's streak on its local date ``today``, reading only the days it spans.

    The study dates of the last ``STREAK_WINDOW_DAYS`` days first (the (chat_id,
    reviewed_at) index, a row per hour with grades); only a streak that reaches back to
    the window's start reads the window before it, as long again, and so on: a month of
    a group's reviews for most groups, whatever their history, and a long streak reads
    each of its days once.
    """
    days = STREAK_WINDOW_DAYS
    studied: set[date] = set()
    before: datetime | None = None
    while True:
        start = datetime.combine(today - timedelta(days=days), time(), tzinfo=UTC)
        studied |= await chat_study_dates(
            chat_id, zone=zone, session=session, since=start, before=before
        )
        streak = group_streak(studied, today=today)
        # Zones are within a day of UTC: a streak shorter than the window minus two
        # days started inside it.
        if streak < days - 2 or not studied:
            return streak
        oldest = await session.scalar(
            select(func.min(ReviewRow.reviewed_at)).where(ReviewRow.chat_id == chat_id)
        )
        if oldest is None or oldest >= start:
            return streak
        before = start
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


def _delivered_at_among(postgres: bool) -> Any:
    ids = question_ids_table(postgres)
    last = (
        select(ShownQuestionRow.posted_at)
        .where(
            ShownQuestionRow.chat_id == bindparam("chat"),
            ShownQuestionRow.question_id == ids.c.value,
        )
        .scalar_subquery()
    )
    return select(ids.c.value, last)


_DELIVERED_AT_AMONG = {True: _delivered_at_among(True), False: _delivered_at_among(False)}


async def delivered_at_among(
    chat_id: int, question_ids: Collection[str], *, session: AsyncSession
) -> dict[str, datetime]:
    """:func:`delivered_at` of just ``question_ids`` (the group's pool): what the rotation
    reads for ``/question``. One probe of shown_questions' primary key per id: bounded by
    the pool, not by how often each was posted."""
    if not question_ids:
        return {}
    postgres = is_postgresql(session)
    rows = await session.execute(
        _DELIVERED_AT_AMONG[postgres],
        {"chat": chat_id, "ids": ids_parameter(question_ids, postgres=postgres)},
    )
    return {str(question): when for question, when in rows if when is not None}
