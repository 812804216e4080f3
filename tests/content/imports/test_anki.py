"""Anki packages, current and older formats, read with our own reader."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from bot.content.imports import DeckUpload, parse_deck_upload, problems_message
from bot.domain.content import Question
from tests.content.imports.anki_packages import (
    NOTES,
    Note,
    collection,
    current_package,
    old_package,
    schema18,
)

EXPECTED = (
    Question(
        id="attention-basics",
        question="What is **attention**?",
        answer="Weights over tokens:\n- query \\& key\n- \\(\\mathrm{softmax}(QK^T)\\)",
        tags=("nlp-transformers", "attention"),
    ),
    Question(
        # The guid is not a slug: its hash, stable across exports.
        id="a-6f44d5772a7e",
        question="[…] is the capital of […]",
        answer="Paris is the capital of France\n\nSince *508*.",
        tags=("geography",),
    ),
    Question(id="which-animal", question="Which animal?", answer="A cat"),
)


@pytest.mark.parametrize(
    "package",
    [
        pytest.param(old_package, id="collection.anki2"),
        pytest.param(current_package, id="collection.anki21b"),
        pytest.param(lambda: current_package(schema18(collection())), id="anki21b-schema18"),
    ],
)
def test_every_package_format_gives_the_same_deck(package: object) -> None:
    assert callable(package)
    upload = parse_deck_upload("geo.apkg", package())
    assert upload == DeckUpload(deck=upload.deck, problems=(), refusal=None, dropped_media=2), (
        problems_message(upload)
    )
    assert upload.deck is not None
    assert upload.deck.title == "Geography"  # the Anki deck's own name, last part
    assert upload.deck.questions == EXPECTED


def test_the_older_anki21_name_is_read_too() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("collection.anki21", collection())
    upload = parse_deck_upload("geo.apkg", buffer.getvalue(), title="Capitals")
    assert upload.deck is not None
    assert upload.deck.title == "Capitals"  # the title given wins
    assert upload.deck.questions == EXPECTED


def _note_ids(image: bytes) -> dict[str, int]:
    with closing(sqlite3.connect(":memory:")) as db:
        db.deserialize(image)
        return {guid: note_id for note_id, guid in db.execute("SELECT id, guid FROM notes")}


def test_problems_name_the_note_and_field() -> None:
    notes = [
        *NOTES,
        Note(("Empty back?", "<img src='only.png'>"), guid="empty-back"),
        Note(("No cloze here", ""), guid="no-cloze", cloze=True),
        Note(("", "an answer"), guid="no-front"),
    ]
    image = collection(notes)
    ids = _note_ids(image)
    upload = parse_deck_upload("geo.apkg", old_package(image))
    assert upload.deck is None
    assert upload.problems == (
        f"note {ids['empty-back']}, field 'Back': answer must not be empty",
        f"note {ids['no-cloze']}, field 'Text': a cloze note without a cloze deletion "
        "({{c1::…}})",
        f"note {ids['no-front']}, field 'Front': question must not be empty",
    )
    assert upload.dropped_media == 3


def test_a_too_long_field_is_reported_with_its_note() -> None:
    image = collection([Note(("Long?", "x" * 20_001), guid="long")])
    upload = parse_deck_upload("long.apkg", old_package(image, media={}))
    assert upload.problems == (
        f"note {_note_ids(image)['long']}, field 'Back': the answer is 20,001 characters "
        "long; at most 20,000 are allowed",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 not really", "This is not an Anki package"),
        (b"just text", "This is not an Anki package"),
    ],
)
def test_broken_packages_are_refused_kindly(data: bytes, message: str) -> None:
    upload = parse_deck_upload("deck.apkg", data)
    assert upload.refusal is not None
    assert upload.refusal.startswith(message)


def test_a_package_without_a_collection_or_with_a_broken_one() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("media", "{}")
    upload = parse_deck_upload("deck.apkg", buffer.getvalue())
    assert upload.refusal is not None
    assert "has no Anki collection" in upload.refusal

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("collection.anki2", b"not sqlite at all" * 100)
    upload = parse_deck_upload("deck.apkg", buffer.getvalue())
    assert upload.refusal is not None
    assert upload.refusal.startswith("The collection inside this Anki package cannot be read")

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("collection.anki21b", b"not zstd")
    upload = parse_deck_upload("deck.apkg", buffer.getvalue())
    assert upload.refusal is not None
    assert upload.refusal.startswith("The collection in this Anki package is damaged")
