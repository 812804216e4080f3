"""Anki packages made in the tests (never downloaded): genanki writes the collection, and
we pack it the ways Anki does.

- ``old_package``: genanki's own format, ``collection.anki2`` (schema 11, note types in
  ``col.models``), with a ``media`` map and the media files;
- ``current_package``: the same collection compressed with zstd as ``collection.anki21b``,
  beside the "please update" ``collection.anki2`` Anki adds;
- ``schema18_package``: as current, with the note types and decks moved to the
  ``notetypes``/``fields``/``decks`` tables as Anki 2.1.50+ keeps them.
"""

from __future__ import annotations

import io
import itertools
import json
import sqlite3
import zipfile
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass

import genanki
import zstandard

TIMESTAMP = 1_700_000_000.0
BASIC = genanki.Model(
    1_607_392_319,
    "Basic",
    fields=[{"name": "Front"}, {"name": "Back"}],
    templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{FrontSide}}<hr>{{Back}}"}],
)
CLOZE = genanki.Model(
    1_122_529_321,
    "Cloze",
    fields=[{"name": "Text"}, {"name": "Back Extra"}],
    templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}", "afmt": "{{cloze:Text}}"}],
    model_type=genanki.Model.CLOZE,
)


@dataclass(frozen=True)
class Note:
    fields: Sequence[str]
    guid: str
    tags: Sequence[str] = ()
    cloze: bool = False


# A Basic note with formatting, a list and a formula; a cloze note with a hint and a
# Back Extra; a note with an image and a sound.
NOTES = (
    Note(
        (
            "What is <b>attention</b>?",
            "<div>Weights over tokens:</div><ul><li>query &amp; key</li>"
            "<li>\\(\\mathrm{softmax}(QK^T)\\)</li></ul>",
        ),
        guid="attention-basics",
        tags=("NLP::Transformers", "attention"),
    ),
    Note(
        ("{{c1::Paris}} is the capital of {{c2::France::country}}", "Since <i>508</i>."),
        guid="Ab1!x%y",
        tags=("geography",),
        cloze=True,
    ),
    Note(
        ('Which animal? <img src="cat.jpg">', "A cat [sound:meow.mp3]"),
        guid="which-animal",
    ),
)
MEDIA = {"cat.jpg": b"\xff\xd8\xff jpeg", "meow.mp3": b"ID3 mp3"}


def collection(notes: Sequence[Note] = NOTES, deck_name: str = "Languages::Geography") -> bytes:
    """The SQLite image genanki writes for these notes."""
    deck = genanki.Deck(2_059_400_110, deck_name)
    for note in notes:
        deck.add_note(
            genanki.Note(
                model=CLOZE if note.cloze else BASIC,
                fields=list(note.fields),
                guid=note.guid,
                tags=list(note.tags),
            )
        )
    with closing(sqlite3.connect(":memory:")) as db:
        genanki.Package(deck).write_to_db(
            db.cursor(), TIMESTAMP, itertools.count(int(TIMESTAMP * 1000))
        )
        db.commit()
        return db.serialize()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _media_entries(media: dict[str, bytes]) -> dict[str, bytes]:
    names = {str(i): name for i, name in enumerate(media)}
    return {"media": json.dumps(names).encode(), **{i: media[n] for i, n in names.items()}}


def old_package(image: bytes | None = None, media: dict[str, bytes] = MEDIA) -> bytes:
    return _zip({"collection.anki2": image or collection(), **_media_entries(media)})


def current_package(image: bytes | None = None) -> bytes:
    compressed = zstandard.ZstdCompressor().compress(image or collection())
    placeholder = collection(
        [Note(("Please update to the latest Anki version.", "."), guid="update-anki")],
        deck_name="Default",
    )
    # Anki's media map is zstd-compressed protobuf here; we never read it.
    return _zip(
        {
            "collection.anki2": placeholder,
            "collection.anki21b": compressed,
            "media": zstandard.ZstdCompressor().compress(b""),
            "0": MEDIA["cat.jpg"],
            "1": MEDIA["meow.mp3"],
        }
    )


def schema18(image: bytes) -> bytes:
    """The collection with note types and decks in tables, ``col.models`` emptied."""
    with closing(sqlite3.connect(":memory:")) as db:
        db.deserialize(image)
        models = json.loads(db.execute("SELECT models FROM col").fetchone()[0])
        decks = json.loads(db.execute("SELECT decks FROM col").fetchone()[0])
        db.executescript(
            "CREATE TABLE notetypes (id integer PRIMARY KEY, name text, mtime_secs integer,"
            " usn integer, config blob);"
            "CREATE TABLE fields (ntid integer, ord integer, name text, config blob);"
            "CREATE TABLE decks (id integer PRIMARY KEY, name text, mtime_secs integer,"
            " usn integer, common blob, kind blob);"
            "UPDATE col SET models = '{}', decks = '{}';"
        )
        for model_id, model in models.items():
            # NotetypeConfig: field 3 (css, a string) first, then field 1 (kind) if cloze.
            config = b"\x1a\x03css" + (b"\x08\x01" if model["type"] == 1 else b"")
            db.execute(
                "INSERT INTO notetypes VALUES (?, ?, 0, 0, ?)",
                (int(model_id), model["name"], config),
            )
            for field in model["flds"]:
                db.execute(
                    "INSERT INTO fields VALUES (?, ?, ?, x'')",
                    (int(model_id), field["ord"], field["name"]),
                )
        for deck_id, deck in decks.items():
            name = deck["name"].replace("::", "\x1f")
            db.execute("INSERT INTO decks VALUES (?, ?, 0, 0, x'', x'')", (int(deck_id), name))
        db.commit()
        return db.serialize()
