"""A chat's settings: where and when questions go, and on which topics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from bot.domain.schedule import Schedule, next_due

ALL_DAYS = frozenset(range(7))


def days_to_mask(days: Iterable[int]) -> int:
    """Weekdays (Monday=0) as a bit mask, the way the database stores them."""
    mask = 0
    for day in days:
        mask |= 1 << day
    return mask


def mask_to_days(mask: int) -> frozenset[int]:
    return frozenset(day for day in range(7) if mask & (1 << day))


def format_hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class ChatSettings:
    """Everything that decides what a chat receives and when."""

    chat_id: int
    kind: str
    schedule: Schedule
    decks: tuple[str, ...]
    paused: bool = False
    active: bool = True
    next_due_at: datetime | None = None
    last_delivered_on: date | None = None

    @property
    def is_group(self) -> bool:
        return self.kind in {"group", "supergroup"}

    @property
    def receives_daily(self) -> bool:
        return self.active and not self.paused

    def rescheduled(self, *, now: datetime) -> ChatSettings:
        """The same settings with ``next_due_at`` recomputed from ``now``."""
        due = (
            next_due(self.schedule, now=now, last_delivered=self.last_delivered_on)
            if self.receives_daily
            else None
        )
        return replace(self, next_due_at=due)


def ordered_decks(selected: Iterable[str], bank_order: Sequence[str]) -> tuple[str, ...]:
    """Selected deck ids that still exist, in bank order (stable storage, fair rotation)."""
    chosen = set(selected)
    return tuple(deck for deck in bank_order if deck in chosen)
