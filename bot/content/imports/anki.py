"""Anki decks (``.apkg``), read straight from the package: zipfile, zstandard, sqlite3.

Why not the official ``anki`` wheel: it is licensed AGPL-3.0, which would bind the bot
to the AGPL; it is large (a Rust backend and its dependencies, tens of megabytes) for a
job that needs four SQL queries; and it opens collections through its own storage
layer, which we could not bound against a hostile file. The package format is small
and stable, so we read it directly:

- the package is a zip file. Current Anki (2.1.50+) puts the collection in
  ``collection.anki21b``, an SQLite database compressed with zstd, and adds a
  ``collection.anki2`` that only says "please update Anki"; older versions write
  ``collection.anki21`` or ``collection.anki2`` uncompressed. We take the newest there.
- note types come from the ``col.models`` JSON (schema 11, older packages) or from the
  ``notetypes`` and ``fields`` tables (schema 18, current ones; the kind, normal or
  cloze, is field 1 of the protobuf ``config``).
- notes are rows of ``notes``: fields joined by ``\\x1f``, tags space-separated.

A "Basic"-like note gives the question and the answer from its first two fields; a
cloze note gives the question with ``[…]`` for each cloze and the full text as the
answer (with its "Back Extra" field after it). Question ids come from the note's
``guid``, which Anki keeps across edits and exports, so a re-exported deck keeps its
progress: the guid itself when it is a valid slug (the packages we write use our
question ids), else a hash of it.

Nothing here trusts the package: the zip's declared sizes are checked against the
unpacked limit before anything is read, every read is capped again (declared sizes can
lie), the zstd frame is refused if it declares more than the limit and is decompressed
as a stream with a cap, and the SQLite image is deserialized into memory (never
written to disk) and only read.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import zipfile
import zlib
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import IO

import zstandard

from bot.content.imports.anki_html import html_to_markdown, media_names
from bot.content.imports.checking import TITLE_MAX, Draft, deck_title, finish, stable_id, tag_slugs
from bot.content.imports.model import DeckUpload, RefusedError, UploadLimits
from bot.domain.content import SLUG_PATTERN

__all__ = ["COLLECTION_NAMES", "parse_apkg"]

COLLECTION_NAMES = ("collection.anki21b", "collection.anki21", "collection.anki2")
CLOZE_BLANK = "[…]"
_CLOZE = re.compile(r"\{\{c\d+::((?:(?!\{\{|\}\}).)*?)(?:::((?:(?!\{\{|\}\}).)*?))?\}\}", re.DOTALL)
_SLUG = re.compile(SLUG_PATTERN)
_CHUNK = 1 << 16
_MAX_ENTRIES = 100_000
# What reading a damaged zip raises: its own errors, zlib's, and bad offsets or methods.
_BROKEN_ZIP = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    ValueError,
    OSError,
    EOFError,
    NotImplementedError,
    RuntimeError,
)


@dataclass(frozen=True)
class NoteType:
    name: str
    cloze: bool
    fields: tuple[str, ...]


def parse_apkg(
    file_name: str, data: bytes, *, title: str | None, limits: UploadLimits
) -> DeckUpload:
    image = collection_bytes(data, limits)
    try:
        with closing(sqlite3.connect(":memory:")) as db:
            db.deserialize(image)
            db.execute("PRAGMA query_only = ON")
            db.execute("PRAGMA trusted_schema = OFF")
            return _read_collection(db, file_name, title, limits)
    except (sqlite3.Error, ValueError, KeyError, TypeError) as error:
        raise RefusedError(
            "The collection inside this Anki package cannot be read "
            f"({error}). Export the deck again from Anki (File › Export › Anki Deck Package)."
        ) from None


def collection_bytes(data: bytes, limits: UploadLimits) -> bytes:
    """The SQLite image of the package's newest collection, within the unpacked limit."""
    try:
        name, raw = _collection_member(data, limits)
    except _BROKEN_ZIP as error:
        raise RefusedError(
            f"This Anki package is damaged ({error}). Export the deck again from Anki "
            "(File › Export › Anki Deck Package)."
        ) from None
    if name.endswith("21b"):
        return _decompress(raw, limits)
    return raw


def _collection_member(data: bytes, limits: UploadLimits) -> tuple[str, bytes]:
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RefusedError(
            "This is not an Anki package (.apkg files are zip files). "
            "Export the deck from Anki with File › Export › Anki Deck Package."
        ) from None
    with package:
        infos = package.infolist()
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_unpacked_bytes or len(infos) > _MAX_ENTRIES:
            raise RefusedError(_bomb_message(limits))
        names = {info.filename for info in infos}
        name = next((n for n in COLLECTION_NAMES if n in names), None)
        if name is None:
            raise RefusedError(
                "This package has no Anki collection in it (no collection.anki21b, "
                ".anki21 or .anki2). Export the deck from Anki with File › Export › "
                "Anki Deck Package."
            )
        with package.open(name) as member:
            return name, _read_capped(member, limits)


def _bomb_message(limits: UploadLimits) -> str:
    return (
        f"This package unpacks to more than {limits.max_unpacked_bytes // 2**20} MB; "
        "a deck package can hold at most that much. Leave out the media when you export."
    )


def _read_capped(stream: IO[bytes], limits: UploadLimits) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limits.max_unpacked_bytes:
            raise RefusedError(_bomb_message(limits))
        chunks.append(chunk)
    return b"".join(chunks)


def _decompress(raw: bytes, limits: UploadLimits) -> bytes:
    """A zstd frame, refused if it declares or turns out to hold more than the limit."""
    try:
        declared = zstandard.frame_content_size(raw)
        if declared > limits.max_unpacked_bytes:
            raise RefusedError(_bomb_message(limits))
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw))
        with reader:
            return _read_capped(reader, limits)
    except zstandard.ZstdError as error:
        raise RefusedError(f"The collection in this Anki package is damaged ({error}).") from None


def _read_collection(
    db: sqlite3.Connection, file_name: str, title: str | None, limits: UploadLimits
) -> DeckUpload:
    (count,) = db.execute("SELECT count(*) FROM notes").fetchone()
    if count > limits.max_questions:
        raise RefusedError(
            f"This Anki deck has {count:,} notes; a deck can have at most "
            f"{limits.max_questions:,} questions. Split it into smaller decks."
        )
    note_types = _note_types(db)
    drafts: list[Draft] = []
    media: set[str] = set()
    rows = db.execute("SELECT id, guid, mid, tags, flds FROM notes ORDER BY id")
    for note_id, guid, type_id, tags, joined in rows:
        fields = str(joined).split("\x1f")
        for value in fields:
            media |= media_names(value)
        note_type = note_types.get(int(type_id))
        if note_type is None:
            message = f"note {note_id}: its note type ({type_id}) is not in the package"
            drafts.append(_broken(int(note_id), message))
            continue
        drafts.append(_draft(int(note_id), str(guid), note_type, fields, str(tags)))
    name = deck_title(title, _main_deck_name(db), file_name)
    return finish(name, None, drafts, limits, dropped_media=len(media))


def _draft(
    note_id: int,
    guid: str,
    note_type: NoteType,
    fields: list[str],
    tags: str,
) -> Draft:
    names = list(note_type.fields) + [f"field {n + 1}" for n in range(len(note_type.fields), 9)]
    values: dict[str, object] = {
        "id": guid if _SLUG.match(guid) and len(guid) <= 80 else stable_id(guid, "a"),
        "tags": tag_slugs(tags.split()),
    }
    if note_type.cloze:
        text = fields[0]
        if not _CLOZE.search(text):
            return _broken(
                note_id,
                f"note {note_id}, field {names[0]!r}: a cloze note without a cloze "
                "deletion ({{c1::…}})",
            )
        values["question"] = html_to_markdown(_cloze(text, answer=False))
        answer = html_to_markdown(_cloze(text, answer=True))
        extra = html_to_markdown(fields[1]) if len(fields) > 1 else ""
        values["answer"] = f"{answer}\n\n{extra}" if extra else answer
        keys = {"question": names[0], "answer": names[0]}
    else:
        if len(fields) < 2:
            return _broken(
                note_id,
                f"note {note_id}: note type {note_type.name!r} has one field; "
                "a question needs two (question and answer)",
            )
        values["question"] = html_to_markdown(fields[0])
        values["answer"] = html_to_markdown(fields[1])
        keys = {"question": names[0], "answer": names[1]}
    return Draft(values, _where(note_id, keys))


def _broken(note_id: int, problem: str) -> Draft:
    return Draft({}, _where(note_id, {}), problems=(problem,))


def _where(note_id: int, fields: dict[str, str]) -> Callable[[str | None], str]:
    def where(key: str | None) -> str:
        field = fields.get(key or "")
        return f"note {note_id}" if field is None else f"note {note_id}, field {field!r}"

    return where


def _cloze(text: str, *, answer: bool) -> str:
    """Every cloze (nested ones innermost first) as its text, or as the blank."""
    while True:
        replaced = _CLOZE.sub(lambda m: m.group(1) if answer else CLOZE_BLANK, text)
        if replaced == text:
            return text
        text = replaced


def _note_types(db: sqlite3.Connection) -> dict[int, NoteType]:
    """Note types by id: from ``col.models`` (older packages) or the ``notetypes`` table."""
    row = db.execute("SELECT models FROM col").fetchone()
    models = json.loads(row[0]) if row and row[0] else {}
    if models:
        return {
            int(model_id): NoteType(
                name=str(model.get("name", "")),
                cloze=model.get("type") == 1,
                fields=tuple(
                    str(f.get("name", "")) for f in sorted(model["flds"], key=lambda f: f["ord"])
                ),
            )
            for model_id, model in models.items()
        }
    fields: dict[int, list[str]] = {}
    for type_id, name in db.execute("SELECT ntid, name FROM fields ORDER BY ntid, ord"):
        fields.setdefault(int(type_id), []).append(str(name))
    return {
        int(type_id): NoteType(
            name=str(name),
            cloze=_protobuf_varint(bytes(config or b""), field=1) == 1,
            fields=tuple(fields.get(int(type_id), ())),
        )
        for type_id, name, config in db.execute("SELECT id, name, config FROM notetypes")
    }


def _protobuf_varint(message: bytes, *, field: int) -> int:
    """The value of a varint field of a protobuf message (0, its default, if absent)."""
    position = 0

    def varint() -> int:
        nonlocal position
        value = shift = 0
        while position < len(message):
            byte = message[position]
            position += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise ValueError("truncated varint")

    try:
        while position < len(message):
            key = varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                value = varint()
                if number == field:
                    return value
            elif wire == 2:
                length = varint()  # read first: ``position += varint()`` would lose it
                position += length
            elif wire == 1:
                position += 8
            elif wire == 5:
                position += 4
            else:
                return 0
    except ValueError:
        return 0
    return 0


def _main_deck_name(db: sqlite3.Connection) -> str | None:
    """The name of the Anki deck holding most cards (its last part), if not "Default"."""
    try:
        row = db.execute(
            "SELECT did FROM cards GROUP BY did ORDER BY count(*) DESC, did LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        names: dict[int, str] = {}
        decks = db.execute("SELECT decks FROM col").fetchone()
        if decks and decks[0] and decks[0] != "{}":
            names = {int(k): str(v.get("name", "")) for k, v in json.loads(decks[0]).items()}
        else:
            names = {int(i): str(n) for i, n in db.execute("SELECT id, name FROM decks")}
    except (sqlite3.Error, ValueError, AttributeError):
        return None
    name = re.split("::|\x1f", names.get(int(row[0]), ""))[-1].strip()
    return None if name in {"", "Default"} else name[:TITLE_MAX].strip()
