"""FSRS wrapper: exact intervals pinned for fsrs 6.3.2 default parameters.

If an fsrs upgrade changes these numbers, that is a behaviour change for every
user's schedule and deserves a conscious update of the pins.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.domain.srs import CardPhase, CardState, Rating, new_card, review

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def days_until_due(card: CardState, now: datetime) -> timedelta:
    return card.due - now


def test_new_card_is_due_now_and_unreviewed() -> None:
    card = new_card(T0)
    assert card == CardState(
        state=CardPhase.LEARNING,
        step=0,
        stability=None,
        difficulty=None,
        due=T0,
        last_review=None,
    )


@pytest.mark.parametrize(
    ("rating", "interval_days", "stability"),
    [
        (Rating.AGAIN, 1, 0.212),
        (Rating.HARD, 1, 1.2931),
        (Rating.GOOD, 2, 2.3065),
        (Rating.EASY, 8, 8.2956),
    ],
)
def test_first_review_schedules_whole_days(
    rating: Rating, interval_days: int, stability: float
) -> None:
    card = review(None, rating, T0)
    assert card.due == T0 + timedelta(days=interval_days)
    assert card.stability == pytest.approx(stability)
    # No learning steps: straight to Review, whatever the rating.
    assert card.state is CardPhase.REVIEW
    assert card.step is None
    assert card.last_review == T0


def test_new_card_graded_good_is_due_on_2026_01_07() -> None:
    assert review(None, Rating.GOOD, T0).due == datetime(2026, 1, 7, 9, 0, tzinfo=UTC)


def test_review_of_new_card_equals_review_of_none() -> None:
    assert review(new_card(T0), Rating.GOOD, T0) == review(None, Rating.GOOD, T0)


def run(ratings: list[Rating]) -> list[int]:
    """Review at each due instant; return the intervals in days."""
    card: CardState | None = None
    now = T0
    intervals: list[int] = []
    for rating in ratings:
        card = review(card, rating, now)
        interval = days_until_due(card, now)
        assert interval == timedelta(days=interval.days), "intervals are whole days"
        intervals.append(interval.days)
        now = card.due
    return intervals


def test_good_good_good_intervals_grow() -> None:
    assert run([Rating.GOOD] * 3) == [2, 11, 46]


def test_good_streak_keeps_growing() -> None:
    assert run([Rating.GOOD] * 6) == [2, 11, 46, 163, 497, 1346]


def test_mixed_history() -> None:
    ratings = [Rating.GOOD, Rating.GOOD, Rating.AGAIN, Rating.GOOD, Rating.HARD, Rating.EASY]
    assert run(ratings) == [2, 11, 2, 5, 9, 27]


def test_again_on_review_card_stays_in_review_without_relearning_steps() -> None:
    card = review(review(None, Rating.GOOD, T0), Rating.AGAIN, T0 + timedelta(days=2))
    assert card.state is CardPhase.REVIEW
    assert card.step is None
    assert card.due == T0 + timedelta(days=3)


@pytest.mark.parametrize("rating", list(Rating))
@pytest.mark.parametrize("elapsed", [timedelta(0), timedelta(minutes=5), timedelta(hours=23)])
def test_same_day_re_review_is_still_at_least_a_day_away(
    rating: Rating, elapsed: timedelta
) -> None:
    first = review(None, Rating.AGAIN, T0)
    now = T0 + elapsed
    again = review(first, rating, now)
    assert again.due - now >= timedelta(days=1)


def test_review_is_deterministic() -> None:
    card = review(None, Rating.GOOD, T0)
    later = T0 + timedelta(days=3, hours=5)
    assert review(card, Rating.HARD, later) == review(card, Rating.HARD, later)


def test_review_accepts_int_rating() -> None:
    assert review(None, 3, T0) == review(None, Rating.GOOD, T0)  # type: ignore[arg-type]


def test_review_converts_aware_non_utc_now() -> None:
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    card = review(None, Rating.GOOD, plus_two)
    assert card == review(None, Rating.GOOD, T0)
    assert card.due.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 1, 5, 9, 0)  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        review(None, Rating.GOOD, naive)
    with pytest.raises(ValueError, match="naive"):
        new_card(naive)
    with pytest.raises(ValueError, match="naive"):
        CardState(CardPhase.LEARNING, 0, None, None, due=naive, last_review=None)


def test_dict_round_trip_is_json_safe_and_exact() -> None:
    card = review(review(None, Rating.GOOD, T0), Rating.EASY, T0 + timedelta(days=2))
    data = card.to_dict()
    assert data == {
        "state": 2,
        "step": None,
        "stability": card.stability,
        "difficulty": card.difficulty,
        "due": "2026-01-26T09:00:00+00:00",  # GOOD then EASY: 2 + 19 days
        "last_review": "2026-01-07T09:00:00+00:00",
    }
    restored = CardState.from_dict(json.loads(json.dumps(data)))
    assert restored == card
    assert restored.due.tzinfo is UTC


def test_new_card_round_trip() -> None:
    card = new_card(T0)
    assert CardState.from_dict(json.loads(json.dumps(card.to_dict()))) == card


@pytest.mark.parametrize(
    "patch",
    [
        {"state": 9},
        {"state": "2"},
        {"step": "0"},
        {"stability": "2.3"},
        {"due": None},
        {"due": "2026-01-05T09:00:00"},  # naive
        {"due": "not a date"},
        {"last_review": 5},
    ],
)
def test_from_dict_rejects_bad_data(patch: dict[str, object]) -> None:
    data: dict[str, object] = {**review(None, Rating.GOOD, T0).to_dict(), **patch}
    with pytest.raises(ValueError):  # noqa: PT011 - messages vary by field
        CardState.from_dict(data)


def test_from_dict_rejects_missing_keys() -> None:
    data = dict(new_card(T0).to_dict())
    del data["due"]
    with pytest.raises(ValueError, match="due"):
        CardState.from_dict(data)
