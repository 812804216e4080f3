"""Which question a chat gets next.

Deterministic given the stored state: the same bank, decks, cards and
``now`` always give the same question, so a retried delivery sends the same
thing and tests can pin exact ids. Order of preference for a person:

1. a review that is due (the most overdue first): forgetting is the enemy;
2. a new question, introduced round-robin across the selected decks so that
   one huge deck does not crowd out the others;
3. when everything has been seen and nothing is due, the card due soonest
   (studying a little early beats sending nothing).

Cards and ``seen`` ids are matched against the *current* bank: a card whose
question was removed, or moved to a deck the chat did not select, is ignored.
Ties are always broken by bank order (deck order, then file order).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from bot.domain.clock import require_utc
from bot.domain.content import Bank
from bot.domain.srs import CardDue, CardState


@dataclass(frozen=True)
class _Pool:
    """The selected decks' question ids, grouped by deck, in bank order."""

    decks: tuple[tuple[str, ...], ...]
    all_ids: tuple[str, ...] = ()
    position: Mapping[str, int] = field(default_factory=dict)
    """Each id's place in bank order (membership and tie-breaks without a scan)."""
    deck_sets: tuple[frozenset[str], ...] = ()
    """Each deck's ids as a set: how many a chat has met, counted in C."""

    @classmethod
    def of(cls, bank: Bank, decks: Collection[str]) -> _Pool:
        """The pool for these decks; memoised, since the bank never changes and the
        dispatcher asks for the same few deck selections thousands of times a minute.

        Not for a bank with decks of someone's own (``Bank.extended``, built per chat):
        memoised, each would keep its decks alive past the bounded deck cache, and no
        other chat asks for it again; its pool is built each time (microseconds).
        """
        if bank.builtin is not bank:
            return _build_pool(bank, frozenset(decks))
        return _pool(bank, frozenset(decks))

    def ids(self) -> tuple[str, ...]:
        return self.all_ids

    def next_new(self, introduced: Set[str], exclude: Set[str]) -> str | None:
        """Round-robin: the deck with the fewest introduced questions wins.

        Only decks with an unintroduced, unexcluded question compete; ties go
        to the earlier deck; within the deck, the first such question in file
        order.
        """
        best: tuple[int, str] | None = None
        for deck, ids in zip(self.decks, self.deck_sets, strict=True):
            count = len(ids.intersection(introduced)) if introduced else 0
            if best is not None and count >= best[0]:
                continue  # it could not win: no need to look for its first new question
            fresh = next((q for q in deck if q not in introduced and q not in exclude), None)
            if fresh is not None:
                best = (count, fresh)
        return None if best is None else best[1]


@lru_cache(maxsize=256)
def _pool(bank: Bank, wanted: frozenset[str]) -> _Pool:
    return _build_pool(bank, wanted)


def _build_pool(bank: Bank, wanted: frozenset[str]) -> _Pool:
    decks = tuple(
        tuple(question.id for question in deck.questions)
        for deck in bank.decks
        if deck.id in wanted
    )
    ids = tuple(question_id for deck in decks for question_id in deck)
    return _Pool(
        decks,
        ids,
        {question_id: index for index, question_id in enumerate(ids)},
        tuple(frozenset(deck) for deck in decks),
    )


def _earliest(ids: Sequence[str], when: Mapping[str, datetime]) -> str | None:
    """The id with the smallest ``when`` value; ties go to the earlier id."""
    best: str | None = None
    for question_id in ids:
        if best is None or when[question_id] < when[best]:
            best = question_id
    return best


def choose_question(
    bank: Bank,
    *,
    decks: Sequence[str],
    cards: Mapping[str, CardState | CardDue],
    seen: Set[str] | None = None,
    now: datetime,
    exclude: Set[str] = frozenset(),
) -> str | None:
    """The id of the question to send next, or None if there is none.

    ``cards`` maps question ids to FSRS state (graded questions); ``seen``
    holds ids already shown but possibly never graded; ``exclude`` ids are
    never returned (at any step). Steps, see the module docstring:

    1. the most overdue card (smallest ``due <= now``);
    2. the next new question (neither carded nor seen), round-robin;
    3. the card due soonest;
    4. if there are no cards at all but everything was seen (shown, never
       graded), the first seen question in bank order.

    None only when the selected decks hold no question outside ``exclude``.
    """
    now = require_utc(now, "now")
    pool = _Pool.of(bank, decks)
    position = pool.position
    # (due, place in bank order, id) of the pool's cards: the smallest is the soonest due,
    # ties to bank order. From the cards, not the pool: a scan of the cards a chat has,
    # not of every question it could get.
    carded = [(cards[q].due, position[q], q) for q in cards if q in position and q not in exclude]
    overdue = min((card for card in carded if card[0] <= now), default=None)
    if overdue is not None:
        return overdue[2]

    introduced = set(cards).union(seen) if seen else set(cards)
    fresh = pool.next_new(introduced, exclude)
    if fresh is not None:
        return fresh

    if carded:
        return min(carded)[2]
    return next((q for q in pool.ids() if q not in exclude), None)


def overdue_from_soonest(
    bank: Bank,
    *,
    decks: Sequence[str],
    soonest: Sequence[tuple[str, datetime]],
    complete: bool,
    now: datetime,
    exclude: Set[str] = frozenset(),
) -> str | None:
    """Step 1 of :func:`choose_question` from a person's few soonest-due cards, if they decide it.

    ``soonest`` is the person's cards with the earliest due instants, earliest first (a
    short window read through the (person, due) index), holding every card tied with its
    last one, so that every card outside it is due strictly later than any inside;
    ``complete`` says it holds every card. Returns what :func:`choose_question` would
    return (same ``exclude``) when that is a due card in the window. None when the full
    inputs are needed (nothing due in the window): the caller then reads the cards and
    the shown questions and calls :func:`choose_question`.
    """
    now = require_utc(now, "now")
    pool = _Pool.of(bank, decks)
    overdue = [
        (due, pool.position[question_id], question_id)
        for question_id, due in soonest
        if question_id in pool.position and due <= now and question_id not in exclude
    ]
    if not overdue:
        return None
    return min(overdue)[2]


def group_rotation_pick(
    bank: Bank,
    *,
    decks: Sequence[str],
    delivered: Mapping[str, datetime],
) -> str | None:
    """The next question to post in a group chat (no per-person FSRS there).

    New questions first, round-robin across decks as in
    :func:`choose_question` (``delivered`` = already posted to the group);
    once every question was posted, the least recently posted one (ties: bank
    order). None only if the selected decks are empty.
    """
    pool = _Pool.of(bank, decks)
    fresh = pool.next_new(set(delivered), frozenset())
    if fresh is not None:
        return fresh
    ids = pool.ids()
    last_posted = {q: require_utc(delivered[q], f"delivered[{q!r}]") for q in ids}
    return _earliest(ids, last_posted)


def quiz_picks(
    bank: Bank,
    *,
    decks: Sequence[str],
    cards: Mapping[str, CardState | CardDue],
    now: datetime,
    count: int,
    seen: Set[str] | None = None,
) -> list[str]:
    """Up to ``count`` distinct ids for /quiz: due first, then new, then soonest.

    Exactly the sequence :func:`choose_question` would produce if each pick
    were shown (counted as seen) before the next one was chosen, so new
    questions keep rotating across decks.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    picked: list[str] = []
    shown = set(seen or ())
    while len(picked) < count:
        chosen = set(picked)
        question_id = choose_question(
            bank, decks=decks, cards=cards, seen=shown | chosen, now=now, exclude=chosen
        )
        if question_id is None:
            break
        picked.append(question_id)
    return picked
