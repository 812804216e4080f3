"""The question bank: decks of questions with model answers.

These pydantic models are both the schema of the YAML files in ``content/``
(``extra="forbid"`` makes unknown keys an error) and the immutable objects the
rest of the bot works with. ``Bank`` indexes every deck and question by id.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=80)]
Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[Difficulty, ...] = ("easy", "medium", "hard")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Source(_Frozen):
    """Where a deck's material comes from; shown to users with the deck."""

    name: str = Field(min_length=1)
    url: str | None = None
    attribution: str = Field(min_length=1)


class Question(_Frozen):
    """One interview question and its model answer (a small Markdown subset)."""

    id: Slug
    question: str
    answer: str
    tags: tuple[Slug, ...] = ()
    difficulty: Difficulty | None = None

    @field_validator("question", "answer")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class DeckHeader(_Frozen):
    """The ``deck:`` mapping of a YAML file: everything but the questions."""

    id: Slug
    title: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1)
    source: Source
    notes: str | None = None


class Deck(DeckHeader):
    """A themed list of questions from one source (one YAML file)."""

    questions: tuple[Question, ...] = Field(min_length=1)


class DeckFile(_Frozen):
    """The top level of one ``content/*.yaml`` file."""

    deck: DeckHeader
    questions: tuple[Question, ...] = Field(min_length=1)

    def to_deck(self) -> Deck:
        return Deck(**self.deck.model_dump(), questions=self.questions)


DeckFile.model_rebuild()


@dataclass(frozen=True, eq=False)
class Bank:
    """All decks, in a stable order, with id lookups.

    Compared and hashed by identity: a process loads one bank, and caches of
    rendered questions are keyed by it.

    Deck order is the order given (the loader sorts by file name); question
    order inside a deck is file order. Both orders matter: new questions are
    introduced round-robin across decks in this order.
    """

    decks: tuple[Deck, ...]
    _questions: dict[str, Question] = field(init=False, repr=False, compare=False)
    _deck_of: dict[str, Deck] = field(init=False, repr=False, compare=False)
    _deck_id_of: dict[str, str] = field(init=False, repr=False, compare=False)
    _decks: dict[str, Deck] = field(init=False, repr=False, compare=False)
    _hash: int = field(init=False, repr=False, compare=False)
    _builtin: Bank | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        questions: dict[str, Question] = {}
        deck_of: dict[str, Deck] = {}
        for deck in self.decks:
            for question in deck.questions:
                if question.id in questions:
                    raise ValueError(f"duplicate question id {question.id!r}")
                questions[question.id] = question
                deck_of[question.id] = deck
        object.__setattr__(self, "_questions", questions)
        object.__setattr__(self, "_deck_of", deck_of)
        object.__setattr__(self, "_deck_id_of", {q: deck.id for q, deck in deck_of.items()})
        object.__setattr__(self, "_decks", {deck.id: deck for deck in self.decks})
        object.__setattr__(self, "_hash", hash(self.decks))

    @property
    def builtin(self) -> Bank:
        """The bank this one extends (:meth:`extended`), or itself."""
        return self._builtin or self

    def extended(self, decks: Sequence[Deck], *, key: Hashable) -> Bank:
        """The built-in bank (:attr:`builtin`) with ``decks`` after its own (people's
        decks: bot/domain/own_decks.py); an extended bank's own extra decks are not kept.

        Built in time proportional to the added decks: the indexes of this bank are
        copied as dicts (in C), not rebuilt, and the hash is ``key``'s (what identifies the
        added decks' versions), not the questions'. So a chat with decks of its own gets its
        bank for a few microseconds. The result's :attr:`builtin` is this bank.
        """
        if not decks:
            return self
        base = self.builtin
        questions = dict(base._questions)
        deck_of = dict(base._deck_of)
        deck_id_of = dict(base._deck_id_of)
        for deck in decks:
            for question in deck.questions:
                if question.id in questions:
                    raise ValueError(f"duplicate question id {question.id!r}")
                questions[question.id] = question
                deck_of[question.id] = deck
                deck_id_of[question.id] = deck.id
        bank = object.__new__(Bank)
        set_ = object.__setattr__
        set_(bank, "decks", base.decks + tuple(decks))
        set_(bank, "_questions", questions)
        set_(bank, "_deck_of", deck_of)
        set_(bank, "_deck_id_of", deck_id_of)
        set_(bank, "_decks", base._decks | {deck.id: deck for deck in decks})
        set_(bank, "_hash", hash((base._hash, key)))
        set_(bank, "_builtin", base)
        return bank

    def __hash__(self) -> int:
        """Computed once: the bank keys memoised renderings (bot.study.questions.card_text),
        and hashing every question of it on each lookup cost more than the lookup saved."""
        return self._hash

    def __len__(self) -> int:
        return len(self._questions)

    def __iter__(self) -> Iterator[Question]:
        for deck in self.decks:
            yield from deck.questions

    @property
    def deck_ids(self) -> tuple[str, ...]:
        return tuple(deck.id for deck in self.decks)

    def deck(self, deck_id: str) -> Deck | None:
        return self._decks.get(deck_id)

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None if it was removed from the bank."""
        return self._questions.get(question_id)

    def deck_of(self, question_id: str) -> Deck | None:
        return self._deck_of.get(question_id)

    def deck_counts(self, question_ids: Iterable[str]) -> Counter[str]:
        """How many of these question ids each deck holds, by deck id (ids no longer in
        the bank are not counted).

        Counted in C (``Counter`` over a ``map`` of dict lookups): /stats counts the
        few hundred questions a person has seen in a year on every call.
        """
        counts: Counter[str | None] = Counter(map(self._deck_id_of.get, question_ids))
        counts.pop(None, None)
        return cast("Counter[str]", counts)

    def questions_in(self, deck_ids: Sequence[str]) -> list[Question]:
        return [q for deck in self.decks if deck.id in deck_ids for q in deck.questions]


_SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = 60) -> str:
    """A stable, readable id from text: lowercase ASCII words joined by dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _SLUG_STRIP.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug or "q"
