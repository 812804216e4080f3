"""Streaks and freezes, including travel across time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.streaks import Streak, StudyMark, compute_streak


def mark(year: int, month: int, day: int, hour: int, minute: int, zone: str) -> StudyMark:
    """A review graded at this local wall time in ``zone``."""
    return StudyMark.at_zone(datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)), zone)


def daily_marks(first: date, count: int, zone: str = "Europe/Berlin") -> list[StudyMark]:
    """One review at 12:00 local on each of ``count`` days starting at ``first``."""
    marks = []
    for offset in range(count):
        day = first + timedelta(days=offset)
        marks.append(mark(day.year, day.month, day.day, 12, 0, zone))
    return marks


def jan(day: int) -> date:
    return date(2026, 1, day)


def dates(*days: int) -> list[StudyMark]:
    return [m for day in days for m in daily_marks(jan(day), 1)]


# --- basics --------------------------------------------------------------------------


def test_no_marks() -> None:
    assert compute_streak([], today=jan(5)) == Streak(
        current=0, longest=0, freezes_held=0, freezes_used=0, studied_today=False, days=0
    )


def test_single_day_today() -> None:
    assert compute_streak(dates(5), today=jan(5)) == Streak(
        current=1, longest=1, freezes_held=0, freezes_used=0, studied_today=True, days=1
    )


def test_streak_ending_yesterday_is_still_current() -> None:
    assert compute_streak(dates(3, 4, 5), today=jan(6)) == Streak(
        current=3, longest=3, freezes_held=0, freezes_used=0, studied_today=False, days=3
    )


def test_streak_ending_two_days_ago_without_freeze_is_over() -> None:
    assert compute_streak(dates(3, 4, 5), today=jan(7)) == Streak(
        current=0, longest=3, freezes_held=0, freezes_used=0, studied_today=False, days=3
    )


def test_duplicates_and_order_do_not_matter() -> None:
    marks = dates(3, 4, 5)
    shuffled = [marks[2], marks[0], marks[2], marks[1], marks[0]]
    assert compute_streak(shuffled, today=jan(5)) == compute_streak(marks, today=jan(5))
    assert compute_streak(shuffled, today=jan(5)).days == 3


def test_several_reviews_a_day_count_once() -> None:
    marks = [mark(2026, 1, 5, hour, 0, "Europe/Berlin") for hour in (0, 8, 23)]
    assert compute_streak(marks, today=jan(5)).current == 1


def test_a_gap_without_freeze_breaks_and_longest_is_kept() -> None:
    streak = compute_streak(dates(1, 2, 3, 5), today=jan(5))
    assert (streak.current, streak.longest, streak.freezes_used) == (1, 3, 0)


def test_longest_versus_current() -> None:
    marks = daily_marks(jan(1), 10) + daily_marks(jan(14), 3)
    assert compute_streak(marks, today=jan(16)) == Streak(
        current=3, longest=10, freezes_held=1, freezes_used=0, studied_today=True, days=13
    )


# --- freezes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "held"),
    [(6, 0), (7, 1), (13, 1), (14, 2), (21, 2), (28, 2)],
)
def test_freezes_earned_every_seven_days_capped_at_two(days: int, held: int) -> None:
    streak = compute_streak(daily_marks(jan(1), days), today=jan(days))
    assert (streak.current, streak.freezes_held, streak.freezes_used) == (days, held, 0)


def test_single_missed_day_spends_a_freeze_without_adding_length() -> None:
    marks = daily_marks(jan(1), 7) + daily_marks(jan(9), 1)  # Jan 8 missed
    assert compute_streak(marks, today=jan(9)) == Streak(
        current=8, longest=8, freezes_held=0, freezes_used=1, studied_today=True, days=8
    )


def test_two_missed_days_break_the_streak_and_keep_the_freeze() -> None:
    marks = daily_marks(jan(1), 7) + daily_marks(jan(10), 1)  # Jan 8 and 9 missed
    assert compute_streak(marks, today=jan(10)) == Streak(
        current=1, longest=7, freezes_held=1, freezes_used=0, studied_today=True, days=8
    )


def test_freezes_run_out() -> None:
    # 14 days (2 freezes), then study every other day: two gaps covered, third breaks.
    marks = daily_marks(jan(1), 14) + dates(16, 18, 20)
    assert compute_streak(marks, today=jan(20)) == Streak(
        current=1, longest=16, freezes_held=0, freezes_used=2, studied_today=True, days=17
    )


def test_freeze_earned_again_at_21_study_days() -> None:
    # 14 days -> 2 held; Jan 15 missed -> 1 held; Jan 16..22 brings the run to 21 -> 2 held.
    marks = daily_marks(jan(1), 14) + daily_marks(jan(16), 7)
    assert compute_streak(marks, today=jan(22)) == Streak(
        current=21, longest=21, freezes_held=2, freezes_used=1, studied_today=True, days=21
    )


def test_streak_alive_when_only_yesterday_missed_and_a_freeze_is_held() -> None:
    marks = daily_marks(jan(1), 7)
    # Jan 8 missed, Jan 9 not studied yet: alive, the freeze is not spent yet.
    assert compute_streak(marks, today=jan(9)) == Streak(
        current=7, longest=7, freezes_held=1, freezes_used=0, studied_today=False, days=7
    )
    # Jan 8 and 9 missed: over, the freeze is kept.
    assert compute_streak(marks, today=jan(10)) == Streak(
        current=0, longest=7, freezes_held=1, freezes_used=0, studied_today=False, days=7
    )


# --- time zones --------------------------------------------------------------------------


def test_berlin_to_los_angeles_repeats_a_date_which_counts_once() -> None:
    marks = [
        mark(2026, 1, 3, 21, 0, "Europe/Berlin"),
        mark(2026, 1, 4, 21, 0, "Europe/Berlin"),
        mark(2026, 1, 5, 21, 0, "Europe/Berlin"),  # 20:00Z, then fly west
        mark(2026, 1, 5, 18, 0, "America/Los_Angeles"),  # Jan 6 02:00Z, same local date
        mark(2026, 1, 6, 9, 0, "America/Los_Angeles"),
    ]
    assert compute_streak(marks, today=jan(6)) == Streak(
        current=4, longest=4, freezes_held=0, freezes_used=0, studied_today=True, days=4
    )


def test_los_angeles_to_tokyo_skips_a_date_without_breaking() -> None:
    marks = [
        mark(2026, 1, 3, 20, 0, "America/Los_Angeles"),
        mark(2026, 1, 4, 20, 0, "America/Los_Angeles"),
        mark(2026, 1, 5, 20, 0, "America/Los_Angeles"),  # Jan 6 04:00Z, fly east
        mark(2026, 1, 7, 9, 0, "Asia/Tokyo"),  # Jan 7 00:00Z: Jan 6 never happened locally
    ]
    assert compute_streak(marks, today=jan(7)) == Streak(
        current=4, longest=4, freezes_held=0, freezes_used=0, studied_today=True, days=4
    )
    more = [*marks, mark(2026, 1, 8, 9, 0, "Asia/Tokyo")]
    assert compute_streak(more, today=jan(8)).current == 5


def test_berlin_to_tokyo_morning_is_consecutive_in_the_new_zone() -> None:
    marks = [
        mark(2026, 1, 4, 20, 0, "Europe/Berlin"),
        mark(2026, 1, 5, 20, 0, "Europe/Berlin"),  # 19:00Z = Jan 6 04:00 in Tokyo
        mark(2026, 1, 7, 8, 0, "Asia/Tokyo"),  # Jan 6 23:00Z, 28 h later
    ]
    streak = compute_streak(marks, today=jan(7))
    assert (streak.current, streak.freezes_used) == (3, 0)


def test_moving_east_does_not_excuse_a_really_missed_day() -> None:
    marks = [
        mark(2026, 1, 4, 20, 0, "Europe/Berlin"),
        mark(2026, 1, 5, 0, 30, "Europe/Berlin"),  # Jan 4 23:30Z
        mark(2026, 1, 7, 20, 0, "Asia/Tokyo"),  # Jan 7 11:00Z, 35.5 h later
    ]
    # Jan 6 passed without study in Berlin (Jan 5 23:00Z-Jan 6 23:00Z) and in
    # Tokyo (Jan 5 15:00Z-Jan 6 15:00Z) alike, so this is a missed day.
    streak = compute_streak(marks, today=jan(7))
    assert (streak.current, streak.longest, streak.freezes_used) == (1, 2, 0)


def test_moving_west_never_excuses_a_skipped_date() -> None:
    marks = [
        mark(2026, 1, 4, 23, 0, "Asia/Tokyo"),
        mark(2026, 1, 5, 23, 30, "Asia/Tokyo"),  # Jan 5 14:30Z
        mark(2026, 1, 7, 0, 30, "America/Los_Angeles"),  # Jan 7 08:30Z, 42 h later
    ]
    streak = compute_streak(marks, today=jan(7))
    assert (streak.current, streak.longest) == (1, 2)


def test_moving_east_with_a_freeze_spends_nothing() -> None:
    marks = [
        *daily_marks(jan(1), 7, "America/Los_Angeles"),  # ends Jan 7 12:00 PST = 20:00Z
        mark(2026, 1, 9, 8, 0, "Asia/Tokyo"),  # Jan 8 23:00Z
    ]
    assert compute_streak(marks, today=jan(9)) == Streak(
        current=8, longest=8, freezes_held=1, freezes_used=0, studied_today=True, days=8
    )


def test_daylight_saving_change_is_not_a_move() -> None:
    # Berlin springs forward on 2026-03-29; 03-29 itself is missed.
    marks = [
        mark(2026, 3, 27, 12, 0, "Europe/Berlin"),
        mark(2026, 3, 28, 12, 0, "Europe/Berlin"),
        mark(2026, 3, 30, 12, 0, "Europe/Berlin"),
    ]
    streak = compute_streak(marks, today=date(2026, 3, 30))
    assert (streak.current, streak.longest) == (1, 2)


def test_study_date_after_today_counts_as_today() -> None:
    # Studied on Jan 6 in Tokyo (Jan 5 23:00Z), now in Los Angeles where it is Jan 5.
    marks = [mark(2026, 1, 5, 9, 0, "Asia/Tokyo"), mark(2026, 1, 6, 8, 0, "Asia/Tokyo")]
    assert compute_streak(marks, today=jan(5)) == Streak(
        current=2, longest=2, freezes_held=0, freezes_used=0, studied_today=True, days=2
    )


# --- StudyMark ---------------------------------------------------------------------------


def test_study_mark_at_zone() -> None:
    at = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
    assert StudyMark.at_zone(at, "Asia/Kathmandu") == StudyMark(
        at=at, local_date=jan(6), utc_offset_minutes=345
    )
    assert StudyMark.at_zone(at, "America/New_York") == StudyMark(
        at=at, local_date=jan(5), utc_offset_minutes=-300
    )


def test_study_mark_converts_aware_at_to_utc() -> None:
    local = datetime(2026, 1, 5, 21, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    study_mark = StudyMark(at=local, local_date=jan(5), utc_offset_minutes=60)
    assert study_mark.at == datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
    assert study_mark.at.tzinfo is UTC


def test_study_mark_validation() -> None:
    at = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        StudyMark(at=datetime(2026, 1, 5), local_date=jan(5), utc_offset_minutes=0)  # noqa: DTZ001
    with pytest.raises(ValueError, match="does not match"):
        StudyMark(at=at, local_date=jan(5), utc_offset_minutes=60)  # that is Jan 6
    with pytest.raises(ValueError, match="out of range"):
        StudyMark(at=at, local_date=jan(6), utc_offset_minutes=24 * 60)


def test_a_stored_mark_equals_the_checked_one() -> None:
    at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    checked = StudyMark(at=at, local_date=date(2026, 3, 2), utc_offset_minutes=60)
    assert StudyMark.stored(at, date(2026, 3, 2), 60) == checked


@pytest.mark.parametrize("seed", range(300))
def test_streak_of_runs_equals_streak_of_marks(seed: int) -> None:
    """The runs (with edge marks only where two runs are one date apart, as storage reads
    them) give exactly compute_streak's answer, travel and freezes included."""
    from bot.domain.streaks import StudyRun, compute_streak_of_runs

    marks, today = _random_marks(seed)
    expected = compute_streak(marks, today=today)
    by_day: dict[date, list[StudyMark]] = {}
    for mark in marks:
        by_day.setdefault(mark.local_date, []).append(mark)
    days = sorted(by_day)
    spans: list[list[date]] = []
    for d in days:
        if spans and (d - spans[-1][-1]).days == 1:
            spans[-1].append(d)
        else:
            spans.append([d])
    key = lambda m: (m.at, m.utc_offset_minutes)  # noqa: E731
    runs = []
    for index, span in enumerate(spans):
        near_before = index > 0 and (span[0] - spans[index - 1][-1]).days == 2
        near_after = index + 1 < len(spans) and (spans[index + 1][0] - span[-1]).days == 2
        runs.append(
            StudyRun(
                span[0],
                span[-1],
                min(by_day[span[0]], key=key) if near_before else None,
                max(by_day[span[-1]], key=key) if near_after else None,
            )
        )
    assert compute_streak_of_runs(runs, today=today) == expected


# --- a stored fold: the streak from the days since a checkpoint -------------------------


def _random_marks(seed: int) -> tuple[list[StudyMark], date]:
    from random import Random

    rng = Random(seed)
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    marks: list[StudyMark] = []
    offset = 0
    day = 0
    for _ in range(rng.randint(0, 60)):
        day += rng.choice([1, 1, 1, 1, 2, 2, 3, 5])
        if rng.random() < 0.15:
            offset = rng.choice([-480, -300, 0, 60, 180, 540])
        for _ in range(rng.randint(1, 2)):
            at = start + timedelta(days=day, hours=rng.randint(-10, 10))
            marks.append(StudyMark.at_zone(at, f"Etc/GMT{-offset // 60:+d}" if offset else "UTC"))
    return marks, (start + timedelta(days=day + rng.randint(0, 3))).date()


@pytest.mark.parametrize("seed", range(200))
def test_a_fold_then_the_days_after_it_give_the_whole_streak(seed: int) -> None:
    """Folding the history through any date (twice, as a checkpoint that moves on does),
    then reading only the runs after it, gives exactly the streak of every mark."""
    from random import Random

    from bot.domain.streaks import (
        StudyHistory,
        compute_streak_of_history,
        fold_history,
        runs_after,
        runs_of,
    )

    marks, today = _random_marks(seed)
    expected = compute_streak(marks, today=today)
    whole = StudyHistory(None, tuple(runs_of(marks)))
    rng = Random(seed)
    first = jan(1) + timedelta(days=rng.randint(-3, 80))
    second = first + timedelta(days=rng.randint(0, 40))
    fold = fold_history(whole, through=first)
    history = StudyHistory(fold, runs_after(whole, fold))
    assert compute_streak_of_history(history, today=today) == expected
    again = fold_history(history, through=second)
    assert compute_streak_of_history(
        StudyHistory(again, runs_after(whole, again)), today=today
    ) == (expected)
    assert history.last_day == whole.last_day


def test_a_fold_keeps_the_state_of_the_days_it_covers() -> None:
    """Exact values: 10 daily days from Jan 1, a missed day, then Jan 12–13. Folded
    through Jan 5, the run is cut there: 5 days, no freeze yet; through Jan 11 the whole
    first run is in (10 days, one freeze earned at 7)."""
    from bot.domain.streaks import (
        StudyHistory,
        compute_streak_of_history,
        fold_history,
        runs_after,
        runs_of,
    )

    whole = StudyHistory(None, tuple(runs_of(dates(*range(1, 11), 12, 13))))
    early = fold_history(whole, through=jan(5))
    assert (early.through, early.run, early.longest, early.held, early.used, early.days) == (
        jan(5),
        5,
        5,
        0,
        0,
        5,
    )
    assert early.last is not None
    assert (early.last.first_day, early.last.last_day) == (
        jan(1),
        jan(5),
    )
    assert [(r.first_day, r.last_day) for r in runs_after(whole, early)] == [
        (jan(6), jan(10)),
        (jan(12), jan(13)),
    ]
    late = fold_history(whole, through=jan(11))
    assert (late.run, late.longest, late.held, late.used, late.days) == (10, 10, 1, 0, 10)
    streak = compute_streak_of_history(StudyHistory(late, runs_after(whole, late)), today=jan(13))
    assert streak == Streak(
        12, 12, 0, 1, studied_today=True, days=12
    )  # the freeze was spent on Jan 11
    with pytest.raises(ValueError, match="before"):
        fold_history(StudyHistory(late, ()), through=jan(5))


def test_an_empty_fold_is_no_streak() -> None:
    from bot.domain.streaks import StudyHistory, compute_streak_of_history, fold_history

    fold = fold_history(StudyHistory(None, ()), through=jan(5))
    assert fold.last is None
    assert fold.days == 0
    history = StudyHistory(fold, ())
    assert history.last_day is None
    assert compute_streak_of_history(history, today=jan(9)) == Streak(0, 0, 0, 0, False, 0)
