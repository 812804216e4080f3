"""Progress statistics with exact values: heatmap days across zones and DST, the forecast,
retention per tag and deck, leeches, the weak-topic quiz order, grade-button intervals,
the streak reminder's rules and the export files."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain.content import Bank, Deck, Question, Source
from bot.domain.export import ExportedCard, ExportedReview, data_json, reviews_csv
from bot.domain.intervals import button_intervals, compact_interval
from bot.domain.progress import (
    GradedReview,
    calendar_cells,
    daily_counts,
    due_forecast,
    leeches,
    local_dates,
    topic_stats,
    weak_quiz_picks,
    weakest_topics,
    window_counts,
)
from bot.domain.schedule import ScheduleInputError
from bot.domain.srs import Rating, review
from bot.domain.streak_reminders import next_reminder, parse_remind_args, streak_nudge
from bot.domain.streaks import StudyHistory, StudyMark, compute_streak, runs_of


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _bank() -> Bank:
    source = Source(name="t", attribution="t")

    def q(qid: str, *tags: str) -> Question:
        return Question(id=qid, question=f"{qid}?", answer="a", tags=tags, difficulty="medium")

    ml = Deck(
        id="ml",
        title="Machine Learning",
        description="d",
        source=source,
        questions=(q("m1", "stats"), q("m2", "stats", "trees"), q("m3", "trees")),
    )
    nlp = Deck(
        id="nlp",
        title="NLP",
        description="d",
        source=source,
        questions=(q("n1", "attention"), q("n2", "attention"), q("n3")),
    )
    return Bank((ml, nlp))


# --- heatmap days ---------------------------------------------------------------------


def test_reviews_count_on_the_local_date_they_were_graded_across_dst() -> None:
    """New York springs forward on 8 March 2026 and falls back on 1 November 2026."""
    zone = "America/New_York"
    instants = [
        utc(2026, 3, 8, 4, 59),  # 23:59 EST on 7 March
        utc(2026, 3, 8, 5, 0),  # 00:00 EST on 8 March
        utc(2026, 3, 9, 3, 59),  # 23:59 EDT on 8 March (a 23-hour day)
        utc(2026, 3, 9, 4, 0),  # 00:00 EDT on 9 March
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT, first pass on 1 November
        utc(2026, 11, 1, 6, 30),  # 01:30 EST, second pass: the same local date
        utc(2026, 11, 2, 4, 59),  # 23:59 EST on 1 November (a 25-hour day)
        utc(2026, 11, 2, 5, 0),  # 00:00 EST on 2 November
    ]
    marks = [StudyMark.at_zone(at, zone) for at in instants]
    counts = daily_counts([m.local_date for m in marks], today=date(2026, 11, 2))
    assert {day: n for day, n in counts.items() if n} == {
        date(2026, 3, 7): 1,
        date(2026, 3, 8): 2,
        date(2026, 3, 9): 1,
        date(2026, 11, 1): 3,
        date(2026, 11, 2): 1,
    }
    # The same instants in a group's zone on the other side of the world.
    tokyo = daily_counts(local_dates(instants, "Asia/Tokyo"), today=date(2026, 11, 2))
    assert {day: n for day, n in tokyo.items() if n} == {
        date(2026, 3, 8): 2,
        date(2026, 3, 9): 2,
        date(2026, 11, 1): 2,
        date(2026, 11, 2): 2,
    }


def test_a_traveller_s_reviews_keep_the_date_they_counted_for() -> None:
    """Berlin in the evening, then Los Angeles: each grade stays on its own local date."""
    berlin = StudyMark.at_zone(utc(2026, 6, 10, 21, 30), "Europe/Berlin")  # 23:30 on 10 June
    los_angeles = StudyMark.at_zone(utc(2026, 6, 11, 5, 0), "America/Los_Angeles")  # 22:00 10 June
    tokyo = StudyMark.at_zone(utc(2026, 6, 11, 16, 0), "Asia/Tokyo")  # 01:00 on 12 June
    days = [m.local_date for m in (berlin, los_angeles, tokyo)]
    counts = daily_counts(days, today=date(2026, 6, 11), span=3)
    # 12 June in Tokyo is "after today" for someone back in a western zone: counts as today.
    assert counts == {date(2026, 6, 9): 0, date(2026, 6, 10): 2, date(2026, 6, 11): 1}


def test_window_is_365_days_ending_today() -> None:
    today = date(2026, 12, 1)
    counts = window_counts({date(2025, 12, 1): 4, date(2025, 12, 2): 2, today: 3}, today=today)
    assert len(counts) == 365
    assert min(counts) == date(2025, 12, 2)
    assert counts[date(2025, 12, 2)] == 2
    assert counts[today] == 3
    assert sum(counts.values()) == 5


def test_calendar_cells_are_weeks_as_columns_monday_on_top() -> None:
    counts = daily_counts([date(2026, 12, 1)], today=date(2026, 12, 1), span=10)
    cells = calendar_cells(counts)
    # 22 Nov 2026 is a Sunday: row 6 of the first column; Tue 1 Dec is row 1 of column 2.
    assert (cells[0].day, cells[0].column, cells[0].row) == (date(2026, 11, 22), 0, 6)
    assert (cells[1].day, cells[1].column, cells[1].row) == (date(2026, 11, 23), 1, 0)
    assert (cells[-1].day, cells[-1].column, cells[-1].row, cells[-1].count) == (
        date(2026, 12, 1),
        2,
        1,
        1,
    )


# --- forecast -------------------------------------------------------------------------


def test_due_forecast_counts_local_days_with_overdue_today() -> None:
    now = utc(2026, 3, 7, 12, 0)  # 07:00 in New York, 7 March
    dues = [
        utc(2026, 3, 1, 9, 0),  # overdue: today
        utc(2026, 3, 8, 4, 30),  # 23:30 EST on 7 March: today
        utc(2026, 3, 8, 5, 30),  # 00:30 EST on 8 March: tomorrow
        utc(2026, 3, 9, 3, 30),  # 23:30 EDT on 8 March (after the DST jump): tomorrow
        utc(2026, 3, 9, 4, 30),  # 00:30 EDT on 9 March
        utc(2026, 4, 5, 16, 0),  # day 29: the last day of the window
        utc(2026, 4, 6, 16, 0),  # day 30: outside
    ]
    forecast = due_forecast(dues, now=now, timezone="America/New_York")
    assert len(forecast) == 30
    assert forecast[:3] == [2, 2, 1]
    assert forecast[29] == 1
    assert sum(forecast) == 6


# --- retention, weak topics, leeches --------------------------------------------------------


def _reviews() -> list[GradedReview]:
    now = utc(2026, 3, 31, 12)
    grades = [
        ("n1", Rating.AGAIN, 1),
        ("n1", Rating.AGAIN, 2),
        ("n2", Rating.GOOD, 3),
        ("n2", Rating.HARD, 4),
        ("m1", Rating.GOOD, 5),
        ("m2", Rating.EASY, 6),
        ("m2", Rating.AGAIN, 7),
        ("m3", Rating.GOOD, 8),
        ("n3", Rating.GOOD, 9),
        ("m1", Rating.AGAIN, 31),  # outside the 30-day window
    ]
    return [
        GradedReview(q, r, (at := now - timedelta(days=days)), at.date()) for q, r, days in grades
    ]


def test_retention_per_deck_and_tag_over_30_days() -> None:
    stats = topic_stats(_reviews(), _bank(), now=utc(2026, 3, 31, 12))
    table = {(s.kind, s.key): (s.reviews, s.lapses, s.recalled) for s in stats}
    assert table == {
        ("deck", "ml"): (4, 1, 3),
        ("deck", "nlp"): (5, 2, 2),
        ("tag", "attention"): (4, 2, 1),
        ("tag", "stats"): (3, 1, 2),
        ("tag", "trees"): (3, 1, 2),
    }
    assert [s.title for s in stats] == ["Machine Learning", "NLP", "#attention", "#stats", "#trees"]
    weakest = weakest_topics(stats)
    assert [(s.title, round(s.retention or 0, 2)) for s in weakest] == [
        ("#attention", 0.25),
        ("NLP", 0.4),
        ("#stats", 0.67),
    ]


def test_leeches_have_four_lapses_or_more_worst_first() -> None:
    lapses = {"n2": 4, "m1": 3, "m3": 6, "m2": 4, "gone": 9}
    assert leeches(lapses, _bank()) == [("m3", 6), ("m2", 4), ("n2", 4)]


def test_weak_quiz_starts_with_leeches_then_due_cards() -> None:
    bank = _bank()
    now = utc(2026, 3, 31, 12)
    cards = {
        "m1": review(None, Rating.GOOD, now - timedelta(days=10)),  # due 8 days ago
        "m2": review(None, Rating.AGAIN, now - timedelta(days=2)),  # due yesterday
        "m3": review(None, Rating.EASY, now),  # not due
        "n1": review(None, Rating.AGAIN, now),  # a leech, not due
    }
    picks = weak_quiz_picks(bank, cards={**cards}, lapses={"n1": 5, "m2": 1}, now=now, count=5)
    assert picks == ["n1", "m1", "m2", "n2", "n3"]
    assert weak_quiz_picks(bank, cards=cards, lapses={"n1": 5}, now=now, count=2) == ["n1", "m1"]


# --- intervals ---------------------------------------------------------------------------


def test_compact_intervals() -> None:
    days = [1, 13, 14, 20, 60, 61, 100, 364, 365, 400, 548]
    assert [compact_interval(timedelta(days=d)) for d in days] == [
        "1d", "13d", "2w", "3w", "9w", "2mo", "3mo", "12mo", "1y", "1.1y", "1.5y",
    ]  # fmt: skip
    assert compact_interval(timedelta(hours=3)) == "1d"


def test_button_intervals_are_fsrs_s_preview() -> None:
    now = utc(2026, 3, 2, 9)
    assert button_intervals(None, now) == {
        Rating.AGAIN: "1d",
        Rating.HARD: "1d",
        Rating.GOOD: "2d",
        Rating.EASY: "8d",
    }
    card = review(None, Rating.GOOD, now)
    assert button_intervals(card, now + timedelta(days=2)) == {
        Rating.AGAIN: "1d",
        Rating.HARD: "8d",
        Rating.GOOD: "11d",
        Rating.EASY: "3w",
    }


# --- the streak reminder --------------------------------------------------------------------


def _marks(*days: int, zone: str = "UTC") -> list[StudyMark]:
    return [StudyMark.at_zone(utc(2026, 3, day, 9), zone) for day in days]


def _runs(*days: int) -> StudyHistory:
    return StudyHistory(None, tuple(runs_of(_marks(*days))))


def test_nudge_only_for_a_streak_of_two_not_studied_today() -> None:
    assert streak_nudge(_runs(1), today=date(2026, 3, 2)) is None  # streak of 1
    assert streak_nudge(_runs(1, 2), today=date(2026, 3, 2)) is None  # studied today
    nudge = streak_nudge(_runs(1, 2), today=date(2026, 3, 3))
    assert nudge is not None
    assert (nudge.streak, nudge.freeze_tonight, nudge.freeze_for_yesterday) == (2, False, False)


def test_nudge_mentions_the_freeze_that_would_be_spent() -> None:
    week = _marks(*range(1, 8))  # 7 days in a row: one freeze earned
    assert compute_streak(week, today=date(2026, 3, 8)).freezes_held == 1
    tonight = streak_nudge(StudyHistory(None, tuple(runs_of(week))), today=date(2026, 3, 8))
    assert tonight is not None
    assert (tonight.streak, tonight.freeze_tonight, tonight.freeze_for_yesterday) == (
        7,
        True,
        False,
    )
    covering = streak_nudge(
        StudyHistory(None, tuple(runs_of(week))), today=date(2026, 3, 9)
    )  # 8 March missed, a freeze covers it
    assert covering is not None
    assert (covering.freeze_tonight, covering.freeze_for_yesterday) == (False, True)


def test_next_reminder_is_local_time_once_a_day_across_dst() -> None:
    zone = "America/New_York"
    at = time(2, 30)  # in the spring-forward gap on 8 March 2026
    # 07:00 EST on 7 March: today's 02:30 is over; 8 March has no 02:30 (03:00 EDT instead).
    first = next_reminder(at, zone, now=utc(2026, 3, 7, 12), last_reminded=None)
    assert first == utc(2026, 3, 8, 7, 0)
    after = next_reminder(at, zone, now=utc(2026, 3, 8, 7, 0), last_reminded=date(2026, 3, 8))
    assert after == utc(2026, 3, 9, 6, 30)  # 02:30 EDT, once per local day
    evening = next_reminder(time(20, 0), zone, now=utc(2026, 3, 8, 12), last_reminded=None)
    assert evening == utc(2026, 3, 9, 0, 0)  # 20:00 EDT


def test_parse_remind_args() -> None:
    assert parse_remind_args("21:30").at == time(21, 30)
    assert parse_remind_args("9pm").at == time(21, 0)
    assert parse_remind_args("OFF").enabled is False
    assert parse_remind_args("on") == parse_remind_args("on")
    with pytest.raises(ScheduleInputError, match="/remind off"):
        parse_remind_args("soon")


# --- export -----------------------------------------------------------------------------


def test_reviews_csv_replays_fsrs_for_next_due() -> None:
    first = utc(2026, 3, 2, 8, 0, 5)
    rows = [
        ExportedReview(first, 60, "n1", "NLP", 'What is "attention"?', Rating.GOOD),
        ExportedReview(
            first + timedelta(days=2), 60, "n1", "NLP", 'What is "attention"?', Rating(1)
        ),
        ExportedReview(first + timedelta(hours=1), -300, "m1", "ML", "Bias, variance?", Rating(4)),
    ]
    parsed = list(csv.reader(io.StringIO(reviews_csv(rows))))
    assert parsed == [
        ["date", "time", "utc_offset", "question_id", "deck", "question", "grade", "next_due"],
        ["2026-03-02", "09:00:05", "+01:00", "n1", "NLP", 'What is "attention"?', "Good",
         "2026-03-04T09:00:05+01:00"],
        ["2026-03-02", "04:00:05", "-05:00", "m1", "ML", "Bias, variance?", "Easy",
         "2026-03-10T04:00:05-05:00"],
        ["2026-03-04", "09:00:05", "+01:00", "n1", "NLP", 'What is "attention"?', "Again",
         "2026-03-05T09:00:05+01:00"],
    ]  # fmt: skip


def test_data_json_has_settings_cards_and_streaks() -> None:
    now = utc(2026, 3, 4, 12)
    card = review(None, Rating.GOOD, utc(2026, 3, 2, 9))
    streak = compute_streak(_marks(2, 3, 4), today=date(2026, 3, 4))
    document = json.loads(
        data_json(
            person={"id": 7, "first_name": "Ada", "username": None},
            settings={"timezone": "UTC", "streak_reminder": "20:00"},
            cards=[ExportedCard("n1", "NLP", card, reps=1, lapses=0)],
            streak=streak,
            now=now,
        )
    )
    assert document["version"] == 1
    assert document["exported_at"] == "2026-03-04T12:00:00+00:00"
    assert document["settings"] == {"timezone": "UTC", "streak_reminder": "20:00"}
    assert document["cards"] == [
        {"question_id": "n1", "deck": "NLP", "reps": 1, "lapses": 0, "fsrs": card.to_dict()}
    ]
    assert document["streaks"] == {
        "current": 3,
        "longest": 3,
        "freezes_held": 0,
        "freezes_used": 0,
        "studied_today": True,
        "study_days": 3,
    }
