"""Plain source text to the bank's Markdown subset, escaped only where needed.

Seed documents are plain text that happens to contain Markdown-significant
characters (``a*b``, ``x_i``, ``1. FROM``, ``# comment``, ``[1,2](...)``). The
bot renders answers *and* questions with a CommonMark parser (markdown-it-py,
plus strikethrough, tables and TeX math), so such characters must be escaped
or they silently turn into emphasis, lists or links. Escaping every
punctuation mark would make the YAML unreadable, so this module follows the
CommonMark rules and escapes a character only if the parser could give it a
meaning at that position. TeX spans (``\\(...\\)``, ``\\[...\\]``, ``$...$``)
and code spans are copied verbatim: the renderer lifts math out before
parsing, and code is literal anyway.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Code",
    "Piece",
    "code_span",
    "fenced_block",
    "inline",
]


@dataclass(frozen=True)
class Code:
    """A piece of text that must be shown as inline code."""

    text: str


Piece = str | Code

# Math in the forms the renderer understands; ``$...$`` is normalised to ``\(...\)``.
_MATH = re.compile(
    r"\$\$(?P<dd>.+?)\$\$"
    r"|(?<!\\)\\\[(?P<db>.+?)\\\]"
    r"|(?<!\\)\\\((?P<ip>.+?)\\\)"
    r"|(?<![\\$\w])\$(?P<id>[^\s$](?:[^$\n]*?[^\s\\$])?)\$(?![\w$])"
)
# Code-like tokens in prose: ``torch.no_grad()``, ``.backward()``, ``nn.Conv2d(3, 16, 5)``.
_CODE_TOKEN = re.compile(
    r"(?<![\w.`\\])"
    r"(?:(?:nn|torch|np|pd|tf|sklearn|transformers|optimizer|model|gc)\.[A-Za-z_]\w*"
    r"(?:\.[A-Za-z_]\w*)*(?:\([^()\n]*\))?"
    r"|\.?(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*\(\))"
    r"(?![\w(])"
)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")
_ORDERED = re.compile(r"^([0-9]{1,9})([.)])(?=[ \t]|$)")
_THEMATIC = re.compile(r"^([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _is_space(ch: str) -> bool:
    return ch in " \t\n\r\f" or unicodedata.category(ch) == "Zs"


def _is_punct(ch: str) -> bool:
    return ch in _ASCII_PUNCT or unicodedata.category(ch)[0] in "PS"


def code_span(text: str) -> str:
    """``text`` as a CommonMark code span, with a fence longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _segments(pieces: Iterable[Piece], *, detect_code: bool) -> list[tuple[bool, str]]:
    """Split into (protected, text) runs: math and code are protected, prose is not."""
    out: list[tuple[bool, str]] = []
    for piece in pieces:
        if isinstance(piece, Code):
            out.append((True, code_span(piece.text.strip())))
            continue
        cursor = 0
        for match in _MATH.finditer(piece):
            out.extend(_prose(piece[cursor : match.start()], detect_code=detect_code))
            if match.group("id") is not None:
                out.append((True, f"\\({match.group('id')}\\)"))
            elif match.group("dd") is not None:
                out.append((True, f"\\[{match.group('dd')}\\]"))
            else:
                out.append((True, match.group(0)))
            cursor = match.end()
        out.extend(_prose(piece[cursor:], detect_code=detect_code))
    return [segment for segment in out if segment[1]]


def _prose(text: str, *, detect_code: bool) -> list[tuple[bool, str]]:
    if not detect_code:
        return [(False, text)]
    out: list[tuple[bool, str]] = []
    cursor = 0
    for match in _CODE_TOKEN.finditer(text):
        out.append((False, text[cursor : match.start()]))
        out.append((True, code_span(match.group(0))))
        cursor = match.end()
    out.append((False, text[cursor:]))
    return out


def _delimiter_needs_escape(text: str, start: int, end: int, protected: Sequence[bool]) -> bool:
    """Whether a run of ``*`` or ``_`` could open or close emphasis (CommonMark 6.2)."""
    if (start > 0 and protected[start - 1]) or (end < len(text) and protected[end]):
        return True  # next to math or code: the renderer sees a placeholder, be safe
    before = text[start - 1] if start > 0 else "\n"
    after = text[end] if end < len(text) else "\n"
    left = not _is_space(after) and (not _is_punct(after) or _is_space(before) or _is_punct(before))
    right = not _is_space(before) and (
        not _is_punct(before) or _is_space(after) or _is_punct(after)
    )
    if text[start] == "*":
        return left or right
    can_open = left and (not right or _is_punct(before))
    can_close = right and (not left or _is_punct(after))
    return can_open or can_close


def _escape_positions(text: str, protected: Sequence[bool]) -> set[int]:
    """Indexes of prose characters that need a backslash in front."""
    marks: set[int] = set()
    index = 0
    while index < len(text):
        ch = text[index]
        if protected[index]:
            index += 1
            continue
        if ch in "*_":
            end = index
            while end < len(text) and text[end] == ch and not protected[end]:
                end += 1
            if _delimiter_needs_escape(text, index, end, protected):
                marks.update(range(index, end))
            index = end
            continue
        nxt = text[index + 1] if index + 1 < len(text) else ""
        prev = text[index - 1] if index > 0 else ""
        if (
            ch in "\\`$"
            or (ch == "]" and nxt == "(")
            or (ch == "~" and "~" in (prev, nxt))
            or (ch == "<" and (nxt.isalpha() or nxt in "/!?"))
            or (ch == "&" and _ENTITY.match(text, index))
        ):
            marks.add(index)
        index += 1
    return marks


def _line_start_escape(text: str) -> str:
    """Escape what would make the start of a block a heading, quote, list or rule."""
    stripped = text.lstrip(" \t")
    if not stripped:
        return stripped
    ordered = _ORDERED.match(stripped)
    if ordered:
        return f"{ordered.group(1)}\\{stripped[ordered.end(1) :]}"
    first = stripped[0]
    second = stripped[1:2]
    if first in "#>" or (first in "-+" and second in ("", " ", "\t")) or first == "=":
        return f"\\{stripped}"
    if _THEMATIC.match(stripped):
        return f"\\{stripped}"
    return stripped


def inline(
    pieces: Piece | Sequence[Piece], *, detect_code: bool = True, line_start: bool = True
) -> str:
    """One line of Markdown showing ``pieces`` as intended.

    Text pieces are escaped (math kept verbatim, ``$...$`` normalised to
    ``\\(...\\)``, code-like tokens such as ``torch.no_grad()`` put in code
    spans when ``detect_code``); :class:`Code` pieces become code spans. The
    result is meant to stand at the start of a paragraph or list item (else
    pass ``line_start=False``, e.g. inside ``**bold**``).
    """
    items: Sequence[Piece] = [pieces] if isinstance(pieces, str | Code) else pieces
    segments = _segments(items, detect_code=detect_code)
    text = "".join(segment for _, segment in segments)
    protected = [flag for flag, segment in segments for _ in segment]
    marks = _escape_positions(text, protected)
    escaped = "".join(f"\\{ch}" if i in marks else ch for i, ch in enumerate(text))
    escaped = " ".join(escaped.split("\n")).strip()
    if line_start and segments and not segments[0][0]:
        escaped = _line_start_escape(escaped)
    return escaped.rstrip()


def fenced_block(lines: Sequence[str], language: str = "", *, indent: int = 0) -> list[str]:
    """A fenced code block (longer fence if the code itself contains one)."""
    longest = max((len(run) for line in lines for run in re.findall(r"`{3,}", line)), default=2)
    fence = "`" * max(3, longest + 1)
    pad = " " * indent
    body = [f"{pad}{line}" if line.strip() else "" for line in lines]
    return [f"{pad}{fence}{language}", *body, f"{pad}{fence}"]
