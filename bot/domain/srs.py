"""FSRS spaced repetition, tuned for one question a day.

This wraps `py-fsrs <https://github.com/open-spaced-repetition/py-fsrs>`_ so
the rest of the bot deals in a small frozen :class:`CardState` (storable as
JSON) and never in mutable ``fsrs.Card`` objects.

Why these scheduler settings:

* ``learning_steps=()`` and ``relearning_steps=()``: the bot asks at most one
  question a day, so minute-scale steps ("again in 10 minutes") are
  meaningless. With no learning steps, fsrs 6 moves a new card straight to
  the Review state on its first rating and schedules ``round(interval)`` whole
  days, never less than 1 (``Scheduler._next_interval`` clamps to
  ``max(…, 1)``). With no relearning steps, AGAIN on a Review card keeps it in
  Review with a fresh whole-day interval instead of entering Relearning.
  :func:`review` additionally enforces ``due >= now + 1 day`` so that
  guarantee does not depend on library internals.
* ``enable_fuzzing=False``: the same history always gives the same due date,
  which keeps scheduling reproducible and testable.
* ``desired_retention=0.9``: the fsrs default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

import fsrs

from bot.domain.clock import require_utc

MIN_INTERVAL = timedelta(days=1)

_SCHEDULER = fsrs.Scheduler(
    desired_retention=0.9,
    learning_steps=(),
    relearning_steps=(),
    enable_fuzzing=False,
)
# fsrs.Card() without an id reads the clock and sleeps 1 ms to keep ids
# unique; ids are irrelevant here (question ids identify cards), so use 0.
_CARD_ID = 0


class Rating(IntEnum):
    """How well the user recalled the answer (same values as ``fsrs.Rating``)."""

    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4


class CardPhase(IntEnum):
    """The card's FSRS state (same values as ``fsrs.State``).

    With this module's settings only LEARNING (never reviewed) and REVIEW
    occur; RELEARNING is kept so stored cards from other settings load.
    """

    LEARNING = 1
    REVIEW = 2
    RELEARNING = 3


@dataclass(frozen=True)
class CardState:
    """Everything needed to rebuild an ``fsrs.Card`` for one question.

    ``due`` and ``last_review`` are aware UTC datetimes (other aware values are
    converted; naive ones raise ``ValueError``).
    """

    state: CardPhase
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", CardPhase(self.state))
        object.__setattr__(self, "due", require_utc(self.due, "due"))
        if self.last_review is not None:
            object.__setattr__(self, "last_review", require_utc(self.last_review, "last_review"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` reads it back exactly.

        Keys: ``state`` (int), ``step`` (int | None), ``stability`` and
        ``difficulty`` (float | None), ``due`` and ``last_review`` (ISO 8601
        strings with ``+00:00``; ``last_review`` may be None). A plain dict
        rather than a TypedDict so it can be assigned to JSON columns.
        """
        return {
            "state": int(self.state),
            "step": self.step,
            "stability": self.stability,
            "difficulty": self.difficulty,
            "due": self.due.isoformat(),
            "last_review": self.last_review.isoformat() if self.last_review else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CardState:
        """Rebuild from :meth:`to_dict` output; ``ValueError`` on bad data."""
        try:
            state = data["state"]
            step = data["step"]
            stability = data["stability"]
            difficulty = data["difficulty"]
            due = data["due"]
            last_review = data["last_review"]
        except KeyError as error:
            raise ValueError(f"card state is missing {error.args[0]!r}") from error
        if not isinstance(state, int) or isinstance(state, bool):
            raise ValueError(f"card state must be an int, got {state!r}")
        if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
            raise ValueError(f"card step must be an int or null, got {step!r}")
        if not isinstance(due, str):
            raise ValueError(f"card due must be an ISO string, got {due!r}")
        if last_review is not None and not isinstance(last_review, str):
            raise ValueError(f"card last_review must be an ISO string, got {last_review!r}")
        return cls(
            state=CardPhase(state),
            step=step,
            stability=_optional_float(stability, "stability"),
            difficulty=_optional_float(difficulty, "difficulty"),
            due=datetime.fromisoformat(due),
            last_review=datetime.fromisoformat(last_review) if last_review else None,
        )


@dataclass(frozen=True, slots=True)
class CardDue:
    """When a card is due, and nothing else: all that choosing a question needs.

    Loading just the ``due`` column for a person's cards costs a fraction of
    rebuilding every :class:`CardState` from JSON, on the hottest paths.
    """

    due: datetime


def _optional_float(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"card {name} must be a number or null, got {value!r}")
    return float(value)


def new_card(now: datetime) -> CardState:
    """A never-reviewed card, due immediately."""
    return CardState(
        state=CardPhase.LEARNING,
        step=0,
        stability=None,
        difficulty=None,
        due=require_utc(now, "now"),
        last_review=None,
    )


def review(card: CardState | None, rating: Rating, now: datetime) -> CardState:
    """The card after the user rated it at ``now``; ``None`` means a new card.

    Pure and deterministic: the same card, rating and ``now`` always give the
    same result. The next due date is whole days after ``now`` and at least
    one day away.
    """
    now = require_utc(now, "now")
    rating = Rating(rating)
    if card is None:
        card = new_card(now)
    reviewed, _log = _SCHEDULER.review_card(
        _to_fsrs(card), fsrs.Rating(int(rating)), review_datetime=now
    )
    return CardState(
        state=CardPhase(int(reviewed.state)),
        step=reviewed.step,
        stability=reviewed.stability,
        difficulty=reviewed.difficulty,
        due=max(reviewed.due, now + MIN_INTERVAL),
        last_review=reviewed.last_review,
    )


def _to_fsrs(card: CardState) -> fsrs.Card:
    return fsrs.Card(
        card_id=_CARD_ID,
        state=fsrs.State(int(card.state)),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
    )
