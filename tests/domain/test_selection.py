"""Question selection on a tiny hand-made bank with exact expected ids.

Bank order: deck "a" (a1, a2, a3), deck "b" (b1, b2), deck "c" (c1).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.content import Bank, Deck, Question, Source
from bot.domain.selection import (
    choose_question,
    group_rotation_pick,
    overdue_from_soonest,
    quiz_picks,
)
from bot.domain.srs import CardPhase, CardState

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ALL = ("a", "b", "c")


def deck(deck_id: str, *question_ids: str) -> Deck:
    return Deck(
        id=deck_id,
        title=f"Deck {deck_id}",
        description="test deck",
        source=Source(name="tests", attribution="written for the tests"),
        questions=tuple(
            Question(id=qid, question=f"Question {qid}?", answer=f"Answer {qid}.")
            for qid in question_ids
        ),
    )


BANK = Bank((deck("a", "a1", "a2", "a3"), deck("b", "b1", "b2"), deck("c", "c1")))


def card(due_in_days: float) -> CardState:
    """A reviewed card due ``due_in_days`` from NOW (negative = overdue)."""
    return CardState(
        state=CardPhase.REVIEW,
        step=None,
        stability=3.0,
        difficulty=5.0,
        due=NOW + timedelta(days=due_in_days),
        last_review=NOW - timedelta(days=10),
    )


def choose(
    cards: dict[str, CardState] | None = None,
    seen: set[str] | None = None,
    decks: tuple[str, ...] = ALL,
    exclude: frozenset[str] = frozenset(),
) -> str | None:
    return choose_question(
        BANK, decks=decks, cards=cards or {}, seen=seen, now=NOW, exclude=exclude
    )


# --- step 2: new questions, round-robin -----------------------------------------


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        (set(), "a1"),
        ({"a1"}, "b1"),
        ({"a1", "b1"}, "c1"),
        ({"a1", "b1", "c1"}, "a2"),
        ({"a1", "a2", "b1", "c1"}, "b2"),
        ({"a1", "a2", "b1", "b2", "c1"}, "a3"),  # c is exhausted, a is the only one left
        ({"b1", "b2"}, "a1"),
        ({"a2"}, "b1"),  # deck a already has one introduced question
        ({"a2", "b1", "c1"}, "a1"),
    ],
)
def test_new_questions_round_robin(seen: set[str], expected: str) -> None:
    assert choose(seen=seen) == expected


def test_full_introduction_order() -> None:
    seen: set[str] = set()
    order = []
    for _ in range(6):
        question_id = choose(seen=seen)
        assert question_id is not None
        order.append(question_id)
        seen.add(question_id)
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]


def test_cards_count_as_introduced() -> None:
    # a1 graded and not yet due: deck a has one introduced question.
    assert choose(cards={"a1": card(3)}) == "b1"


def test_cards_of_removed_questions_are_ignored() -> None:
    cards = {"gone-1": card(-5), "gone-2": card(-1)}
    assert choose(cards=cards) == "a1"


def test_selected_deck_order_follows_the_bank_not_the_argument() -> None:
    assert choose(decks=("c", "a")) == "a1"
    assert choose(decks=("c", "a"), seen={"a1"}) == "c1"


# --- step 1: due reviews ---------------------------------------------------------


def test_most_overdue_first() -> None:
    cards = {"a2": card(-2), "b1": card(-3), "c1": card(-1)}
    assert choose(cards=cards) == "b1"


def test_due_exactly_now_counts_as_due() -> None:
    assert choose(cards={"b2": card(0)}, seen={"a1", "b1", "c1"}) == "b2"


def test_overdue_ties_go_to_bank_order() -> None:
    cards = {"b1": card(-2), "a2": card(-2), "c1": card(-2)}
    assert choose(cards=cards) == "a2"


def test_due_beats_new() -> None:
    assert choose(cards={"c1": card(-0.01)}) == "c1"


def test_exclude_skips_the_overdue_card() -> None:
    cards = {"a2": card(-2), "b1": card(-3)}
    assert choose(cards=cards, exclude=frozenset({"b1"})) == "a2"
    # Both excluded: fall through to new questions. Introduced counts are
    # a: 1 (a2), b: 1 (b1), c: 0, so deck c goes first.
    assert choose(cards=cards, exclude=frozenset({"a2", "b1"})) == "c1"


def test_card_moved_to_unselected_deck_is_ignored() -> None:
    # b1 is overdue, but only deck a is selected.
    assert choose(cards={"b1": card(-5)}, decks=("a",)) == "a1"


# --- step 3 and 4: nothing new, nothing due ---------------------------------------


def test_everything_seen_nothing_due_gives_soonest_due() -> None:
    cards = {"a1": card(5), "a2": card(2), "a3": card(9), "b1": card(3), "b2": card(4)}
    assert choose(cards=cards, seen={"c1"}) == "a2"


def test_soonest_due_ties_go_to_bank_order() -> None:
    cards = {q: card(4) for q in ("a1", "a2", "a3", "b1", "b2", "c1")}
    assert choose(cards=cards) == "a1"
    assert choose(cards=cards, decks=("b", "c")) == "b1"


def test_everything_seen_but_never_graded_gives_first_question() -> None:
    assert choose(seen={"a1", "a2", "a3", "b1", "b2", "c1"}) == "a1"


@pytest.mark.parametrize("decks", [(), ("nope",)])
def test_none_only_without_questions(decks: tuple[str, ...]) -> None:
    assert choose(decks=decks) is None


def test_none_when_everything_is_excluded() -> None:
    assert choose(decks=("c",), exclude=frozenset({"c1"})) is None


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        choose_question(BANK, decks=ALL, cards={}, now=datetime(2026, 1, 5))  # noqa: DTZ001


# --- group rotation ---------------------------------------------------------------


def test_group_rotation_introduces_round_robin_then_least_recent() -> None:
    delivered: dict[str, datetime] = {}
    order = []
    now = NOW
    for _ in range(9):
        question_id = group_rotation_pick(BANK, decks=ALL, delivered=delivered)
        assert question_id is not None
        order.append(question_id)
        delivered[question_id] = now
        now += timedelta(days=1)
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3", "a1", "b1", "c1"]


def test_group_rotation_least_recent_ties_go_to_bank_order() -> None:
    delivered = dict.fromkeys(("a1", "a2", "a3", "b1", "b2", "c1"), NOW)
    delivered["a1"] = NOW + timedelta(hours=1)
    assert group_rotation_pick(BANK, decks=ALL, delivered=delivered) == "a2"


def test_group_rotation_ignores_history_of_other_decks() -> None:
    delivered = {"a1": NOW, "b1": NOW - timedelta(days=3)}
    assert group_rotation_pick(BANK, decks=("b",), delivered=delivered) == "b2"
    assert group_rotation_pick(BANK, decks=(), delivered=delivered) is None


# --- quiz -----------------------------------------------------------------------------


def test_quiz_orders_due_then_new_then_soonest() -> None:
    cards = {"b2": card(-1), "a1": card(-3), "c1": card(7), "a2": card(2)}
    # due: a1 (-3), b2 (-1); new: a3? deck a has a1,a2 introduced (2), b has b2 (1),
    # c has c1 (1) but no unseen -> b1, then a3; then soonest due: a2, c1.
    assert quiz_picks(BANK, decks=ALL, cards=cards, now=NOW, count=10) == [
        "a1",
        "b2",
        "b1",
        "a3",
        "a2",
        "c1",
    ]


def test_quiz_new_questions_rotate_across_decks() -> None:
    assert quiz_picks(BANK, decks=ALL, cards={}, now=NOW, count=4) == ["a1", "b1", "c1", "a2"]


def test_quiz_respects_seen() -> None:
    assert quiz_picks(BANK, decks=ALL, cards={}, now=NOW, count=2, seen={"a1"}) == ["b1", "c1"]


def test_quiz_count_limits() -> None:
    assert quiz_picks(BANK, decks=ALL, cards={}, now=NOW, count=0) == []
    assert quiz_picks(BANK, decks=("b",), cards={}, now=NOW, count=5) == ["b1", "b2"]
    with pytest.raises(ValueError, match="negative"):
        quiz_picks(BANK, decks=ALL, cards={}, now=NOW, count=-1)


# --- step 1 from the soonest cards only (what the dispatcher reads) -----------------------


def soonest(cards: dict[str, float], size: int) -> tuple[tuple[tuple[str, datetime], ...], bool]:
    """The first ``size`` cards by due and those tied with the last (FETCH ... WITH TIES)."""
    ordered = sorted(((q, NOW + timedelta(days=d)) for q, d in cards.items()), key=lambda c: c[1])
    window = [card for card in ordered if ordered[:size] and card[1] <= ordered[:size][-1][1]]
    return tuple(window), len(ordered) < size


def from_soonest(
    cards: dict[str, float],
    size: int,
    decks: tuple[str, ...] = ALL,
    exclude: frozenset[str] = frozenset(),
) -> str | None:
    window, complete = soonest(cards, size)
    return overdue_from_soonest(
        BANK, decks=decks, soonest=window, complete=complete, now=NOW, exclude=exclude
    )


def test_the_most_overdue_card_of_the_window_is_chosen() -> None:
    assert from_soonest({"b2": -3, "a1": -1, "c1": 2, "a2": 5}, size=2) == "b2"


def test_a_card_outside_the_selected_decks_is_skipped() -> None:
    assert from_soonest({"b2": -3, "a1": -1, "c1": 2, "a2": 5}, size=3, decks=("a",)) == "a1"
    assert from_soonest({"b2": -3, "a1": -1}, size=3, exclude=frozenset({"b2"})) == "a1"


def test_nothing_due_in_the_window_leaves_the_choice_to_the_full_inputs() -> None:
    assert from_soonest({"a1": 1, "b1": 2, "c1": 3}, size=2) is None
    assert from_soonest({}, size=2) is None


def test_a_tie_goes_to_bank_order_as_in_choose_question() -> None:
    # b1 and a1 are due at the same instant: the window holds both (ties included).
    assert soonest({"b1": -1, "a1": -1, "c1": 2}, size=1)[0] == (
        ("b1", NOW - timedelta(days=1)),
        ("a1", NOW - timedelta(days=1)),
    )
    assert from_soonest({"b1": -1, "a1": -1, "c1": 2}, size=1) == "a1"


@pytest.mark.parametrize("seed", range(200))
def test_whenever_the_window_decides_it_agrees_with_choose_question(seed: int) -> None:
    rng = random.Random(seed)
    ids = [q.id for d in BANK.decks for q in d.questions]
    cards = {q: float(rng.randint(-3, 3)) for q in rng.sample(ids, rng.randint(0, len(ids)))}
    decks = tuple(sorted(rng.sample(ALL, rng.randint(1, 3))))
    exclude = frozenset(rng.sample(ids, rng.randint(0, 2)))
    size = rng.randint(1, 4)
    decided = from_soonest(cards, size, decks=decks, exclude=exclude)
    expected = choose({q: card(d) for q, d in cards.items()}, decks=decks, exclude=exclude)
    if decided is not None:
        assert decided == expected
    if soonest(cards, size)[1]:  # a complete window with a due card always decides
        due_in_pool = [
            q
            for q, d in cards.items()
            if d <= 0 and q not in exclude and BANK.deck_of(q) and BANK.deck_of(q).id in decks  # type: ignore[union-attr]
        ]
        assert (decided is not None) == bool(due_in_pool)
