"""When a chat gets its daily question: wall-clock time, zone and weekdays.

A :class:`Schedule` is stored as the user typed it (local wall time + IANA
zone), never as a UTC instant, because "09:00 in Berlin" is a different UTC
instant in winter and in summer. :func:`next_due` turns it into the next UTC
instant to deliver at, given ``now`` and the local date of the last delivery.

Daylight-saving rules, chosen so that a chat gets exactly one question per
chosen local day:

* a wall time that does not exist (spring-forward gap) is delivered at the
  first valid instant after it, i.e. the transition itself (02:30 on
  2026-03-08 in New York is delivered at 03:00 EDT);
* a wall time that happens twice (fall-back fold) is delivered once, at its
  first occurrence (``fold=0``).

The parsing helpers at the bottom back the ``/time``, ``/timezone`` and
``/days`` commands; they raise :class:`ScheduleInputError` whose message can be
shown to the user as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.clock import require_utc
from bot.domain.timezones import (
    format_offset,
    lookup_zone,
    parse_offset,
    suggest_zones,
    zone_for_offset,
)

ALL_DAYS: frozenset[int] = frozenset(range(7))
WEEKDAYS: frozenset[int] = frozenset(range(5))
WEEKENDS: frozenset[int] = frozenset({5, 6})
DAY_NAMES: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
DAY_ABBREVIATIONS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# How far ahead next_due looks: one week always contains a chosen weekday; the
# extra week only matters for a zone that skips a whole calendar day.
_SEARCH_DAYS = 15


class ScheduleInputError(ValueError):
    """User input for a schedule setting that cannot be understood.

    The message is written for the user (it says what was wrong and gives an
    example), so handlers can reply with ``str(error)`` directly.
    """


def zone(key: str) -> ZoneInfo:
    """The :class:`ZoneInfo` for an IANA key; ``ValueError`` if unknown."""
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {key!r}") from error


@dataclass(frozen=True)
class Schedule:
    """Deliver at ``local_time`` in ``timezone`` on the weekdays in ``days``.

    ``local_time`` is a naive wall-clock time with minute precision;
    ``days`` uses ``date.weekday()`` numbering (0 = Monday … 6 = Sunday).
    """

    local_time: time
    timezone: str
    days: frozenset[int] = ALL_DAYS

    def __post_init__(self) -> None:
        if self.local_time.tzinfo is not None:
            raise ValueError("local_time must be a naive wall-clock time")
        if self.local_time.second or self.local_time.microsecond:
            raise ValueError("local_time must have minute precision")
        if self.local_time.fold:
            # Equal times must compare and hash alike; fold is decided in slot_on.
            object.__setattr__(self, "local_time", self.local_time.replace(fold=0))
        zone(self.timezone)
        days = frozenset(self.days)
        if not days:
            raise ValueError("days must not be empty")
        if not days <= ALL_DAYS:
            raise ValueError(f"days must be within 0..6, got {sorted(days)}")
        object.__setattr__(self, "days", days)


def local_date_of(instant: datetime, timezone: str) -> date:
    """The calendar date in ``timezone`` at ``instant`` (aware)."""
    return require_utc(instant, "instant").astimezone(zone(timezone)).date()


def slot_on(schedule: Schedule, local_date: date) -> datetime:
    """The UTC instant of the delivery on ``local_date`` in the chat's zone.

    Ambiguous wall times resolve to their first occurrence; non-existent ones
    to the end of the gap (see the module docstring).
    """
    tz = zone(schedule.timezone)
    wall = datetime.combine(local_date, schedule.local_time)  # naive wall time, on purpose
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, tz)


def _gap_end(wall: datetime, tz: ZoneInfo) -> datetime:
    """The transition instant of the spring-forward gap that contains ``wall``.

    In a gap, ``fold=0`` reads ``wall`` with the offset before the transition
    and ``fold=1`` with the offset after it, giving two UTC instants that
    bracket the transition. Binary search (whole seconds) finds the first
    instant whose local wall time is past ``wall``: the transition itself.
    """
    a = int(wall.replace(tzinfo=tz, fold=0).timestamp())
    b = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    lo, hi = min(a, b), max(a, b)  # wall(lo) < wall <= ... < wall(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) > wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def next_due(schedule: Schedule, *, now: datetime, last_delivered: date | None) -> datetime:
    """The next UTC instant at which this chat should get its question.

    The earliest slot on a chosen weekday whose local date is after
    ``last_delivered`` (the local date of the last delivery, if any) and that
    is not over yet: ``slot >= now`` floored to the minute, so a slot of 09:00
    is still "now" at 09:00:40. Consequences: moving the time later today
    before today's question went out moves today's delivery; once today's
    question went out (``last_delivered == today``) nothing more comes today.
    """
    now = require_utc(now, "now")
    floor = now.replace(second=0, microsecond=0)
    start = local_date_of(now, schedule.timezone)
    if last_delivered is not None:
        start = max(start, last_delivered + timedelta(days=1))
    for offset in range(_SEARCH_DAYS):
        day = start + timedelta(days=offset)
        if day.weekday() not in schedule.days:
            continue
        slot = slot_on(schedule, day)
        if slot >= floor:
            return slot
    raise AssertionError("no slot within two weeks; unreachable for a valid schedule")


def is_still_due(schedule: Schedule, *, due: datetime, now: datetime) -> bool:
    """Whether a stored due instant may still be delivered at ``now``.

    True iff ``now`` and ``due`` fall on the same local date in the chat's
    zone. After downtime the bot delivers today's missed question late, but
    questions of earlier days are dropped rather than piled up. Whether
    ``due <= now`` is the caller's check; this only answers "same day?".
    """
    return local_date_of(now, schedule.timezone) == local_date_of(due, schedule.timezone)


# --- parsing user input -----------------------------------------------------

_TIME_RE = re.compile(
    r"^(?P<hours>\d{1,2})(?:(?:\s*[:.h]\s*)?(?P<minutes>\d{2}))?"
    r"\s*(?P<meridiem>a\.?m\.?|p\.?m\.?|a|p)?$"
)
_TIME_WORDS = {"noon": time(12, 0), "midday": time(12, 0), "midnight": time(0, 0)}
_TIME_EXAMPLE = "Send it like 09:30, 21:05 or 9pm."


def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return f"“{text[:limit]}…”" if len(text) > limit else f"“{text}”"


def parse_local_time(text: str) -> time:
    """A wall-clock time from "9", "09:30", "21:05", "9am", "9:30 pm", "0930"…

    24-hour input takes hours 0–23; with am/pm hours are 1–12 and "12am" is
    00:00, "12pm" is 12:00. "9.30" and "9h30" work too, as do "noon" and
    "midnight". Raises :class:`ScheduleInputError` otherwise.
    """
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned:
        raise ScheduleInputError(f"Please send a time of day. {_TIME_EXAMPLE}")
    if cleaned in _TIME_WORDS:
        return _TIME_WORDS[cleaned]
    match = _TIME_RE.match(cleaned)
    if match is None:
        raise ScheduleInputError(f"I couldn't read {_quote(text)} as a time. {_TIME_EXAMPLE}")
    hours = int(match["hours"])
    minutes = int(match["minutes"] or 0)
    meridiem = match["meridiem"]
    if minutes > 59:
        raise ScheduleInputError(
            f"{_quote(text)} is not a time: minutes go from 00 to 59. {_TIME_EXAMPLE}"
        )
    if meridiem is not None:
        if not 1 <= hours <= 12:
            raise ScheduleInputError(
                f"{_quote(text)} is not a time: with am/pm, hours go from 1 to 12. {_TIME_EXAMPLE}"
            )
        hours = hours % 12 + (12 if meridiem.startswith("p") else 0)
    elif hours > 23:
        raise ScheduleInputError(
            f"{_quote(text)} is not a time: hours go from 0 to 23. {_TIME_EXAMPLE}"
        )
    return time(hours, minutes)


_TIMEZONE_EXAMPLE = "Send a city like Berlin, a zone like Europe/Berlin, or an offset like UTC+3."


def parse_timezone(text: str) -> str:
    """A canonical IANA key from a zone name, city, alias or UTC offset.

    "europe/berlin" → "Europe/Berlin", "new york" → "America/New_York",
    "UTC"/"GMT"/"Z" → "UTC", "UTC+3" → "Etc/GMT-3" (POSIX-inverted sign),
    "+05:30" → "Asia/Kolkata". See :mod:`bot.domain.timezones` for the rules.
    Unknown names raise :class:`ScheduleInputError` with up to three close
    matches.
    """
    if not text.strip():
        raise ScheduleInputError(f"Please tell me your time zone. {_TIMEZONE_EXAMPLE}")
    offset = parse_offset(text)
    if offset is not None:
        found = zone_for_offset(offset)
        if found is None:
            raise ScheduleInputError(
                f"No time zone uses {format_offset(offset)} as its standard offset. "
                f"Send your city instead, e.g. Berlin or New York."
            )
        return found
    found = lookup_zone(text)
    if found is not None:
        return found
    suggestions = suggest_zones(text)
    hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise ScheduleInputError(
        f"I don't know the time zone {_quote(text)}.{hint} {_TIMEZONE_EXAMPLE}"
    )


_ALL_DAYS_WORDS = frozenset({"every day", "everyday", "daily", "all", "all days", "each day", "*"})
_DAY_GROUPS = {
    "weekdays": WEEKDAYS,
    "weekday": WEEKDAYS,
    "workdays": WEEKDAYS,
    "weekends": WEEKENDS,
    "weekend": WEEKENDS,
    "daily": ALL_DAYS,
    "everyday": ALL_DAYS,
    "all": ALL_DAYS,
}
_RANGE_RE = re.compile(r"\s*(?:-|–|—|\bto\b|\bthrough\b|\bthru\b)\s*")
_LIST_SPLIT_RE = re.compile(r"(?:[\s,;/&+]|\band\b)+")
_DAYS_EXAMPLE = "Try: every day, weekdays, weekends, mon,wed,fri or mon-thu."


def _day_number(token: str) -> int | None:
    """0..6 for "mon", "Tues", "thurs", "wednesday", "fridays"; else None."""
    token = token.strip(".")
    if token == "weds":
        return 2
    if len(token) >= 4 and token.endswith("s") and token[:-1] in DAY_NAMES:
        return DAY_NAMES.index(token[:-1])
    if len(token) < 2:
        return None
    for number, name in enumerate(DAY_NAMES):
        if name.startswith(token):
            return number
    return None


def parse_days(text: str) -> frozenset[int]:
    """Weekday numbers from "every day", "weekdays", "mon,wed,fri", "tue-thu"…

    Lists may mix names, groups and ranges ("mon-wed, sat"); ranges may wrap
    ("fri-mon"). Raises :class:`ScheduleInputError` for anything else.
    """
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in _ALL_DAYS_WORDS:
        return ALL_DAYS
    cleaned = _RANGE_RE.sub("-", cleaned)
    days: set[int] = set()
    for token in filter(None, _LIST_SPLIT_RE.split(cleaned)):
        if token in _DAY_GROUPS:
            days |= _DAY_GROUPS[token]
            continue
        first, dash, last = token.partition("-")
        start, end = _day_number(first), _day_number(last) if dash else None
        if start is None or (dash and end is None):
            raise ScheduleInputError(f"I couldn't read {_quote(token)} as a day. {_DAYS_EXAMPLE}")
        if end is None:
            days.add(start)
        else:
            days.update((start + step) % 7 for step in range((end - start) % 7 + 1))
    if not days:
        raise ScheduleInputError(f"Please tell me which days. {_DAYS_EXAMPLE}")
    return frozenset(days)


def describe_days(days: frozenset[int]) -> str:
    """ "every day", "weekdays", "weekends" or "Mon, Wed, Fri" (Monday first)."""
    if not days or not days <= ALL_DAYS:
        raise ValueError(f"days must be a non-empty subset of 0..6, got {sorted(days)}")
    if days == ALL_DAYS:
        return "every day"
    if days == WEEKDAYS:
        return "weekdays"
    if days == WEEKENDS:
        return "weekends"
    return ", ".join(DAY_ABBREVIATIONS[day] for day in sorted(days))


def end_of_local_day(instant: datetime, timezone: str) -> datetime:
    """The UTC instant at which the local day containing ``instant`` ends.

    FSRS schedules whole days from the moment of grading, so a card graded at
    21:00 is due at 21:00 some days later. For a once-a-day bot that card is due
    on that local day, whatever the hour: selection looks up to this instant.
    """
    tz = zone(timezone)
    local = require_utc(instant, "instant").astimezone(tz)
    next_midnight = datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=tz)
    return next_midnight.astimezone(UTC)
