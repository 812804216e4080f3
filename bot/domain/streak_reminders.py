"""The streak reminder: whom to nudge, when, and what to say about freezes.

A person with a current streak of 2 days or more who has not graded anything
today gets one nudge at their reminder time (a local wall time, every day),
at most once per local date. The next reminder instant is computed exactly
like the daily question's (:func:`~bot.domain.schedule.next_due`, so DST gaps
and repeats behave the same), and stored for the dispatcher to claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from bot.domain.schedule import Schedule, ScheduleInputError, next_due, parse_local_time
from bot.domain.streaks import StudyHistory, compute_streak_of_history

DEFAULT_REMINDER = time(20, 0)
MIN_STREAK = 2
OFF_WORDS = frozenset({"off", "no", "none", "stop", "disable"})
ON_WORDS = frozenset({"on", "yes", "enable"})


def next_reminder(
    remind_at: time, timezone: str, *, now: datetime, last_reminded: date | None
) -> datetime:
    """The next instant to consider reminding: ``remind_at`` local, after ``last_reminded``."""
    return next_due(Schedule(remind_at, timezone), now=now, last_delivered=last_reminded)


@dataclass(frozen=True)
class Nudge:
    """What the reminder says: the streak at stake and the freezes around it.

    ``freeze_tonight``: skipping today would spend a held freeze (the streak
    survives). ``freeze_for_yesterday``: yesterday was missed and a freeze is
    covering it, so skipping today too ends the streak.
    """

    streak: int
    freezes_held: int
    freeze_tonight: bool
    freeze_for_yesterday: bool


def streak_nudge(history: StudyHistory, *, today: date) -> Nudge | None:
    """The nudge for a person as of their local ``today``; None when none is due.

    Read from the streak checkpoint and the runs of study days after it, so the cost
    does not grow with the person's history. None when they already graded
    today or when the current streak is under :data:`MIN_STREAK` days.
    """
    streak = compute_streak_of_history(history, today=today)
    if streak.studied_today or streak.current < MIN_STREAK:
        return None
    assert history.last_day is not None  # a current streak has a last study day
    gap = (today - history.last_day).days
    covering = gap == 2 and streak.freezes_held > 0
    return Nudge(
        streak=streak.current,
        freezes_held=streak.freezes_held,
        freeze_tonight=gap == 1 and streak.freezes_held > 0,
        freeze_for_yesterday=covering,
    )


@dataclass(frozen=True)
class RemindRequest:
    """``/remind`` parsed: a new time, on (keep the time), or off."""

    enabled: bool
    at: time | None = None


def parse_remind_args(text: str) -> RemindRequest:
    """``21:30`` / ``9pm`` → that time; ``off`` → off; ``on`` → on. Raises ScheduleInputError."""
    words = text.strip().lower()
    if words in OFF_WORDS:
        return RemindRequest(enabled=False)
    if words in ON_WORDS:
        return RemindRequest(enabled=True)
    try:
        return RemindRequest(enabled=True, at=parse_local_time(words))
    except ScheduleInputError as error:
        raise ScheduleInputError(f"{error} Or /remind off to stop reminders.") from error
