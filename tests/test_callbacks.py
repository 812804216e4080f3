"""Callback data: round trips, the 64-byte limit, and forged or stale payloads."""

from __future__ import annotations

import pytest

from bot import callbacks as cb

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
    cb.SetReminder(21, 30),
    cb.SetReminder(0, 0),
    cb.SetReminder(None),
    cb.TypeAnswer(42),
    cb.KeepTyped(True),
    cb.KeepTyped(False),
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
        "v1:" + "r" * 70,
    ],
)
def test_forged_or_stale_data_decodes_to_none(data: str | None) -> None:
    assert cb.decode(data) is None


def test_encode_refuses_oversized_payload() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        cb.encode(cb.ToggleDeck("x" * 70))
