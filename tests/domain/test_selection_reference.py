"""choose_question against the plain reading of its rules, on random banks and histories.

The selection reads the chat's cards rather than scanning every question it could get,
and skips a deck's scan once the deck cannot win the round-robin: cheaper per delivery
(the dispatcher chooses for every due chat). ``_reference`` below is the rule as the
module docstring states it, written the obvious way (the implementation before that
change); both must give the same id for any input.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.content import Bank, Deck, Question, Source
from bot.domain.selection import choose_question
from bot.domain.srs import CardDue

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SOURCE = Source(name="Tests", attribution="Written for the tests.")


def _earliest(ids: list[str], when: Mapping[str, datetime]) -> str | None:
    best: str | None = None
    for question_id in ids:
        if best is None or when[question_id] < when[best]:
            best = question_id
    return best


def _reference(
    bank: Bank,
    decks: list[str],
    cards: Mapping[str, CardDue],
    seen: Set[str],
    exclude: Set[str],
) -> str | None:
    pool = [tuple(q.id for q in deck.questions) for deck in bank.decks if deck.id in decks]
    candidates = [q for deck in pool for q in deck if q not in exclude]
    carded = [q for q in candidates if q in cards]
    due = {q: cards[q].due for q in carded}
    overdue = _earliest([q for q in carded if due[q] <= NOW], due)
    if overdue is not None:
        return overdue
    introduced = set(cards) | set(seen)
    best: tuple[int, str] | None = None
    for deck in pool:
        fresh = [q for q in deck if q not in introduced and q not in exclude]
        if not fresh:
            continue
        count = sum(1 for q in deck if q in introduced)
        if best is None or count < best[0]:
            best = (count, fresh[0])
    if best is not None:
        return best[1]
    soonest = _earliest(carded, due)
    if soonest is not None:
        return soonest
    return candidates[0] if candidates else None


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Bank, list[str], dict[str, CardDue], set[str], set[str]]:
    sizes = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
    decks = tuple(
        Deck(
            id=f"d{d}",
            title=f"D{d}",
            description="D.",
            source=SOURCE,
            questions=tuple(
                Question(id=f"d{d}q{n}", question="Q?", answer="A.") for n in range(size)
            ),
        )
        for d, size in enumerate(sizes)
    )
    bank = Bank(decks)
    ids = [q.id for q in bank]
    chosen = draw(st.lists(st.sampled_from([d.id for d in decks]), min_size=1, unique=True))
    # Due instants from a few hours apart (ties happen) around now; some ids unknown.
    hours = st.integers(-3, 3).map(lambda h: NOW + timedelta(hours=h))
    card_ids = draw(st.lists(st.sampled_from([*ids, "gone"]), unique=True))
    cards = {q: CardDue(draw(hours)) for q in card_ids}
    seen = set(draw(st.lists(st.sampled_from([*ids, "gone-too"]))))
    exclude = set(draw(st.lists(st.sampled_from(ids), max_size=3)))
    return bank, chosen, cards, seen, exclude


@settings(max_examples=400, deadline=None)
@given(_cases())
def test_choose_question_is_the_rule_as_stated(
    case: tuple[Bank, list[str], dict[str, CardDue], set[str], set[str]],
) -> None:
    bank, decks, cards, seen, exclude = case
    assert choose_question(
        bank, decks=decks, cards=cards, seen=seen, now=NOW, exclude=exclude
    ) == _reference(bank, decks, cards, seen, exclude)
