"""Study days and streaks, counted in the person's own time zone.

A *study day* is a local date (in the user's zone at grading time) on which
the user graded at least one question. Streaks count consecutive study days.
Rules, in the order :func:`compute_streak` applies them:

* **Set of dates.** Marks are reduced to distinct local dates, so a date seen
  twice (grading in Berlin in the evening, flying west, grading again the same
  local date in Los Angeles) counts once.
* **Consecutive.** The next study day is the day after the previous one.
* **Moved east.** A local date that was skipped only because the user moved
  east also counts as consecutive: the local dates are exactly 2 apart, the
  UTC offsets differ, and the two study days would have been consecutive
  measured in either offset alone (the later day's first mark read in the
  earlier day's offset, or the earlier day's last mark read in the later
  day's offset). That implies the UTC gap is under 48 hours and the move was
  eastward; a real missed day is never forgiven this way.
* **Freezes.** A freeze is earned each time the running streak reaches a
  multiple of 7 days; at most 2 are held. One missed day between two study
  days spends a held freeze automatically: the streak survives but the
  frozen day does not add to its length. Two or more missed days in a row
  break the streak; held freezes are kept for the next one.
* **Today.** ``current`` counts the streak ending today, or ending yesterday
  while today is still open. It also stays alive when the only missed day is
  yesterday and a freeze is held: the freeze is spent (and reported in
  ``freezes_used``) only once the user studies today, so until then
  ``freezes_held`` still includes it. Otherwise ``current`` is 0.
* **Travel west past "today".** A study date later than ``today`` (possible
  right after flying west) is treated as today, so it is never in the future
  and ``studied_today`` is true.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.domain.clock import require_utc
from bot.domain.schedule import zone

FREEZE_EVERY = 7
MAX_FREEZES = 2
_MAX_OFFSET_MINUTES = 24 * 60


@dataclass(frozen=True)
class StudyMark:
    """One graded review: when (UTC) and the local date/offset at that time.

    ``local_date`` must be the date of ``at`` shifted by
    ``utc_offset_minutes``; a mismatch raises ``ValueError`` because it means
    the caller mixed up zones.
    """

    at: datetime
    local_date: date
    utc_offset_minutes: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_utc(self.at, "at"))
        if abs(self.utc_offset_minutes) >= _MAX_OFFSET_MINUTES:
            raise ValueError(f"utc_offset_minutes out of range: {self.utc_offset_minutes}")
        expected = _date_at_offset(self.at, self.utc_offset_minutes)
        if self.local_date != expected:
            raise ValueError(
                f"local_date {self.local_date} does not match {self.at.isoformat()} "
                f"at offset {self.utc_offset_minutes:+d} min ({expected})"
            )

    @classmethod
    def stored(cls, at: datetime, local_date: date, utc_offset_minutes: int) -> StudyMark:
        """A mark read back from the database, where it was validated when the grade was
        written: no checks again (a year of study days is hundreds of marks per /stats)."""
        mark = object.__new__(cls)
        object.__setattr__(mark, "at", at)
        object.__setattr__(mark, "local_date", local_date)
        object.__setattr__(mark, "utc_offset_minutes", utc_offset_minutes)
        return mark

    @classmethod
    def at_zone(cls, at: datetime, timezone: str) -> StudyMark:
        """The mark for a review graded at ``at`` by someone in ``timezone``."""
        local = require_utc(at, "at").astimezone(zone(timezone))
        offset = local.utcoffset()
        assert offset is not None  # aware datetime from a ZoneInfo
        return cls(
            at=at, local_date=local.date(), utc_offset_minutes=int(offset.total_seconds() // 60)
        )


@dataclass(frozen=True)
class Streak:
    """The streak summary shown to the user (see the module docstring)."""

    current: int
    longest: int
    freezes_held: int
    freezes_used: int
    studied_today: bool
    days: int


@dataclass(frozen=True)
class _Day:
    """One study day: its date and its first and last marks."""

    local_date: date
    first: StudyMark
    last: StudyMark


def _date_at_offset(at: datetime, offset_minutes: int) -> date:
    return (at + timedelta(minutes=offset_minutes)).date()


def _study_days(marks: Iterable[StudyMark]) -> list[_Day]:
    days: dict[date, _Day] = {}
    for mark in marks:
        day = days.get(mark.local_date)
        if day is None:
            days[mark.local_date] = _Day(mark.local_date, mark, mark)
            continue
        key = (mark.at, mark.utc_offset_minutes)
        first = mark if key < (day.first.at, day.first.utc_offset_minutes) else day.first
        last = mark if key > (day.last.at, day.last.utc_offset_minutes) else day.last
        days[mark.local_date] = _Day(mark.local_date, first, last)
    return [days[key] for key in sorted(days)]


@dataclass(frozen=True)
class StudyRun:
    """Consecutive study days, ``first_day`` to ``last_day``, with the marks the travel rule
    reads at its edges: the first day's first mark and the last day's last mark.

    An edge mark may be None when the neighbouring run is not exactly two dates away (the
    travel rule only looks across a one-date gap); :func:`compute_streak_of_runs` raises
    ``ValueError`` if one it needs is missing.
    """

    first_day: date
    last_day: date
    first: StudyMark | None
    last: StudyMark | None


def _runs(days: list[_Day]) -> list[StudyRun]:
    runs: list[StudyRun] = []
    for day in days:
        if runs and (day.local_date - runs[-1].last_day).days == 1:
            runs[-1] = StudyRun(runs[-1].first_day, day.local_date, runs[-1].first, day.last)
        else:
            runs.append(StudyRun(day.local_date, day.local_date, day.first, day.last))
    return runs


def _moved_east(earlier: StudyRun, later: StudyRun) -> bool:
    """Whether the one-date gap between two study days is an artefact of travel."""
    if (later.first_day - earlier.last_day).days != 2:
        return False
    before, after = earlier.last, later.first
    if before is None or after is None:
        raise ValueError(f"the marks around {earlier.last_day + timedelta(days=1)} are needed")
    if before.utc_offset_minutes == after.utc_offset_minutes:
        return False
    next_day = earlier.last_day + timedelta(days=1)
    return (
        _date_at_offset(after.at, before.utc_offset_minutes) == next_day
        or _date_at_offset(before.at, after.utc_offset_minutes) == next_day
    )


def runs_of(marks: Iterable[StudyMark]) -> list[StudyRun]:
    """The runs of consecutive study days in ``marks``, oldest first, with every edge mark
    (what the storage reads in SQL; here for callers and tests that hold the marks)."""
    return _runs(_study_days(marks))


def compute_streak(marks: Iterable[StudyMark], *, today: date) -> Streak:
    """Summarize study marks as of the local date ``today`` (user's zone now)."""
    return compute_streak_of_runs(runs_of(marks), today=today)


def compute_streak_of_runs(runs: Sequence[StudyRun], *, today: date) -> Streak:
    """:func:`compute_streak` from the runs of consecutive study days, oldest first.

    The same rules, a run at a time: within a run every day continues the streak, and a
    freeze is earned at each multiple of 7 it reaches; between runs the gap decides. So a
    year of daily study is one run, and the cost follows the breaks, not the days.
    """
    return compute_streak_of_history(StudyHistory(None, tuple(runs)), today=today)


@dataclass(frozen=True)
class StreakFold:
    """The streak rules' running state after every study day up to ``through``.

    The rules are a left fold over the runs, oldest first, so the state after some
    prefix of a person's history is all that later days need: a stored fold lets the
    streak be read from the few days since ``through`` instead of the whole history.
    ``last`` is the newest run folded (None when no study day is that old); its
    ``last`` mark is kept because the travel rule reads it across a one-date gap.
    """

    through: date
    run: int
    longest: int
    held: int
    used: int
    days: int
    last: StudyRun | None


@dataclass(frozen=True)
class StudyHistory:
    """A person's study days as the streak rules read them: an optional stored fold of
    everything up to its ``through`` date, then the runs after it, oldest first."""

    fold: StreakFold | None
    runs: tuple[StudyRun, ...]

    @property
    def last_day(self) -> date | None:
        """The newest study day, or None if the person never studied."""
        if self.runs:
            return self.runs[-1].last_day
        return self.fold.last.last_day if self.fold and self.fold.last else None


# A grade's local date is never before the UTC date minus one (no zone is more than a day
# behind UTC), and travel west can move "today" back one more date: no new grade can
# extend, join or split a run that ended three dates before today's UTC date.
CLOSED_AFTER_DAYS = 3
# A checkpoint moves on once it lags this far behind the closed date: one write a week
# per person who keeps studying, and a streak reads at most about ten days of dates.
CHECKPOINT_LAG_DAYS = 7


def checkpoint_due(history: StudyHistory, *, now: datetime) -> StreakFold | None:
    """The checkpoint to store for this history at ``now`` (UTC), or None while the
    stored one is recent enough (or there is nothing to fold)."""
    closed = require_utc(now, "now").date() - timedelta(days=CLOSED_AFTER_DAYS)
    fold = history.fold
    if fold is not None and (closed - fold.through).days < CHECKPOINT_LAG_DAYS:
        return None
    if history.last_day is None:
        return None
    return fold_history(history, through=closed)


_NO_FOLD = StreakFold(date.min, 0, 0, 0, 0, 0, None)


def _fold(state: StreakFold, current: StudyRun, through: date) -> StreakFold:
    """One more run (wholly after ``state.last``) folded into the state."""
    run, held, used = state.run, state.held, state.used
    previous = state.last
    if previous is not None:
        gap = (current.first_day - previous.last_day).days
        if gap == 1 or _moved_east(previous, current):
            pass
        elif gap == 2 and held:
            held -= 1
            used += 1
        else:
            run = 0
    length = (current.last_day - current.first_day).days + 1
    earned = (run + length) // FREEZE_EVERY - run // FREEZE_EVERY
    held = min(MAX_FREEZES, held + earned)
    run += length
    return StreakFold(
        through, run, max(state.longest, run), held, used, state.days + length, current
    )


def fold_history(history: StudyHistory, *, through: date) -> StreakFold:
    """The fold of every study day up to ``through`` (which must not be before the
    history's own fold): what to store so that the days up to ``through`` need not be
    read again. A run that crosses ``through`` is cut there; cutting a run between two
    consecutive days changes nothing the rules compute (the second piece continues the
    first), so resuming from the fold gives the same streak as reading everything.
    The cut piece ends on a day that is followed by the next, so the travel rule never
    needs its last mark.
    """
    state = history.fold or _NO_FOLD
    if through < state.through:
        raise ValueError(f"cannot fold through {through}, before {state.through}")
    for current in history.runs:
        if current.first_day > through:
            break
        if current.last_day > through:
            current = StudyRun(current.first_day, through, current.first, None)
        state = _fold(state, current, through)
    return replace(state, through=through)


def runs_after(history: StudyHistory, fold: StreakFold) -> tuple[StudyRun, ...]:
    """The part of ``history``'s runs after ``fold.through`` (a cut run's second piece
    starts the day after)."""
    later: list[StudyRun] = []
    for current in history.runs:
        if current.last_day <= fold.through:
            continue
        if current.first_day <= fold.through:
            current = StudyRun(
                fold.through + timedelta(days=1), current.last_day, None, current.last
            )
        later.append(current)
    return tuple(later)


def compute_streak_of_history(history: StudyHistory, *, today: date) -> Streak:
    """The streak summary from a stored fold and the runs after it (see the module
    docstring for the rules)."""
    state = history.fold or _NO_FOLD
    for current in history.runs:
        state = _fold(state, current, state.through)
    if state.last is None:
        return Streak(0, 0, 0, 0, studied_today=False, days=0)
    last = state.last.last_day
    today = max(today, last)
    open_gap = (today - last).days
    alive = open_gap <= 1 or (open_gap == 2 and state.held > 0)
    return Streak(
        current=state.run if alive else 0,
        longest=state.longest,
        freezes_held=state.held,
        freezes_used=state.used,
        studied_today=open_gap == 0,
        days=state.days,
    )
