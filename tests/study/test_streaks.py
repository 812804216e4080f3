"""Streak checkpoints kept by the readers (/stats, /top, the reminders), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.domain.streaks import StudyMark, compute_streak, compute_streak_of_history
from bot.service.context import Services
from bot.storage import learning
from bot.storage.models import PersonRow, StreakCheckpointRow
from bot.study.streaks import keep_checkpoints
from tests.support.storage_rows import add_person_with_private_chat, study_reviews

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


async def _checkpoints(services: Services) -> int:
    async with services.sessions() as session:
        return await session.scalar(select(func.count()).select_from(StreakCheckpointRow)) or 0


async def test_a_reader_writes_a_checkpoint_once_a_week_and_the_streak_stays(
    services: Services,
) -> None:
    marks = [StudyMark.at_zone(NOW - timedelta(days=d), "UTC") for d in range(1, 41)]
    async with services.sessions() as session, session.begin():
        await add_person_with_private_chat(session, 7, now=NOW)
        await add_person_with_private_chat(session, 8, now=NOW)  # never studied
        session.add_all(study_reviews(7, marks))
    expected = compute_streak(marks, today=NOW.date())
    for moment, written in [
        (NOW, 1),  # no checkpoint yet: written
        (NOW + timedelta(days=6), 0),  # six days on: still recent enough
        (NOW + timedelta(days=7), 1),  # a week behind: moved on
    ]:
        async with services.sessions() as session:
            histories = await learning.study_histories([7, 8], session=session)
        assert compute_streak_of_history(histories[7], today=NOW.date()) == expected
        assert await keep_checkpoints(services, histories, now=moment) == written
    assert await _checkpoints(services) == 1
    async with services.sessions() as session:
        history = (await learning.study_histories([7], session=session))[7]
    assert history.fold is not None
    assert (history.fold.through, history.fold.days, history.runs) == (
        (NOW + timedelta(days=4)).date(),
        40,
        (),
    )
    assert compute_streak_of_history(history, today=NOW.date()) == expected


async def test_a_person_deleted_meanwhile_gets_no_checkpoint_and_no_error(
    services: Services,
) -> None:
    marks = [StudyMark.at_zone(NOW - timedelta(days=d), "UTC") for d in range(5, 9)]
    async with services.sessions() as session, session.begin():
        await add_person_with_private_chat(session, 7, now=NOW)
        session.add_all(study_reviews(7, marks))
    async with services.sessions() as session:
        histories = await learning.study_histories([7], session=session)
    async with services.sessions() as session, session.begin():
        await session.delete(await session.get_one(PersonRow, 7))
    assert await keep_checkpoints(services, histories, now=NOW) == 0
    assert await _checkpoints(services) == 0
