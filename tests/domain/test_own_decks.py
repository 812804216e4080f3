"""Own decks in the bank's namespace (bot/domain/own_decks.py), the extended bank, and
the bounded deck cache (bot/content/deck_cache.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.deck_cache import DeckCache
from bot.content.loader import load_bank
from bot.domain.content import Question
from bot.domain.own_decks import (
    DeckChanges,
    as_bank_deck,
    compare_versions,
    deck_id_of_key,
    deck_id_of_question,
    deck_key,
    decks_of_questions,
    decode_questions,
    encode_questions,
    namespaced,
    own_deck_ids,
    question_key,
)
from tests.support.bot_harness import small_bank

CONTENT = Path(__file__).resolve().parents[2] / "content"


def q(question_id: str, answer: str = "That.") -> Question:
    return Question(id=question_id, question="What?", answer=answer)


def test_ids_are_namespaced_and_read_back() -> None:
    assert deck_key(12) == "u12"
    assert deck_id_of_key("u12") == 12
    assert [deck_id_of_key(k) for k in ("ml", "u", "u0", "u12-x", "unsupervised")] == [None] * 5
    assert question_key(12, "what-is-x") == "u12-what-is-x"
    assert deck_id_of_question("u12-what-is-x") == 12
    assert deck_id_of_question("unsupervised-learning") is None
    assert own_deck_ids(["ml", "u3", "u4", "nlp"]) == {3, 4}
    assert decks_of_questions(["u3-a", "u3-b", "bias", "u9-c"]) == {3, 9}


def test_a_long_id_fits_the_columns_and_is_stable() -> None:
    long_id = "x" * 79
    key = question_key(123456, long_id)
    assert len(key) == 80
    assert key.startswith("u123456-xxx")
    assert key == question_key(123456, long_id)
    assert key != question_key(123456, "x" * 78 + "y")
    assert deck_id_of_question(key) == 123456


def test_no_built_in_id_looks_like_an_own_one() -> None:
    bank = load_bank(CONTENT)
    assert not own_deck_ids(bank.deck_ids)
    assert not decks_of_questions(question.id for question in bank)


def test_the_stored_document_round_trips_and_namespaces() -> None:
    questions = [
        Question(
            id="a", question="Q <b>?</b>", answer="\\(x^2\\) é", tags=("t", "u"), difficulty="hard"
        ),
        Question(id="x" * 79, question="Q?", answer="A."),
    ]
    document = encode_questions(questions)
    assert decode_questions(document) == tuple(questions)
    bank_ids = [question.id for question in decode_questions(document, deck_id=3)]
    assert bank_ids == ["u3-a", question_key(3, "x" * 79)]
    assert [q.id for q in namespaced(3, questions)] == bank_ids


def test_what_a_new_version_changes() -> None:
    old = {"a": q("a"), "b": q("b"), "c": q("c")}
    assert compare_versions(old, [q("a"), q("b", "Other."), q("d"), q("e")]) == DeckChanges(
        new=2, changed=1, removed=1, unchanged=1
    )


def test_the_extended_bank_has_both_and_remembers_its_base() -> None:
    base = small_bank()
    own = as_bank_deck(7, "Mine", namespaced(7, [q("a"), q("b")]))
    bank = base.extended([own], key=("u7", 1))
    assert bank.builtin is base
    assert base.builtin is base
    assert bank.deck_ids == (*base.deck_ids, "u7")
    assert len(bank) == len(base) + 2
    question = bank.question("u7-a")
    assert question is not None
    assert question.answer == "That."
    deck = bank.deck_of("u7-b")
    assert deck is not None
    assert deck.title == "Mine"
    assert bank.question("bias-variance") == base.question("bias-variance")
    assert base.question("u7-a") is None  # the base is untouched
    assert bank.deck_counts(["u7-a", "u7-b", "bias-variance", "gone"]) == {"u7": 2, "ml": 1}
    assert base.extended([], key=()) is base
    with pytest.raises(ValueError, match="duplicate"):
        base.extended([own, own], key=("twice",))


def test_the_deck_cache_is_bounded_by_decks_and_characters() -> None:
    cache = DeckCache(max_decks=3, max_characters=10_000)
    for deck_id in range(1, 6):
        cache.put(deck_id, 1, as_bank_deck(deck_id, "D", [q("a")]))
    assert len(cache) == 3
    assert cache.get(1, 1) is None
    assert cache.get(5, 1) is not None
    assert cache.get(5, 2) is None  # another version is not served
    cache.get(3, 1)  # used: 4 is now the least recently used
    cache.put(6, 1, as_bank_deck(6, "D", [q("a")]))
    assert cache.has(3)
    assert not cache.has(4)
    heavy = as_bank_deck(7, "Heavy", [q(f"q{i}", "x" * 1_000) for i in range(8)])
    cache.put(7, 1, heavy)
    assert cache.characters <= 10_000
    assert cache.has(7)
    assert not cache.has(5)
    assert len(cache) == 3
    cache.put(9, 1, as_bank_deck(9, "Heavy", [q(f"q{i}", "x" * 1_000) for i in range(2)]))
    assert cache.characters <= 10_000
    assert cache.has(9)
    assert not cache.has(3)
    cache.put(8, 1, as_bank_deck(8, "Huge", [q(f"q{i}", "x" * 1_000) for i in range(20)]))
    assert not cache.has(8)
    assert cache.characters <= 10_000
    cache.put(7, 1, heavy)
    cache.put(7, 2, heavy)  # a new version replaces the old one
    assert cache.get(7, 1) is None
    assert cache.get(7, 2) is heavy
    cache.drop(7)
    assert not cache.has(7)
