"""Group leaderboards and group streaks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

TOP = 10


@dataclass(frozen=True)
class MemberStats:
    person_id: int
    name: str
    streak: int
    this_week: int
    recent: int
    """Grades over the leaderboard's window (the last 30 days on /top)."""


@dataclass(frozen=True)
class Placed:
    place: int
    member: MemberStats


def rank(
    members: Sequence[MemberStats], *, caller: int | None = None, top: int = TOP
) -> list[Placed]:
    """Top ``top`` by grades this week, then over the window, then streak; plus the caller's place.

    Ties share a place (1, 2, 2, 4), so equal work is shown as equal.
    """
    ordered = sorted(
        members, key=lambda m: (-m.this_week, -m.recent, -m.streak, m.name, m.person_id)
    )
    placed: list[Placed] = []
    previous: tuple[int, int, int] | None = None
    place = 0
    for index, member in enumerate(ordered, start=1):
        key = (member.this_week, member.recent, member.streak)
        if key != previous:
            place = index
            previous = key
        placed.append(Placed(place, member))
    shown = placed[:top]
    if caller is not None and all(p.member.person_id != caller for p in shown):
        shown += [p for p in placed if p.member.person_id == caller]
    return shown


def group_streak(days: Iterable[date], *, today: date) -> int:
    """Consecutive local days with at least one grade, ending today or yesterday."""
    studied = set(days)
    start = today if today in studied else today - timedelta(days=1)
    streak = 0
    while start - timedelta(days=streak) in studied:
        streak += 1
    return streak
