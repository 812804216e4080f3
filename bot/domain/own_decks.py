"""Decks people upload, as the rest of the bot sees them: ids in one namespace with the
built-in bank's, and what a new version changes.

Cards, deliveries, reviews and quizzes key a question by one string (80 characters).
An own deck's question is ``u<deck id>-<its id in the file>`` and the deck itself
``u<deck id>``: the deck's number is an internal id (never a user-written string), a
new version of the deck keeps the id of every question whose id in the file is
unchanged (and so its progress), and the deck a question belongs to is read off its
id without a query. Built-in ids never have this shape (``tests/domain`` checks the
bank).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import TypeAdapter

from bot.domain.content import Deck, Question, Source

MAX_ID_LENGTH = 80
"""Question ids are stored in String(80) columns (cards, deliveries, reviews)."""

_DECK_KEY = re.compile(r"u([1-9][0-9]{0,17})")
_QUESTION_KEY = re.compile(r"u([1-9][0-9]{0,17})-(.+)", re.DOTALL)

OWN_SOURCE = Source(name="Uploaded deck", attribution="uploaded by a person using the bot")


def deck_key(deck_id: int) -> str:
    """The deck id the bank, chat settings and callback data use for own deck ``deck_id``."""
    return f"u{deck_id}"


def deck_id_of_key(key: str) -> int | None:
    """The own deck's number of a deck id (``u12`` → 12); None for a built-in deck id."""
    match = _DECK_KEY.fullmatch(key)
    return int(match.group(1)) if match else None


def question_key(deck_id: int, local_id: str) -> str:
    """The bank-wide id of question ``local_id`` of own deck ``deck_id``.

    An id too long for the 80-character columns keeps a readable prefix and gets a
    stable hash of the whole id, so it stays the same from one version to the next.
    """
    prefix = f"u{deck_id}-"
    key = prefix + local_id
    if len(key) <= MAX_ID_LENGTH:
        return key
    digest = hashlib.sha256(local_id.encode()).hexdigest()[:12]
    room = MAX_ID_LENGTH - len(prefix) - len(digest) - 1
    return f"{prefix}{local_id[:room].rstrip('-')}-{digest}"


def deck_id_of_question(question_id: str) -> int | None:
    """The own deck a bank-wide question id belongs to; None for a built-in question."""
    if not question_id.startswith("u"):
        return None
    match = _QUESTION_KEY.fullmatch(question_id)
    return int(match.group(1)) if match else None


def own_deck_ids(keys: Iterable[str]) -> set[int]:
    """The own decks among deck ids (chat settings), by number."""
    found: set[int] = set()
    for key in keys:
        if key.startswith("u"):
            deck_id = deck_id_of_key(key)
            if deck_id is not None:
                found.add(deck_id)
    return found


def decks_of_questions(question_ids: Iterable[str]) -> set[int]:
    """The own decks these bank-wide question ids belong to."""
    found: set[int] = set()
    for question_id in question_ids:
        deck_id = deck_id_of_question(question_id)
        if deck_id is not None:
            found.add(deck_id)
    return found


_QUESTIONS: TypeAdapter[tuple[Question, ...]] = TypeAdapter(tuple[Question, ...])


def encode_questions(questions: Sequence[Question]) -> str:
    """A deck's questions as the JSON document storage keeps (ids as in the file)."""
    return json.dumps(
        [question.model_dump(exclude_defaults=True) for question in questions],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode_questions(document: str, *, deck_id: int | None = None) -> tuple[Question, ...]:
    """The questions of a stored document, validated again (pydantic-core, a few
    microseconds a question); with ``deck_id``, under their bank-wide ids."""
    if deck_id is None:
        return _QUESTIONS.validate_json(document)
    items = json.loads(document)
    for item in items:
        item["id"] = question_key(deck_id, item["id"])
    return _QUESTIONS.validate_python(items)


def as_bank_deck(deck_id: int, title: str, questions: Sequence[Question]) -> Deck:
    """An own deck as a bank :class:`Deck` (``questions`` already under their bank-wide
    ids: :func:`decode_questions` with ``deck_id``), with the uploaded title.

    Built without validating the deck again (``model_construct``): its questions were.
    """
    return Deck.model_construct(
        id=deck_key(deck_id),
        title=title,
        description=title,
        source=OWN_SOURCE,
        notes=None,
        questions=tuple(questions),
    )


def namespaced(deck_id: int, questions: Sequence[Question]) -> tuple[Question, ...]:
    """``questions`` (ids as in the file) under their bank-wide ids."""
    return tuple(
        question.model_copy(update={"id": question_key(deck_id, question.id)})
        for question in questions
    )


@dataclass(frozen=True)
class DeckChanges:
    """What a new version of a deck changes, by question id in the file."""

    new: int
    changed: int
    removed: int
    unchanged: int


def _same(a: Question, b: Question) -> bool:
    return (a.question, a.answer, a.tags, a.difficulty) == (
        b.question,
        b.answer,
        b.tags,
        b.difficulty,
    )


def compare_versions(old: Mapping[str, Question], new: Sequence[Question]) -> DeckChanges:
    """Counts for "12 new, 3 changed, 2 removed": ``old`` by id in the file, ``new`` in order."""
    new_ids = {question.id for question in new}
    added = changed = unchanged = 0
    for question in new:
        before = old.get(question.id)
        if before is None:
            added += 1
        elif _same(before, question):
            unchanged += 1
        else:
            changed += 1
    removed = sum(1 for question_id in old if question_id not in new_ids)
    return DeckChanges(new=added, changed=changed, removed=removed, unchanged=unchanged)


def deck_weight(deck: Deck) -> int:
    """A deck's size in characters, what the deck cache bounds."""
    return sum(len(q.question) + len(q.answer) + 64 for q in deck.questions) + len(deck.title)
