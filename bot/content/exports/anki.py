"""A deck as an Anki package (``.apkg``), written with genanki.

genanki writes the older package format (``collection.anki2``, schema 11), which every
Anki version imports, the current ones included. Its ``Package.write_to_file`` leaves
its temporary database file behind in the temp directory on every call, so we let it
fill an in-memory SQLite database instead and zip that ourselves.

The model and deck ids are derived from our deck id, so re-importing an updated export
into Anki updates the same deck and note type rather than adding copies; each note's
guid is the question id, which Anki matches notes by (and which our reader turns back
into the same question id).

Answers become HTML for Anki's card view: Markdown rendered by markdown-it, with the
formulas kept as MathJax ``\\(…\\)`` / ``\\[…\\]``, which Anki renders.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import sqlite3
import time
import zipfile
from contextlib import closing
from functools import cache
from html import escape

import genanki
from markdown_it import MarkdownIt

from bot.domain.content import Deck

__all__ = ["ANKI_MODEL_NAME", "anki_id", "deck_to_apkg", "markdown_to_anki_html"]

ANKI_MODEL_NAME = "Interview question"
# Math in our Markdown (as the renderer reads it, bot/rendering/markdown.py): code spans
# first so that math-looking text inside code stays code.
_MATH = re.compile(
    r"(?P<code>(?<!`)(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`))"
    r"|\$\$(?P<dd>.+?)\$\$"
    r"|(?<!\\)\\\[(?P<db>.+?)\\\]"
    r"|(?<!\\)\\\((?P<ip>.+?)\\\)"
    r"|(?<![\\$\w])\$(?P<id>[^\s$](?:[^$\n]*?[^\s\\$])?)\$(?![\w$])",
    re.DOTALL,
)
_FENCED_BLOCK = re.compile(
    r"(^[ \t]*(?:```|~~~)[^\n]*\n.*?^[ \t]*(?:```|~~~)[ \t]*$)", re.MULTILINE | re.DOTALL
)
_PLACEHOLDER = re.compile("\ue000([0-9]+)\ue001")
_CSS = ".card { font-family: arial; font-size: 20px; text-align: left; }"


def anki_id(kind: str, deck_id: str) -> int:
    """A stable id for Anki (which wants 1 << 30 <= id < 1 << 31 for genanki's models)."""
    digest = hashlib.sha256(f"interview-bot:{kind}:{deck_id}".encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["strikethrough", "table"])


def markdown_to_anki_html(source: str) -> str:
    """Bank Markdown as HTML for an Anki field, formulas as MathJax."""
    maths: list[str] = []

    def swap(match: re.Match[str]) -> str:
        if match.group("code") is not None:
            return match.group(0)
        display = match.group("dd") is not None or match.group("db") is not None
        tex = next(g for g in match.group("dd", "db", "ip", "id") if g is not None)
        maths.append(f"\\[{tex}\\]" if display else f"\\({tex}\\)")
        return f"\ue000{len(maths) - 1}\ue001"

    # Math inside fenced code stays code: only prose between fences is searched.
    parts = re.split(
        r"(^[ \t]*(?:```|~~~)[^\n]*\n.*?^[ \t]*(?:```|~~~)[ \t]*$)", source, flags=re.M | re.S
    )
    protected = "".join(p if i % 2 else _MATH.sub(swap, p) for i, p in enumerate(parts))
    html = _parser().render(protected).strip()
    return _PLACEHOLDER.sub(lambda m: escape(maths[int(m.group(1))], quote=False), html)


def _model(deck: Deck) -> genanki.Model:
    return genanki.Model(
        anki_id("model", deck.id),
        ANKI_MODEL_NAME,
        fields=[{"name": "Question"}, {"name": "Answer"}],
        templates=[
            {
                "name": "Card 1",
                "qfmt": "{{Question}}",
                "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}',
            }
        ],
        css=_CSS,
    )


def deck_to_apkg(deck: Deck, *, timestamp: float | None = None) -> bytes:
    """The deck as an ``.apkg`` file's bytes.

    ``timestamp`` (seconds) dates the notes; Anki updates a note it already has only
    from a newer one, so the default is now.
    """
    model = _model(deck)
    anki_deck = genanki.Deck(anki_id("deck", deck.id), deck.title, description=deck.description)
    for question in deck.questions:
        anki_deck.add_note(
            genanki.Note(
                model=model,
                fields=[
                    markdown_to_anki_html(question.question),
                    markdown_to_anki_html(question.answer),
                ],
                tags=list(question.tags),
                guid=question.id,
            )
        )
    package = genanki.Package(anki_deck)
    moment = time.time() if timestamp is None else timestamp
    with closing(sqlite3.connect(":memory:")) as db:
        package.write_to_db(db.cursor(), moment, itertools.count(int(moment * 1000)))
        db.commit()
        image = db.serialize()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("collection.anki2", image)
        archive.writestr("media", json.dumps({}))
    return buffer.getvalue()
