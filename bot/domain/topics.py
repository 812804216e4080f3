"""Quiz topics: a deck or a tag, matched forgivingly from what a person typed."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from bot.domain.content import Bank

_NOISE = re.compile(r"[\s_\-#./]+")

# The longest deck id or tag a button carries as it is: "v1:qp:d:" + 50 characters
# stays within Telegram's 64 bytes of callback data. `content check` rejects
# longer ones; a bank that has them anyway gets buttons with ``topic_ref``'s hash.
TOPIC_KEY_MAX = 50
REF_HEX_DIGITS = 20


def topic_ref(key: str) -> str:
    """What a button carries for a deck id or tag: the key itself when it fits,
    else ``_`` and 20 hex digits of its SHA-256 (``_`` is never in a slug, so the
    two forms cannot be mistaken for each other; 80 bits make a clash in one bank
    out of the question). Stable across processes and releases.
    """
    if len(key) <= TOPIC_KEY_MAX:
        return key
    return "_" + hashlib.sha256(key.encode()).hexdigest()[:REF_HEX_DIGITS]


@dataclass(frozen=True)
class Topic:
    """A set of questions to quiz on: a whole deck, or every question with a tag."""

    kind: str  # deck | tag
    key: str  # deck id or tag
    title: str  # what people see: the deck's title, or "#tag"

    def question_ids(self, bank: Bank) -> list[str]:
        """The topic's questions in bank order."""
        if self.kind == "deck":
            deck = bank.deck(self.key)
            return [q.id for q in deck.questions] if deck else []
        return [q.id for q in bank if self.key in q.tags]

    def encoded(self) -> str:
        return f"{self.kind[0]}:{self.key}"


def long_topic_keys(bank: Bank) -> list[str]:
    """Deck ids and tags longer than ``TOPIC_KEY_MAX``, sorted: their buttons carry a hash."""
    decks = {deck.id for deck in bank.decks if len(deck.id) > TOPIC_KEY_MAX}
    tags = {tag for question in bank for tag in question.tags if len(tag) > TOPIC_KEY_MAX}
    return sorted(decks | tags)


def _squash(text: str) -> str:
    return _NOISE.sub("", text.lower())


def common_tags(bank: Bank, limit: int = 8) -> list[str]:
    """The most used tags, most used first (ties alphabetically)."""
    counts = Counter(tag for question in bank for tag in question.tags)
    return [tag for tag, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def all_topics(bank: Bank) -> list[Topic]:
    decks = [Topic("deck", deck.id, deck.title) for deck in bank.decks]
    tags = sorted({tag for question in bank for tag in question.tags})
    return decks + [Topic("tag", tag, f"#{tag}") for tag in tags]


def topic_from_key(bank: Bank, encoded: str) -> Topic | None:
    """The topic behind a button's ``d:<ref>`` or ``t:<ref>``, if it still exists.

    ``ref`` is a deck id or tag, or for a long one its ``topic_ref``.
    """
    kind, _, ref = encoded.partition(":")
    for topic in all_topics(bank):
        if topic.kind[0] == kind and topic_ref(topic.key) == ref:
            return topic
    return None


@dataclass(frozen=True)
class TopicMatch:
    topic: Topic | None
    suggestions: tuple[str, ...] = ()


def match_topic(bank: Bank, text: str) -> TopicMatch:
    """Match ``nlp``, ``NLP``, ``machine learning``, ``#attention``, ``atention``...

    Decks win over tags of the same name; exact (case/dash-insensitive) matches win
    over close misspellings; with no match, up to three suggestions.
    """
    wanted = _squash(text)
    if not wanted:
        return TopicMatch(None, tuple(t.key for t in all_topics(bank)[:3]))
    topics = all_topics(bank)
    names: dict[str, Topic] = {}
    for topic in topics:
        for name in (topic.key, topic.title):
            names.setdefault(_squash(name), topic)
    if wanted in names:
        return TopicMatch(names[wanted])
    prefixed = {topic.key: topic for name, topic in names.items() if name.startswith(wanted)}
    if len(wanted) >= 3 and len(prefixed) == 1:
        return TopicMatch(next(iter(prefixed.values())))
    close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.75)
    if len(close) >= 1 and (
        len(close) == 1 or _ratio(wanted, close[0]) - _ratio(wanted, close[1]) > 0.05
    ):
        return TopicMatch(names[close[0]])
    loose = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.5)
    return TopicMatch(None, tuple(dict.fromkeys(names[name].key for name in loose)))


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def topic_bank(bank: Bank, topic: Topic) -> Bank:
    """A bank of just the topic's questions (one deck), for selection on a tag."""
    ids = set(topic.question_ids(bank))
    if topic.kind == "deck":
        deck = bank.deck(topic.key)
        return Bank((deck,)) if deck is not None else Bank(())
    template = bank.decks[0]
    questions = tuple(q for q in bank if q.id in ids)
    if not questions:
        return Bank(())
    return Bank(
        (template.model_copy(update={"id": f"tag-{topic.key}"[:80], "questions": questions}),)
    )
