"""Broken files are normal: whatever the bytes, a deck, problems or a refusal, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content.imports import parse_deck_upload
from tests.content.imports.anki_packages import collection, current_package, old_package

REPO = Path(__file__).resolve().parents[3]
SEEDS = {
    "deck.yaml": (REPO / "content" / "machine-learning.yaml").read_bytes()[:4000],
    "deck.csv": b'question,answer,tags\nWhat is BPE?,"Byte pairs, merged",nlp\nA?,B,\n',
    "deck.apkg": old_package(),
    "new.apkg": current_package(),
}
_EDITS = st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255), st.sampled_from("sid")),
    min_size=1,
    max_size=12,
)


def _mutated(data: bytes, edits: list[tuple[float, int, str]]) -> bytes:
    out = bytearray(data)
    for where, value, kind in edits:
        position = int(where * len(out)) if out else 0
        if kind == "s" and out:
            out[position] = value
        elif kind == "i":
            out[position:position] = bytes([value])
        elif out:
            del out[position]
    return bytes(out)


@pytest.mark.parametrize("name", list(SEEDS))
@settings(max_examples=40, deadline=None)
@given(edits=_EDITS)
def test_mutated_files_never_crash(name: str, edits: list[tuple[float, int, str]]) -> None:
    upload = parse_deck_upload(name.replace("new", "deck"), _mutated(SEEDS[name], edits))
    assert (upload.deck is not None) + bool(upload.problems) + (upload.refusal is not None) == 1


@settings(max_examples=40, deadline=None)
@given(edits=_EDITS)
def test_a_mutated_collection_never_crashes(edits: list[tuple[float, int, str]]) -> None:
    """Damage inside the SQLite image, in a well-formed package."""
    image = _mutated(collection(), [(w, v, "s") for w, v, _ in edits])
    upload = parse_deck_upload("deck.apkg", old_package(image, media={}))
    assert (upload.deck is not None) + bool(upload.problems) + (upload.refusal is not None) == 1
