"""Callback data: round trips, the 64-byte limit, and forged or stale payloads."""

from __future__ import annotations

import pytest

from bot.domain.content import Bank, Deck, Question, Source
from bot.domain.topics import topic_from_key, topic_ref
from bot.telegram import callbacks as cb

ACTIONS: list[cb.Action] = [
    cb.Reveal(1),
    cb.Grade(123456789012, 4),
    cb.Skip(0),
    cb.FirstQuestion(),
    cb.NextQuestion(),
    cb.OpenSettings("topics"),
    cb.SetTime(7, 30),
    cb.SetDays("weekdays"),
    cb.ToggleDay(6),
    cb.ToggleDeck("machine-learning"),
    cb.SetPaused(True),
    cb.Forget(False),
    cb.Noop(),
    cb.QuizPick("d", "nlp"),
    cb.QuizPick("t", "neural-networks"),
    cb.QuizStop(12),
    cb.QuizNext(7),
    cb.OpenSettings("reminder"),
    cb.WeakQuiz("t", "attention"),
    cb.WeakQuiz("d", "machine-learning"),
    cb.WeakQuiz("d", "x" * 50),
    cb.QuizPick("t", "y" * 50),
    cb.ToggleDeck("z" * 50),
    cb.SetReminder(21, 30),
    cb.SetReminder(0, 0),
    cb.SetReminder(None),
    cb.TypeAnswer(42),
    cb.KeepTyped(True),
    cb.KeepTyped(False),
    cb.ShareDeck(False, 12),
    cb.DeckMenu(3),
    cb.RemoveAddedDeck(4),
    cb.ShareDeck(True, 123456789012),
    cb.AddSharedDeck("Ab_-0123456789abcdefXYZ9"),
    cb.AddSharedDeck("x" * 40),
    cb.DownloadDecks(),
    cb.DownloadDeck("apkg", "machine-learning"),
    cb.DownloadDeck("yaml", "u12"),
    cb.GroupDeck("nlp"),
    cb.GroupDeck("u7"),
]


@pytest.mark.parametrize("action", ACTIONS, ids=repr)
def test_round_trip_and_size(action: cb.Action) -> None:
    data = cb.encode(action)
    assert data.startswith("v1:")
    assert len(data.encode()) <= 64
    assert cb.decode(data) == action


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "r:1",  # no version
        "v0:r:1",  # an older version
        "v1:r:",
        "v1:r:-1",
        "v1:r:01",
        "v1:g:5:0",
        "v1:g:5:9",
        "v1:t:2460",
        "v1:t:0960",
        "v1:w:7",
        "v1:tp:Bad Deck",
        "v1:s:admin",
        "v1:zz",
        "v1:qp:x:nlp",
        "v1:qs:",
        "v1:wq:x:nlp",
        "v1:wq:t:Bad Tag",
        "v1:rm:2400",
        "v1:rm:on",
        "v1:r:1:extra",
        "v1:sh:x:1",
        "v1:sh:s:deck",
        "v1:ad:short",  # a link code has at least 16 characters
        "v1:ad:has space in it ok",
        "v1:ad:<b>injected-markup</b>",
        "v1:dx:z:nlp",
        "v1:dx:a:Bad Deck",
        "v1:gd:Bad Deck",
        "v1:" + "r" * 70,
    ],
)
def test_forged_or_stale_data_decodes_to_none(data: str | None) -> None:
    assert cb.decode(data) is None


def test_encode_refuses_oversized_payload() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        cb.encode(cb.Reveal(10**70))


LONG_DECK = "a-deck-id-far-longer-than-any-button-could-carry-" + "x" * 31  # 80 characters
LONG_TAG = "a-tag-one-character-too-long-" + "t" * 22  # 51 characters


def long_bank() -> Bank:
    source = Source(name="Tests", attribution="Written for the tests.")
    question = Question(id="q", question="Q?", answer="A.", tags=(LONG_TAG, "short"))
    other = Question(id="r", question="R?", answer="B.", tags=("x" * 50,))
    return Bank(
        (
            Deck(
                id=LONG_DECK, title="Long", description="D.", source=source, questions=(question,)
            ),
            Deck(id="short", title="Short", description="D.", source=source, questions=(other,)),
        )
    )


@pytest.mark.parametrize(
    ("action", "kind", "key"),
    [
        (cb.WeakQuiz("d", LONG_DECK), "d", LONG_DECK),
        (cb.WeakQuiz("t", LONG_TAG), "t", LONG_TAG),
        (cb.QuizPick("d", LONG_DECK), "d", LONG_DECK),
        (cb.QuizPick("t", LONG_TAG), "t", LONG_TAG),
    ],
    ids=repr,
)
def test_a_long_topic_id_travels_as_a_hash_and_finds_its_topic(
    action: cb.WeakQuiz | cb.QuizPick, kind: str, key: str
) -> None:
    data = cb.encode(action)
    assert len(data.encode()) <= cb.MAX_BYTES
    decoded = cb.decode(data)
    assert isinstance(decoded, type(action))
    assert decoded.key == topic_ref(key) != key
    topic = topic_from_key(long_bank(), f"{decoded.kind}:{decoded.key}")
    assert topic is not None
    assert (topic.kind[0], topic.key) == (kind, key)


def test_a_long_deck_toggle_travels_as_a_hash() -> None:
    decoded = cb.decode(cb.encode(cb.ToggleDeck(LONG_DECK)))
    assert decoded == cb.ToggleDeck(topic_ref(LONG_DECK))


def test_topic_refs_keep_short_keys_and_hash_long_ones() -> None:
    assert topic_ref("x" * 50) == "x" * 50
    ref = topic_ref(LONG_DECK)
    # Stable (a button sent by one process works on another, and after a restart).
    # "_" and the first 20 hex digits of the id's SHA-256.
    assert ref == "_32d98088781172182a3a"
    assert topic_ref(LONG_DECK + "y") != ref
    # A short slug never looks like a hash: slugs have no "_".
    assert topic_from_key(long_bank(), f"t:{'x' * 50}") is not None
    assert topic_from_key(long_bank(), f"d:{ref[:-1]}0") is None
