"""Runs of study days read from the reviews (one row per run), on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.streak_reminders import Nudge, streak_nudge
from bot.domain.streaks import (
    CHECKPOINT_LAG_DAYS,
    CLOSED_AFTER_DAYS,
    Streak,
    StudyHistory,
    StudyMark,
    StudyRun,
    checkpoint_due,
    compute_streak,
    compute_streak_of_history,
    compute_streak_of_runs,
    runs_of,
)
from bot.storage import groups, learning
from bot.storage.models import PersonRow, ReviewRow, StreakCheckpointRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _review(n: int, mark: StudyMark, person: int = 1) -> ReviewRow:
    return ReviewRow(
        person_id=person, question_id=f"q{n}", delivery_id=None, chat_id=person, rating=3,
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


# --- the same streaks for many people at once (/top, the reminders, data.json) ----------------

TODAY = date(2026, 12, 5)


def _days_back(zone: str, *back: int, hour: int = 9) -> list[StudyMark]:
    """Marks at ``hour`` local on TODAY minus each of ``back`` days, in ``zone``."""
    base = datetime(2026, 12, 5, hour, tzinfo=ZoneInfo(zone))
    return [StudyMark.at_zone((base - timedelta(days=d)).astimezone(UTC), zone) for d in back]


def _east() -> list[StudyMark]:
    """Three evenings in UTC, a flight to Tokyo that skips a date, three days there."""
    start = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # TODAY - 7
    utc_days = [StudyMark.at_zone(start + timedelta(days=d), "UTC") for d in (0, 1, 2)]
    tokyo = [StudyMark.at_zone(start + timedelta(days=3, hours=8), "Asia/Tokyo")]
    tokyo += [StudyMark.at_zone(start + timedelta(days=d), "Asia/Tokyo") for d in (4, 5)]
    return utc_days + tokyo


def _west() -> list[StudyMark]:
    """Berlin, then the same local date again in Los Angeles after flying west, then LA."""
    berlin = _days_back("Europe/Berlin", 3) + _days_back("Europe/Berlin", 2, hour=20)
    return (
        berlin
        + _days_back("America/Los_Angeles", 2, hour=22)
        + _days_back("America/Los_Angeles", 1)
    )


HISTORIES: dict[int, list[StudyMark]] = {
    1: _east(),
    2: _days_back("UTC", *range(10, 3, -1), 2, 1),  # 7 days, one missed (a freeze), 2 days
    3: _days_back("UTC", *range(14, 0, -1)),  # 14 days: 2 freezes held, skip today spends one
    4: _days_back("UTC", *range(8, 1, -1)),  # 7 days to the day before yesterday: covered
    5: _days_back("UTC", 8, 7, 6, 3, 2, 1),  # three days missed: broken
    6: _days_back("UTC", 5, 4, 2, 1),  # one missed day and no freeze: broken
    7: _days_back("UTC", *range(365, 0, -1)),  # a year of daily study: one run
    8: _west(),
    9: [],  # never graded
}

EXPECTED = {
    1: (Streak(6, 6, 0, 0, studied_today=False, days=6), Nudge(6, 0, False, False)),
    2: (Streak(9, 9, 0, 1, studied_today=False, days=9), Nudge(9, 0, False, False)),
    3: (Streak(14, 14, 2, 0, studied_today=False, days=14), Nudge(14, 2, True, False)),
    4: (Streak(7, 7, 1, 0, studied_today=False, days=7), Nudge(7, 1, False, True)),
    5: (Streak(3, 3, 0, 0, studied_today=False, days=6), Nudge(3, 0, False, False)),
    6: (Streak(2, 2, 0, 0, studied_today=False, days=4), Nudge(2, 0, False, False)),
    7: (Streak(365, 365, 2, 0, studied_today=False, days=365), Nudge(365, 2, True, False)),
    8: (Streak(3, 3, 0, 0, studied_today=False, days=3), Nudge(3, 0, False, False)),
    9: (Streak(0, 0, 0, 0, studied_today=False, days=0), None),
}


async def test_histories_give_the_streaks_and_nudges_marks_gave(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Read without checkpoints, then with the checkpoints written at NOW (and again a
    week later, moved on), every person's streak and nudge are what their marks give;
    with a checkpoint, a year of daily study is read as the last few days only."""
    async with sessions() as session, session.begin():
        for person, marks in HISTORIES.items():
            await add_person_with_private_chat(session, person, now=NOW)
            session.add_all(_review(n, mark, person) for n, mark in enumerate(marks))
    expected = {
        person: (compute_streak(marks, today=TODAY), streak_nudge(_whole(marks), today=TODAY))
        for person, marks in HISTORIES.items()
    }
    assert expected == EXPECTED
    async with sessions() as session:
        fresh = await groups.histories_for_people(list(HISTORIES), session=session)
        alone = {p: await learning.study_runs(p, session=session) for p in HISTORIES}
    assert {p: list(h.runs) for p, h in fresh.items()} == alone
    assert all(h.fold is None for h in fresh.values())
    assert len(fresh[7].runs) == 1  # a year of days, one row
    assert _streaks(fresh) == expected

    through = {}
    for moment in (NOW, NOW + timedelta(days=CHECKPOINT_LAG_DAYS)):
        due = {p: checkpoint_due(h, now=moment) for p, h in fresh.items()}
        folds = {p: fold for p, fold in due.items() if fold is not None}
        assert set(folds) == set(HISTORIES) - {9}  # 9 never studied: nothing to fold
        async with sessions() as session, session.begin():
            await learning.save_checkpoints(folds, session=session)
        async with sessions() as session:
            fresh = await groups.histories_for_people(list(HISTORIES), session=session)
        assert _streaks(fresh) == expected
        kept = fresh[7]
        assert kept.fold is not None
        through[moment] = (
            kept.fold.through,
            kept.fold.days,
            [(r.first_day, r.last_day) for r in kept.runs],
        )
        # Nothing due again until the checkpoint lags a week behind.
        assert checkpoint_due(kept, now=moment + timedelta(days=CHECKPOINT_LAG_DAYS - 1)) is None
    closed = TODAY - timedelta(days=CLOSED_AFTER_DAYS)
    assert through == {
        # A year of daily study up to yesterday: all but the last two days in the fold.
        NOW: (closed, 363, [(closed + timedelta(days=1), TODAY - timedelta(days=1))]),
        # A week on, with nothing studied since: everything in the fold, nothing read.
        NOW + timedelta(days=CHECKPOINT_LAG_DAYS): (closed + timedelta(days=7), 365, []),
    }


def _whole(marks: list[StudyMark]) -> StudyHistory:
    return StudyHistory(None, tuple(runs_of(marks)))


def _streaks(histories: dict[int, StudyHistory]) -> dict[int, tuple[Streak, Nudge | None]]:
    return {
        person: (
            compute_streak_of_history(history, today=TODAY),
            streak_nudge(history, today=TODAY),
        )
        for person, history in histories.items()
    }


async def test_a_checkpoint_is_not_written_for_someone_deleted_meanwhile(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """/forget between the read and the write: the foreign key refuses the orphan, so a
    person who comes back later does not inherit a streak of days that are gone."""
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW)
        session.add_all(_review(n, mark, 1) for n, mark in enumerate(HISTORIES[7]))
    async with sessions() as session:
        history = (await groups.histories_for_people([1], session=session))[1]
    fold = checkpoint_due(history, now=NOW)
    assert fold is not None
    async with sessions() as session, session.begin():
        await session.execute(delete(PersonRow).where(PersonRow.id == 1))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await learning.save_checkpoints({1: fold}, session=session)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StreakCheckpointRow)) == 0
