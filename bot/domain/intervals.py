"""What each grade button would do: FSRS's preview, in Anki's compact units.

Anki writes the next interval on its answer buttons (``Good · 5d``) so that a
grade is an informed choice. :func:`preview` runs the same pure
:func:`~bot.domain.srs.review` the grade will run, for every rating, on the
person's card at that moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.srs import CardState, Rating, review

DAY = 86400


def preview(card: CardState | None, now: datetime) -> dict[Rating, timedelta]:
    """The interval each rating would give ``card`` (None: a new card) graded at ``now``."""
    return {rating: review(card, rating, now).due - now for rating in Rating}


def compact_interval(delta: timedelta) -> str:
    """``1d`` … ``13d``, ``2w`` … ``9w``, ``2mo`` … ``12mo``, then years (``1y``, ``1.5y``).

    Whole days (FSRS schedules whole days here), never less than 1. Weeks,
    months (30.44 days) and years (365.25 days) are rounded to the nearest
    whole unit, years to one decimal.
    """
    days = max(1, round(delta.total_seconds() / DAY))
    if days < 14:
        return f"{days}d"
    if days < 61:
        return f"{round(days / 7)}w"
    if days < 365:
        return f"{min(12, round(days / 30.44))}mo"
    years = round(days / 365.25, 1)
    return f"{years:g}y"


def button_intervals(card: CardState | None, now: datetime) -> dict[Rating, str]:
    """The label suffix of each grade button: ``{AGAIN: "1d", ..., EASY: "2w"}``."""
    return {rating: compact_interval(delta) for rating, delta in preview(card, now).items()}
