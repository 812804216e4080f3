"""Progress statistics: the heatmap's days, the due forecast, retention per topic, leeches.

Pure functions over plain values (reviews, card due instants, the bank), with
``now`` or ``today`` passed in, so the picture, ``/stats`` and ``/weak`` show
numbers that tests can pin exactly.

Days are local days. A review counts on the local date it was graded on in the
reviewer's own zone at that moment (the date streaks count), so the heatmap and
the streak always agree, whatever travel or DST did to the clock. A group's
days are read in the group's zone (:func:`local_dates`), as the group streak is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.clock import require_utc
from bot.domain.content import Bank
from bot.domain.schedule import local_date_of
from bot.domain.selection import quiz_picks
from bot.domain.srs import CardDue, CardState, Rating

HEATMAP_DAYS = 365
FORECAST_DAYS = 30
RETENTION_DAYS = 30
LEECH_LAPSES = 4  # Anki's default leech threshold is 8 lapses; one question a day needs fewer
WEAK_MIN_REVIEWS = 2
WEAK_BELOW = 0.9  # FSRS's desired retention: a topic under it is being forgotten
RECALLED = frozenset({Rating.GOOD, Rating.EASY})


@dataclass(frozen=True)
class GradedReview:
    """One grade as statistics see it: what, how well, when (UTC) and on which local date."""

    question_id: str
    rating: Rating
    at: datetime
    local_date: date

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_utc(self.at, "at"))
        object.__setattr__(self, "rating", Rating(self.rating))


# --- the calendar heatmap --------------------------------------------------------------


def local_dates(instants: Iterable[datetime], timezone: str) -> list[date]:
    """The local date of each instant in one zone (a group's days, in the group's zone)."""
    return [local_date_of(at, timezone) for at in instants]


def daily_counts(days: Iterable[date], *, today: date, span: int = HEATMAP_DAYS) -> dict[date, int]:
    """How many reviews fell on each of the ``span`` local days ending ``today``.

    ``days`` holds one local date per review. Every day of the window is a key
    (0 when nothing was graded). Days before the window are left out; a date
    after ``today`` (right after flying west) counts as today, as for streaks.
    """
    return window_counts(Counter(days), today=today, span=span)


def window_counts(
    per_day: Mapping[date, int], *, today: date, span: int = HEATMAP_DAYS
) -> dict[date, int]:
    """:func:`daily_counts` for reviews already counted per date (as the database does)."""
    if span < 1:
        raise ValueError(f"span must be at least 1, got {span}")
    start = today - timedelta(days=span - 1)
    counts = {start + timedelta(days=offset): 0 for offset in range(span)}
    for day, count in per_day.items():
        day = min(day, today)
        if day >= start:
            counts[day] += count
    return counts


@dataclass(frozen=True)
class CalendarCell:
    """One day of the heatmap: weeks are columns (oldest left), Monday is row 0."""

    column: int
    row: int
    day: date
    count: int


def calendar_cells(counts: Mapping[date, int]) -> list[CalendarCell]:
    """Lay the days of ``counts`` out like GitHub's and Anki's calendars.

    Column 0 is the week (Monday to Sunday) of the earliest day; the last
    column holds the latest day. Cells come in date order.
    """
    if not counts:
        return []
    days = sorted(counts)
    first_monday = days[0] - timedelta(days=days[0].weekday())
    return [
        CalendarCell((day - first_monday).days // 7, day.weekday(), day, counts[day])
        for day in days
    ]


# --- the due forecast ----------------------------------------------------------------


def due_forecast(
    dues: Iterable[datetime], *, now: datetime, timezone: str, days: int = FORECAST_DAYS
) -> list[int]:
    """Cards due on each of the next ``days`` local days, today first.

    A card is due on the local day its due instant falls in (as selection sees
    it); overdue cards count for today, cards due later than the window are left out.
    """
    today = local_date_of(now, timezone)
    counts = [0] * days
    for due in dues:
        offset = (local_date_of(due, timezone) - today).days
        if offset < days:
            counts[max(offset, 0)] += 1
    return counts


# --- retention per topic, weak topics, leeches -------------------------------------------


@dataclass(frozen=True)
class TopicStats:
    """A deck's or a tag's grades in the window: how many, how many Again, how many recalled."""

    kind: str  # deck | tag
    key: str  # deck id or tag
    title: str  # the deck's title, or "#tag"
    reviews: int
    lapses: int
    recalled: int

    @property
    def retention(self) -> float | None:
        """Share of Good/Easy grades; None without reviews."""
        return self.recalled / self.reviews if self.reviews else None


def recent(reviews: Iterable[GradedReview], *, now: datetime, days: int) -> list[GradedReview]:
    """Reviews graded in the ``days`` days before ``now`` (a rolling window)."""
    since = require_utc(now, "now") - timedelta(days=days)
    return [review for review in reviews if review.at > since]


def topic_stats(
    reviews: Iterable[GradedReview], bank: Bank, *, now: datetime, days: int = RETENTION_DAYS
) -> list[TopicStats]:
    """Per deck (bank order) then per tag (alphabetical): reviews, lapses and recalls.

    Only the last ``days`` days count; topics without reviews there are left out,
    and so are reviews of questions no longer in the bank.
    """
    totals: Counter[tuple[str, str]] = Counter()
    lapses: Counter[tuple[str, str]] = Counter()
    recalled: Counter[tuple[str, str]] = Counter()
    for review in recent(reviews, now=now, days=days):
        question = bank.question(review.question_id)
        deck = bank.deck_of(review.question_id)
        if question is None or deck is None:
            continue
        keys = [("deck", deck.id)] + [("tag", tag) for tag in question.tags]
        for key in keys:
            totals[key] += 1
            lapses[key] += review.rating == Rating.AGAIN
            recalled[key] += review.rating in RECALLED
    decks = [
        TopicStats("deck", d.id, d.title, totals[k], lapses[k], recalled[k])
        for d in bank.decks
        if (k := ("deck", d.id)) in totals
    ]
    tags = [
        TopicStats("tag", key, f"#{key}", totals[k], lapses[k], recalled[k])
        for k in sorted(k for k in totals if k[0] == "tag")
        for key in [k[1]]
    ]
    return decks + tags


def weakest_topics(
    stats: Sequence[TopicStats],
    *,
    limit: int = 3,
    min_reviews: int = WEAK_MIN_REVIEWS,
    below: float = WEAK_BELOW,
) -> list[TopicStats]:
    """The ``limit`` topics with the lowest retention under ``below``.

    A topic needs ``min_reviews`` reviews to be judged. Ties: more lapses first,
    then more reviews, then tags before decks (a tag is the narrower topic, the
    better quiz), then the title.
    """
    judged = [
        s
        for s in stats
        if s.reviews >= min_reviews and s.retention is not None and s.retention < below
    ]
    judged.sort(
        key=lambda s: (s.recalled / s.reviews, -s.lapses, -s.reviews, s.kind != "tag", s.title)
    )
    return judged[:limit]


def leeches(
    lapses: Mapping[str, int], bank: Bank, *, threshold: int = LEECH_LAPSES
) -> list[tuple[str, int]]:
    """(question id, lapses) of cards forgotten ``threshold`` times or more, worst first.

    Ties in bank order; questions no longer in the bank are left out.
    """
    order = {question.id: index for index, question in enumerate(bank)}
    found = [(q, n) for q, n in lapses.items() if n >= threshold and q in order]
    return sorted(found, key=lambda item: (-item[1], order[item[0]]))


def weak_quiz_picks(
    bank: Bank,
    *,
    cards: Mapping[str, CardState | CardDue],
    lapses: Mapping[str, int],
    now: datetime,
    count: int,
) -> list[str]:
    """A quiz on a weak topic: its leeches first (worst first), then due cards, then the rest.

    ``bank`` holds just the topic's questions. Due cards come most overdue
    first; the rest is :func:`~bot.domain.selection.quiz_picks`' order (due,
    new round-robin, soonest due).
    """
    now = require_utc(now, "now")
    picked = [q for q, _ in leeches(lapses, bank)][:count]
    order = {question.id: index for index, question in enumerate(bank)}
    due = sorted(
        (q for q, card in cards.items() if q in order and card.due <= now and q not in picked),
        key=lambda q: (cards[q].due, order[q]),
    )
    picked += due[: count - len(picked)]
    if len(picked) < count:
        # At most len(picked) of these repeat a pick, so ``count`` of them are enough.
        rest = quiz_picks(bank, decks=bank.deck_ids, cards=cards, now=now, count=count)
        picked += [q for q in rest if q not in picked][: count - len(picked)]
    return picked
