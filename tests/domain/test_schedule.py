"""Delivery instants across DST transitions, and the schedule input parsers.

Every expected instant is written out in UTC so a regression shows the exact
hour that moved. Transition dates used: America/New_York springs forward on
2026-03-08 at 02:00 and falls back on 2026-11-01 at 02:00; Europe/Berlin on
2026-03-29 (02:00 -> 03:00) and 2026-10-25 (03:00 -> 02:00); Asia/Kathmandu
is +05:45 all year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.schedule import (
    ALL_DAYS,
    WEEKDAYS,
    Schedule,
    ScheduleInputError,
    describe_days,
    is_still_due,
    local_date_of,
    next_due,
    parse_days,
    parse_local_time,
    parse_timezone,
    slot_on,
)
from bot.domain.timezones import FRACTIONAL_OFFSET_ZONES, zone_for_offset

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def daily(hour: int, minute: int, zone: str, days: frozenset[int] = ALL_DAYS) -> Schedule:
    return Schedule(local_time=time(hour, minute), timezone=zone, days=days)


# --- Schedule validation -----------------------------------------------------


def test_schedule_normalizes_days_to_frozenset() -> None:
    schedule = Schedule(time(9, 0), "Europe/Berlin", {MON, FRI})  # type: ignore[arg-type]
    assert schedule.days == frozenset({MON, FRI})
    assert isinstance(schedule.days, frozenset)


def test_schedule_defaults_to_every_day() -> None:
    assert Schedule(time(9, 0), "UTC").days == ALL_DAYS


@pytest.mark.parametrize(
    ("local_time", "zone", "days"),
    [
        (time(9, 0), "Mars/Olympus_Mons", ALL_DAYS),
        (time(9, 0), "", ALL_DAYS),
        (time(9, 0), "../../etc/passwd", ALL_DAYS),
        (time(9, 0), "Europe/Berlin", frozenset()),
        (time(9, 0), "Europe/Berlin", frozenset({7})),
        (time(9, 0), "Europe/Berlin", frozenset({-1})),
        (time(9, 0, 30), "Europe/Berlin", ALL_DAYS),
        (time(9, 0, tzinfo=UTC), "Europe/Berlin", ALL_DAYS),
    ],
)
def test_schedule_rejects_invalid_values(local_time: time, zone: str, days: frozenset[int]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several distinct messages
        Schedule(local_time, zone, days)


# --- slot_on: DST gaps and folds ---------------------------------------------


@pytest.mark.parametrize(
    ("zone", "wall", "local_date", "expected"),
    [
        # New York spring forward: 02:30 does not exist on 2026-03-08.
        ("America/New_York", time(2, 30), date(2026, 3, 7), utc(2026, 3, 7, 7, 30)),
        ("America/New_York", time(2, 30), date(2026, 3, 8), utc(2026, 3, 8, 7, 0)),
        ("America/New_York", time(2, 0), date(2026, 3, 8), utc(2026, 3, 8, 7, 0)),
        ("America/New_York", time(2, 59), date(2026, 3, 8), utc(2026, 3, 8, 7, 0)),
        ("America/New_York", time(3, 0), date(2026, 3, 8), utc(2026, 3, 8, 7, 0)),
        ("America/New_York", time(1, 59), date(2026, 3, 8), utc(2026, 3, 8, 6, 59)),
        ("America/New_York", time(2, 30), date(2026, 3, 9), utc(2026, 3, 9, 6, 30)),
        # New York fall back: 01:30 happens twice on 2026-11-01; first one (EDT).
        ("America/New_York", time(1, 30), date(2026, 10, 31), utc(2026, 10, 31, 5, 30)),
        ("America/New_York", time(1, 30), date(2026, 11, 1), utc(2026, 11, 1, 5, 30)),
        ("America/New_York", time(1, 0), date(2026, 11, 1), utc(2026, 11, 1, 5, 0)),
        ("America/New_York", time(2, 0), date(2026, 11, 1), utc(2026, 11, 1, 7, 0)),
        ("America/New_York", time(1, 30), date(2026, 11, 2), utc(2026, 11, 2, 6, 30)),
        # Berlin: 02:30 missing on 2026-03-29, doubled on 2026-10-25.
        ("Europe/Berlin", time(2, 30), date(2026, 3, 28), utc(2026, 3, 28, 1, 30)),
        ("Europe/Berlin", time(2, 30), date(2026, 3, 29), utc(2026, 3, 29, 1, 0)),
        ("Europe/Berlin", time(2, 30), date(2026, 3, 30), utc(2026, 3, 30, 0, 30)),
        ("Europe/Berlin", time(2, 30), date(2026, 10, 24), utc(2026, 10, 24, 0, 30)),
        ("Europe/Berlin", time(2, 30), date(2026, 10, 25), utc(2026, 10, 25, 0, 30)),
        ("Europe/Berlin", time(2, 30), date(2026, 10, 26), utc(2026, 10, 26, 1, 30)),
        ("Europe/Berlin", time(9, 0), date(2026, 3, 28), utc(2026, 3, 28, 8, 0)),
        ("Europe/Berlin", time(9, 0), date(2026, 3, 29), utc(2026, 3, 29, 7, 0)),
        # Kathmandu: +05:45, no DST.
        ("Asia/Kathmandu", time(9, 0), date(2026, 1, 5), utc(2026, 1, 5, 3, 15)),
        ("Asia/Kathmandu", time(0, 0), date(2026, 7, 1), utc(2026, 6, 30, 18, 15)),
        ("Asia/Kathmandu", time(5, 44), date(2026, 7, 1), utc(2026, 6, 30, 23, 59)),
        # Samoa skipped 2011-12-30 entirely: delivered when the next day starts.
        ("Pacific/Apia", time(9, 0), date(2011, 12, 30), utc(2011, 12, 30, 10, 0)),
    ],
)
def test_slot_on(zone: str, wall: time, local_date: date, expected: datetime) -> None:
    slot = slot_on(Schedule(wall, zone), local_date)
    assert slot == expected
    assert slot.tzinfo is UTC


# --- next_due -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "now", "last_delivered", "expected"),
    [
        # New York spring forward: 02:30 -> 03:00 EDT.
        (
            daily(2, 30, "America/New_York"),
            utc(2026, 3, 8, 5),
            date(2026, 3, 7),
            utc(2026, 3, 8, 7),
        ),
        # ...and at exactly the transition instant it is still due.
        (
            daily(2, 30, "America/New_York"),
            utc(2026, 3, 8, 7),
            date(2026, 3, 7),
            utc(2026, 3, 8, 7),
        ),
        # New York fall back: first 01:30 (EDT, 05:30Z), not the second (EST, 06:30Z).
        (
            daily(1, 30, "America/New_York"),
            utc(2026, 11, 1, 4),
            date(2026, 10, 31),
            utc(2026, 11, 1, 5, 30),
        ),
        # Between the two 01:30s, nothing more that day, even if never delivered.
        (daily(1, 30, "America/New_York"), utc(2026, 11, 1, 6), None, utc(2026, 11, 2, 6, 30)),
        (
            daily(1, 30, "America/New_York"),
            utc(2026, 11, 1, 5, 31),
            date(2026, 11, 1),
            utc(2026, 11, 2, 6, 30),
        ),
        # Berlin spring forward and fall back.
        (daily(2, 30, "Europe/Berlin"), utc(2026, 3, 29), date(2026, 3, 28), utc(2026, 3, 29, 1)),
        (
            daily(2, 30, "Europe/Berlin"),
            utc(2026, 10, 24, 23),
            date(2026, 10, 24),
            utc(2026, 10, 25, 0, 30),
        ),
        (
            daily(2, 30, "Europe/Berlin"),
            utc(2026, 10, 25, 1, 0),
            date(2026, 10, 25),
            utc(2026, 10, 26, 1, 30),
        ),
        (daily(9, 0, "Europe/Berlin"), utc(2026, 3, 28, 9), None, utc(2026, 3, 29, 7)),
        (daily(9, 0, "Europe/Berlin"), utc(2026, 10, 24, 8), None, utc(2026, 10, 25, 8)),
        # Kathmandu +05:45; "not over" is judged on the minute.
        (daily(9, 0, "Asia/Kathmandu"), utc(2026, 1, 5), None, utc(2026, 1, 5, 3, 15)),
        (daily(9, 0, "Asia/Kathmandu"), utc(2026, 1, 5, 3, 15, 59), None, utc(2026, 1, 5, 3, 15)),
        (daily(9, 0, "Asia/Kathmandu"), utc(2026, 1, 5, 3, 16), None, utc(2026, 1, 6, 3, 15)),
        # Local date differs from the UTC date: 00:30 in Kathmandu is 18:45Z the day before.
        (daily(0, 30, "Asia/Kathmandu"), utc(2026, 1, 5, 12), None, utc(2026, 1, 5, 18, 45)),
    ],
)
def test_next_due(
    schedule: Schedule, now: datetime, last_delivered: date | None, expected: datetime
) -> None:
    assert next_due(schedule, now=now, last_delivered=last_delivered) == expected


def test_next_due_accepts_aware_non_utc_now_and_returns_utc() -> None:
    berlin_now = datetime(2026, 1, 5, 8, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    due = next_due(daily(9, 0, "Europe/Berlin"), now=berlin_now, last_delivered=None)
    assert due == utc(2026, 1, 5, 8)
    assert due.tzinfo is UTC


def test_next_due_rejects_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_due(daily(9, 0, "UTC"), now=datetime(2026, 1, 5, 8), last_delivered=None)  # noqa: DTZ001


class TestLastDelivered:
    """Berlin, winter (UTC+1); 2026-01-05 is a Monday."""

    def test_not_delivered_yet_today(self) -> None:
        schedule = daily(9, 0, "Europe/Berlin")
        now = utc(2026, 1, 5, 7)  # 08:00 local
        assert next_due(schedule, now=now, last_delivered=None) == utc(2026, 1, 5, 8)
        assert next_due(schedule, now=now, last_delivered=date(2026, 1, 4)) == utc(2026, 1, 5, 8)

    def test_delivered_today_means_tomorrow(self) -> None:
        schedule = daily(9, 0, "Europe/Berlin")
        now = utc(2026, 1, 5, 7)
        assert next_due(schedule, now=now, last_delivered=date(2026, 1, 5)) == utc(2026, 1, 6, 8)

    def test_moving_time_later_before_delivery_moves_today(self) -> None:
        schedule = daily(20, 0, "Europe/Berlin")
        now = utc(2026, 1, 5, 10)  # 11:00 local, 09:00 slot missed or changed
        assert next_due(schedule, now=now, last_delivered=date(2026, 1, 4)) == utc(2026, 1, 5, 19)

    def test_moving_time_later_after_delivery_waits_for_tomorrow(self) -> None:
        schedule = daily(20, 0, "Europe/Berlin")
        now = utc(2026, 1, 5, 10)
        assert next_due(schedule, now=now, last_delivered=date(2026, 1, 5)) == utc(2026, 1, 6, 19)

    def test_moving_time_earlier_than_now_waits_for_tomorrow(self) -> None:
        schedule = daily(7, 0, "Europe/Berlin")
        now = utc(2026, 1, 5, 10)
        assert next_due(schedule, now=now, last_delivered=date(2026, 1, 4)) == utc(2026, 1, 6, 6)

    def test_last_delivered_ahead_of_local_today_after_moving_west(self) -> None:
        # Delivered on 2026-01-06 in Tokyo, now in Los Angeles where it is still the 5th.
        schedule = daily(9, 0, "America/Los_Angeles")
        now = utc(2026, 1, 5, 16)  # 08:00 PST on the 5th
        assert next_due(schedule, now=now, last_delivered=date(2026, 1, 6)) == utc(2026, 1, 7, 17)


class TestWeekdays:
    def test_mon_wed_fri_from_tuesday(self) -> None:
        schedule = daily(9, 0, "Europe/Berlin", frozenset({MON, WED, FRI}))
        now = utc(2026, 1, 6, 10)  # Tuesday
        assert next_due(schedule, now=now, last_delivered=date(2026, 1, 5)) == utc(2026, 1, 7, 8)

    def test_weekdays_from_friday_evening_is_monday(self) -> None:
        schedule = daily(9, 0, "Europe/Berlin", WEEKDAYS)
        now = utc(2026, 1, 9, 18)  # Friday evening
        assert next_due(schedule, now=now, last_delivered=date(2026, 1, 9)) == utc(2026, 1, 12, 8)

    def test_sunday_only_from_sunday_after_delivery_is_a_week_later(self) -> None:
        schedule = daily(9, 0, "Europe/Berlin", frozenset({SUN}))
        now = utc(2026, 1, 11, 8, 0, 5)
        assert next_due(schedule, now=now, last_delivered=date(2026, 1, 11)) == utc(2026, 1, 18, 8)

    def test_weekday_is_the_local_weekday_not_the_utc_one(self) -> None:
        # Monday 06:00 in Tokyo is Sunday 21:00 UTC.
        schedule = daily(6, 0, "Asia/Tokyo", frozenset({MON}))
        assert next_due(schedule, now=utc(2026, 1, 4, 12), last_delivered=None) == utc(
            2026, 1, 4, 21
        )


# --- daily sequences across transitions -----------------------------------------

TRANSITIONS = [
    ("America/New_York", date(2026, 3, 5)),
    ("America/New_York", date(2026, 10, 29)),
    ("Europe/Berlin", date(2026, 3, 26)),
    ("Europe/Berlin", date(2026, 10, 22)),
    ("Asia/Kathmandu", date(2026, 1, 1)),
    ("Australia/Lord_Howe", date(2026, 4, 2)),  # 30-minute DST shift, ends 2026-04-05
]
WALL_TIMES = [time(0, 0), time(0, 30), time(1, 30), time(2, 0), time(2, 30), time(3, 0), time(9, 0)]
WALL_TIMES += [time(23, 30)]


@pytest.mark.parametrize(("zone", "start"), TRANSITIONS)
@pytest.mark.parametrize("wall", WALL_TIMES)
@pytest.mark.parametrize("lateness", [timedelta(0), timedelta(seconds=45), timedelta(minutes=3)])
@pytest.mark.parametrize("days", [ALL_DAYS, frozenset({MON, WED, FRI, SUN})])
def test_delivery_sequence_has_one_slot_per_chosen_day(
    zone: str, start: date, wall: time, lateness: timedelta, days: frozenset[int]
) -> None:
    """Simulate the bot: deliver at each due instant (a bit late), then ask again."""
    schedule = Schedule(wall, zone, days)
    now = datetime.combine(start, time(0, 0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    last: date | None = None
    delivered: list[date] = []
    for _ in range(10):
        due = next_due(schedule, now=now, last_delivered=last)
        assert due >= now.replace(second=0, microsecond=0)
        last = local_date_of(due, zone)
        delivered.append(last)
        now = due + lateness
    chosen = [
        start + timedelta(days=n)
        for n in range(30)
        if (start + timedelta(days=n)).weekday() in days
    ]
    assert delivered == chosen[:10]


# --- is_still_due and local_date_of -------------------------------------------


@pytest.mark.parametrize(
    ("zone", "due", "now", "expected"),
    [
        ("Europe/Berlin", utc(2026, 1, 5, 8), utc(2026, 1, 5, 8), True),
        ("Europe/Berlin", utc(2026, 1, 5, 8), utc(2026, 1, 5, 22, 59, 59), True),
        ("Europe/Berlin", utc(2026, 1, 5, 8), utc(2026, 1, 5, 23, 0), False),  # local midnight
        ("Europe/Berlin", utc(2026, 1, 5, 8), utc(2026, 1, 8, 8), False),
        # 23:00 UTC is still Jan 5 in New York (18:00 EST): late but deliverable.
        ("America/New_York", utc(2026, 1, 5, 14), utc(2026, 1, 6, 4, 59), True),
        ("America/New_York", utc(2026, 1, 5, 14), utc(2026, 1, 6, 5, 0), False),
        ("Asia/Kathmandu", utc(2026, 1, 5, 3, 15), utc(2026, 1, 5, 18, 14), True),
        ("Asia/Kathmandu", utc(2026, 1, 5, 3, 15), utc(2026, 1, 5, 18, 15), False),
    ],
)
def test_is_still_due(zone: str, due: datetime, now: datetime, expected: bool) -> None:
    assert is_still_due(daily(9, 0, zone), due=due, now=now) is expected


def test_local_date_of() -> None:
    instant = utc(2026, 1, 5, 23, 30)
    assert local_date_of(instant, "UTC") == date(2026, 1, 5)
    assert local_date_of(instant, "Asia/Tokyo") == date(2026, 1, 6)
    assert local_date_of(instant, "America/Los_Angeles") == date(2026, 1, 5)
    assert local_date_of(instant.astimezone(timezone(timedelta(hours=-5))), "UTC") == date(
        2026, 1, 5
    )
    with pytest.raises(ValueError, match="naive"):
        local_date_of(datetime(2026, 1, 5), "UTC")  # noqa: DTZ001


# --- parse_local_time ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9", time(9, 0)),
        ("09", time(9, 0)),
        ("0", time(0, 0)),
        ("9:30", time(9, 30)),
        ("09:30", time(9, 30)),
        ("21:05", time(21, 5)),
        ("23:59", time(23, 59)),
        ("00:00", time(0, 0)),
        ("9am", time(9, 0)),
        ("9 am", time(9, 0)),
        ("9AM", time(9, 0)),
        ("9:30 pm", time(21, 30)),
        ("9:30PM", time(21, 30)),
        ("9 p.m.", time(21, 0)),
        ("12am", time(0, 0)),
        ("12:15 am", time(0, 15)),
        ("12pm", time(12, 0)),
        ("12:45pm", time(12, 45)),
        ("9.30", time(9, 30)),
        ("9h30", time(9, 30)),
        ("0930", time(9, 30)),
        ("930", time(9, 30)),
        ("2105", time(21, 5)),
        ("  21:05  ", time(21, 5)),
        ("noon", time(12, 0)),
        ("Midnight", time(0, 0)),
    ],
)
def test_parse_local_time_accepts(text: str, expected: time) -> None:
    assert parse_local_time(text) == expected


@pytest.mark.parametrize(
    "text",
    ["25:00", "24:00", "9:61", "", "   ", "abc", "13pm", "0am", "9 30", "9:5", "-1", "9:30:00"],
)
def test_parse_local_time_rejects(text: str) -> None:
    with pytest.raises(ScheduleInputError) as caught:
        parse_local_time(text)
    assert "09:30" in str(caught.value)  # every message carries an example


def test_schedule_input_error_is_a_value_error() -> None:
    assert issubclass(ScheduleInputError, ValueError)


# --- parse_timezone -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("EUROPE/BERLIN", "Europe/Berlin"),
        ("  Europe / Berlin ", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("new_york", "America/New_York"),
        ("New-York", "America/New_York"),
        ("america/new york", "America/New_York"),
        ("kathmandu", "Asia/Kathmandu"),
        ("los angeles", "America/Los_Angeles"),
        ("port au prince", "America/Port-au-Prince"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("indianapolis", "America/Indiana/Indianapolis"),
        ("istanbul", "Europe/Istanbul"),
        ("US/Pacific", "US/Pacific"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("GMT", "UTC"),
        ("Z", "UTC"),
        ("UTC+0", "UTC"),
        ("-00:00", "UTC"),
        ("UTC+3", "Etc/GMT-3"),
        ("utc +3", "Etc/GMT-3"),
        ("GMT+3", "Etc/GMT-3"),
        ("UTC-5", "Etc/GMT+5"),
        ("UTC\u22125", "Etc/GMT+5"),
        ("+03:00", "Etc/GMT-3"),
        ("UTC+14", "Etc/GMT-14"),
        ("UTC-12", "Etc/GMT+12"),
        ("Etc/GMT-3", "Etc/GMT-3"),
        ("etc/gmt+3", "Etc/GMT+3"),
        ("GMT+5:45", "Asia/Kathmandu"),
        ("+05:30", "Asia/Kolkata"),
        ("+0530", "Asia/Kolkata"),
        ("UTC+5:30", "Asia/Kolkata"),
        ("UTC-3:30", "America/St_Johns"),
        ("UTC+9:30", "Australia/Darwin"),
        ("EST", "America/New_York"),
        ("pst", "America/Los_Angeles"),
    ],
)
def test_parse_timezone_accepts(text: str, expected: str) -> None:
    assert parse_timezone(text) == expected
    ZoneInfo(expected)  # always a loadable key


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("berln", "Europe/Berlin"),
        ("sydny", "Australia/Sydney"),
        ("newyork", "America/New_York"),
        ("tokio", "Asia/Tokyo"),
        ("", "Europe/Berlin"),
        ("Atlantis", "UTC+3"),
        ("UTC+15", "UTC+15:00"),
        ("UTC-13", "UTC-13:00"),
        ("UTC-5:30", "UTC-05:30"),
        ("UTC+2:30", "UTC+02:30"),
        ("UTC+3:75", "UTC+3"),
    ],
)
def test_parse_timezone_rejects_with_help(text: str, fragment: str) -> None:
    with pytest.raises(ScheduleInputError) as caught:
        parse_timezone(text)
    assert fragment in str(caught.value)


def test_parse_timezone_suggests_at_most_three() -> None:
    with pytest.raises(ScheduleInputError) as caught:
        parse_timezone("mars")
    message = str(caught.value)
    assert message.startswith("I don't know the time zone “mars”. Did you mean ")
    suggestions = message.split("Did you mean ", 1)[1].split("?", 1)[0].split(", ")
    assert 1 <= len(suggestions) <= 3
    for key in suggestions:
        ZoneInfo(key)


@pytest.mark.parametrize(("minutes", "key"), sorted(FRACTIONAL_OFFSET_ZONES.items()))
def test_fractional_offset_zones_have_that_standard_offset(minutes: int, key: str) -> None:
    tz = ZoneInfo(key)
    for moment in (datetime(2026, 1, 15, 12, tzinfo=tz), datetime(2026, 7, 15, 12, tzinfo=tz)):
        offset, dst = moment.utcoffset(), moment.dst()
        assert offset is not None
        assert dst is not None
        assert offset - dst == timedelta(minutes=minutes)


@pytest.mark.parametrize("hours", range(-12, 15))
def test_whole_hour_offsets_map_to_etc_zones_with_that_offset(hours: int) -> None:
    key = zone_for_offset(hours * 60)
    assert key is not None
    offset = datetime(2026, 1, 15, tzinfo=ZoneInfo(key)).utcoffset()
    assert offset == timedelta(hours=hours)


# --- parse_days / describe_days -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every day", ALL_DAYS),
        ("Every Day", ALL_DAYS),
        ("everyday", ALL_DAYS),
        ("daily", ALL_DAYS),
        ("all", ALL_DAYS),
        ("weekdays", WEEKDAYS),
        ("weekends", {SAT, SUN}),
        ("weekend", {SAT, SUN}),
        ("mon,wed,fri", {MON, WED, FRI}),
        ("Mon Tue", {MON, TUE}),
        ("mon, wed,  fri", {MON, WED, FRI}),
        ("monday-friday", WEEKDAYS),
        ("Monday - Friday", WEEKDAYS),
        ("mon to fri", WEEKDAYS),
        ("tue-thu", {TUE, WED, THU}),
        ("fri-mon", {FRI, SAT, SUN, MON}),
        ("mon-wed, sat", {MON, TUE, WED, SAT}),
        ("Tues and Thurs", {TUE, THU}),
        ("mondays", {MON}),
        ("weds", {WED}),
        ("su", {SUN}),
        ("weekdays, sun", {MON, TUE, WED, THU, FRI, SUN}),
        ("sun,sun", {SUN}),
    ],
)
def test_parse_days_accepts(text: str, expected: frozenset[int]) -> None:
    assert parse_days(text) == frozenset(expected)


@pytest.mark.parametrize("text", ["", "x", "m", "t", "s", "funday", "mon-", "-fri", "mon-xyz", "8"])
def test_parse_days_rejects(text: str) -> None:
    with pytest.raises(ScheduleInputError) as caught:
        parse_days(text)
    assert "mon,wed,fri" in str(caught.value)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (ALL_DAYS, "every day"),
        (WEEKDAYS, "weekdays"),
        (frozenset({SAT, SUN}), "weekends"),
        (frozenset({FRI, MON, WED}), "Mon, Wed, Fri"),
        (frozenset({SUN}), "Sun"),
        (frozenset({MON, TUE, WED, THU, FRI, SAT}), "Mon, Tue, Wed, Thu, Fri, Sat"),
    ],
)
def test_describe_days(days: frozenset[int], expected: str) -> None:
    assert describe_days(days) == expected
    assert parse_days(expected.replace("Mon, Tue, Wed, Thu, Fri, Sat", "mon-sat")) == days


def test_describe_days_rejects_empty() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        describe_days(frozenset())


def test_end_of_local_day_in_zones_with_and_without_dst() -> None:
    from bot.domain.schedule import end_of_local_day

    noon_utc = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert end_of_local_day(noon_utc, "UTC") == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    # Berlin's night of 28→29 March has no DST change at midnight (it happens at 02:00).
    assert end_of_local_day(noon_utc, "Europe/Berlin") == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert end_of_local_day(noon_utc, "Asia/Kathmandu") == datetime(2026, 3, 28, 18, 15, tzinfo=UTC)
    late_utc = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # already 29 March in Berlin
    assert end_of_local_day(late_utc, "Europe/Berlin") == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
