"""A person's data as files they can keep: ``reviews.csv`` and ``data.json``.

Pure: the handler loads rows and passes plain values. The next due instant of
each past review is recomputed by replaying the person's grades through the
same pure, deterministic FSRS :func:`~bot.domain.srs.review` (no fuzzing) that
scheduled them, so the file says exactly what the bot decided at the time.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

from bot.domain.clock import require_utc
from bot.domain.srs import CardState, Rating, review
from bot.domain.streaks import Streak

GRADE_NAMES = {Rating.AGAIN: "Again", Rating.HARD: "Hard", Rating.GOOD: "Good", Rating.EASY: "Easy"}
CSV_COLUMNS = (
    "date",
    "time",
    "utc_offset",
    "question_id",
    "deck",
    "question",
    "grade",
    "next_due",
)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ExportedReview:
    """One grade with what the person saw: when (UTC, and the offset it was local in), what."""

    at: datetime
    utc_offset_minutes: int
    question_id: str
    deck: str
    question: str
    rating: Rating

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_utc(self.at, "at"))
        object.__setattr__(self, "rating", Rating(self.rating))


def replay_next_dues(reviews: Sequence[ExportedReview]) -> list[datetime]:
    """The card's due instant after each review (in the order given, oldest first)."""
    cards: dict[str, CardState] = {}
    dues: list[datetime] = []
    for item in reviews:
        card = review(cards.get(item.question_id), item.rating, item.at)
        cards[item.question_id] = card
        dues.append(card.due)
    return dues


def _offset(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


class ReviewsCsv:
    """``reviews.csv`` written a few rows at a time, oldest first, onto a text stream.

    Holds only the replayed FSRS state of each question (at most the bank), so a year
    of reviews streams from a database cursor through it with bounded memory. Columns:
    date (YYYY-MM-DD) and time (HH:MM:SS) where the person was, utc_offset (+01:00),
    question_id, deck (title), question (text), grade (Again/Hard/Good/Easy), next_due
    (ISO 8601, same offset).
    """

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")
        self._cards: dict[str, CardState] = {}
        self.rows = 0
        self._writer.writerow(CSV_COLUMNS)

    def write(self, reviews: Iterable[ExportedReview]) -> None:
        """Append these reviews, which come after every review written so far."""
        for item in reviews:
            card = review(self._cards.get(item.question_id), item.rating, item.at)
            self._cards[item.question_id] = card
            zone = _offset(item.utc_offset_minutes)
            local = item.at.astimezone(zone)
            offset = local.strftime("%z")
            self._writer.writerow(
                (
                    local.date().isoformat(),
                    local.strftime("%H:%M:%S"),
                    offset[:3] + ":" + offset[3:],
                    item.question_id,
                    item.deck,
                    item.question,
                    GRADE_NAMES[item.rating],
                    card.due.astimezone(zone).isoformat(timespec="seconds"),
                )
            )
            self.rows += 1


def reviews_csv(reviews: Iterable[ExportedReview]) -> str:
    """``reviews.csv`` of these reviews as one string (sorted oldest first); see
    :class:`ReviewsCsv`, which the bot uses to stream it."""
    out = io.StringIO()
    ReviewsCsv(out).write(sorted(reviews, key=lambda r: r.at))
    return out.getvalue()


@dataclass(frozen=True)
class ExportedCard:
    question_id: str
    deck: str
    state: CardState
    reps: int
    lapses: int


def data_json(
    *,
    person: Mapping[str, Any],
    settings: Mapping[str, Any],
    cards: Iterable[ExportedCard],
    streak: Streak,
    now: datetime,
    typed_answers: Iterable[Mapping[str, Any]] = (),
) -> str:
    """``data.json``: settings, every card with its FSRS state, the streaks, and the
    typed answers the person chose to keep (empty unless "Keep my typed answers" is on)."""
    document = {
        "format": "interview-bot export",
        "version": FORMAT_VERSION,
        "exported_at": require_utc(now, "now").isoformat(timespec="seconds"),
        "person": dict(person),
        "settings": dict(settings),
        "cards": [
            {
                "question_id": card.question_id,
                "deck": card.deck,
                "reps": card.reps,
                "lapses": card.lapses,
                "fsrs": card.state.to_dict(),
            }
            for card in sorted(cards, key=lambda c: c.question_id)
        ],
        "streaks": {
            "current": streak.current,
            "longest": streak.longest,
            "freezes_held": streak.freezes_held,
            "freezes_used": streak.freezes_used,
            "studied_today": streak.studied_today,
            "study_days": streak.days,
        },
        "typed_answers": [dict(answer) for answer in typed_answers],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
