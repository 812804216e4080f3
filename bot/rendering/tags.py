"""A minimal tokenizer for the Telegram HTML this package produces.

The renderer only emits well-formed tags and the four named entities (plus
numeric ones), so a regular expression is enough to tell tags from visible
text. Splitting and length checks work on these tokens so that a message is
never cut inside a tag or an entity and lengths count what the user sees.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

from bot.rendering.text import utf16_len

__all__ = ["Piece", "tokenize", "visible_len", "visible_text"]

_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*>|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z]+);")


@dataclass(frozen=True)
class Piece:
    """A start tag, an end tag, or one visible character (``raw`` may be an entity)."""

    kind: Literal["start", "end", "text"]
    raw: str
    name: str = ""
    text: str = ""


def tokenize(markup: str) -> list[Piece]:
    """Split ``markup`` into tags and single visible characters."""
    pieces: list[Piece] = []
    pos = 0
    for match in _TOKEN.finditer(markup):
        pieces.extend(Piece("text", ch, text=ch) for ch in markup[pos : match.start()])
        raw = match.group(0)
        if match.group(2):
            kind: Literal["start", "end"] = "end" if match.group(1) else "start"
            pieces.append(Piece(kind, raw, name=match.group(2).lower()))
        else:
            pieces.append(Piece("text", raw, text=html.unescape(raw)))
        pos = match.end()
    pieces.extend(Piece("text", ch, text=ch) for ch in markup[pos:])
    return pieces


def _visible(match: re.Match[str]) -> str:
    return "" if match.group(2) else html.unescape(match.group(0))


def visible_text(markup: str) -> str:
    """What the user sees: tags removed, entities decoded.

    The same as joining the text pieces of :func:`tokenize`, without making a piece
    per character: length checks call this on every block of every answer (checking
    an uploaded deck of 2,000 questions spent most of its time here).
    """
    return _TOKEN.sub(_visible, markup)


def visible_len(markup: str) -> int:
    """Length of :func:`visible_text` in UTF-16 code units (Telegram's unit)."""
    return utf16_len(visible_text(markup))
