"""Runs of study days read from the reviews (one row per run), on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.streaks import StudyMark, StudyRun, compute_streak, compute_streak_of_runs
from bot.storage import learning
from bot.storage.models import ReviewRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _review(n: int, mark: StudyMark) -> ReviewRow:
    return ReviewRow(
        person_id=1, question_id=f"q{n}", delivery_id=None, chat_id=1, rating=3,
        source="extra", reviewed_at=mark.at, local_date=mark.local_date,
        utc_offset_minutes=mark.utc_offset_minutes,
    )  # fmt: skip


async def test_runs_with_edge_marks_only_across_one_date_gaps(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    start = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)
    marks = [StudyMark.at_zone(start + timedelta(days=d), "UTC") for d in (0, 1, 2, 2.1)]
    # A flight east (UTC+9): Nov 4 is skipped only by the date line.
    east = StudyMark.at_zone(start + timedelta(days=3, hours=8), "Asia/Tokyo")
    later = [StudyMark.at_zone(start + timedelta(days=d), "Asia/Tokyo") for d in (4, 5, 9)]
    marks += [east, *later]
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW)
        session.add_all(_review(n, mark) for n, mark in enumerate(marks))
    async with sessions() as session:
        runs = await learning.study_runs(1, session=session)
    assert [(r.first_day, r.last_day) for r in runs] == [
        (date(2026, 11, 1), date(2026, 11, 3)),
        (date(2026, 11, 5), date(2026, 11, 7)),
        (date(2026, 11, 11), date(2026, 11, 11)),
    ]
    assert runs[0] == StudyRun(date(2026, 11, 1), date(2026, 11, 3), None, marks[3])
    assert (runs[1].first, runs[1].last) == (east, None)
    assert (runs[2].first, runs[2].last) == (None, None)
    today = date(2026, 11, 12)
    assert compute_streak_of_runs(runs, today=today) == compute_streak(marks, today=today)
