"""Streaks read from a stored checkpoint and the few days after it.

Every reader (/stats, /top, the streak reminders) reads the same way: the checkpoints
and the runs of study days after them (bot/storage/learning.study_histories), then,
when a checkpoint lags a week behind, moves it on in a short transaction of its own.
That write is an optimisation, never a condition: if the person was deleted by /forget
meanwhile, its foreign key fails, nothing is written, and the streak shown was the same.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.domain.streaks import StreakFold, StudyHistory, checkpoint_due
from bot.service.context import Services
from bot.storage import learning

log = logging.getLogger(__name__)


async def keep_checkpoints(
    services: Services, histories: dict[int, StudyHistory], *, now: datetime
) -> int:
    """Move on the checkpoints that lag (none, on almost every call: no statement then);
    returns how many were written."""
    due: dict[int, StreakFold] = {}
    for person, history in histories.items():
        fold = checkpoint_due(history, now=now)
        if fold is not None:
            due[person] = fold
    if not due:
        return 0
    try:
        async with services.sessions() as session, session.begin():
            await learning.save_checkpoints(due, session=session)
    except IntegrityError:
        log.info(
            "streak checkpoints not moved on: one of %d people was deleted meanwhile", len(due)
        )
        return 0
    return len(due)
