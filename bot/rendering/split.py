"""Pack rendered blocks into Telegram messages that respect the length limit.

Telegram limits a message to 4096 UTF-16 code units of *visible* text
(after tags are removed and entities decoded), and rejects a message whose
tags are cut in half. Blocks are packed greedily; a block too long on its own
is cut at a line break, else at a space, else between two characters, and any
tags open at the cut are closed there and re-opened (with their attributes)
at the start of the next piece, so ``<pre><code class="language-python">``
continues as code and ``<b>`` stays bold.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.rendering.tags import Piece, tokenize, visible_len
from bot.rendering.text import utf16_len

__all__ = ["SEPARATOR", "split_block", "split_blocks"]

SEPARATOR = "\n\n"
# A header shares its message with at least this much of the next block, if possible.
_MIN_SHARE = 16
_EMPTY_PAIR = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)(?:\s[^>]*)?></\1>")
# Characters that attach to the previous one: never cut right before them.
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}


def _attaches(ch: str) -> bool:
    return (
        ch in _JOINERS
        or unicodedata.combining(ch) != 0
        or "\U0001f3fb" <= ch <= "\U0001f3ff"  # skin tone modifiers
        or "\U000e0020" <= ch <= "\U000e007f"  # emoji tag sequences
    )


@dataclass
class _Cut:
    end: int  # the piece is tokens[start:end]
    resume: int  # the next piece starts at tokens[resume]


def _find_cut(tokens: list[Piece], start: int, room: int) -> _Cut | None:
    """Where the piece starting at ``start`` must end, or ``None`` if the rest fits."""
    used = 0
    line_cut: tuple[int, int] | None = None  # (token index, visible units before it)
    word_cut: tuple[int, int] | None = None
    i = start
    while i < len(tokens):
        piece = tokens[i]
        if piece.kind == "text":
            size = utf16_len(piece.text)
            if used + size > room:
                break
            if used > 0 and piece.text == "\n":
                line_cut = (i, used)
            elif used > 0 and piece.text in " \t":
                word_cut = (i, used)
            used += size
        i += 1
    else:
        return None
    if line_cut and (line_cut[1] >= room // 2 or not word_cut or word_cut[0] < line_cut[0]):
        return _Cut(line_cut[0], line_cut[0] + 1)
    if word_cut:
        return _Cut(word_cut[0], word_cut[0] + 1)
    # Hard cut between characters, but not inside a grapheme if avoidable.
    end = i
    while end > start + 1 and tokens[end].kind == "text" and _attaches(tokens[end].text[0]):
        end -= 1
    if not any(t.kind == "text" for t in tokens[start:end]):
        end = i  # a single enormous grapheme: cut it anyway
    if not any(t.kind == "text" for t in tokens[start:end]):
        raise ValueError(f"room {room} is too small for one character")
    return _Cut(end, end)


def _walk_stack(stack: list[Piece], tokens: list[Piece]) -> None:
    for piece in tokens:
        if piece.kind == "start":
            stack.append(piece)
        elif piece.kind == "end" and stack and stack[-1].name == piece.name:
            stack.pop()


def _tidy(markup: str) -> str:
    """Drop empty tag pairs left where a cut fell next to a tag."""
    previous = None
    while previous != markup:
        previous, markup = markup, _EMPTY_PAIR.sub("", markup)
    return markup


def split_block(block: str, room: int, *, first_room: int | None = None) -> list[str]:
    """Cut one block into pieces of at most ``room`` visible UTF-16 units each.

    ``first_room`` (if given) limits the first piece instead, so it can fill
    what is left of a message that already holds other blocks.
    """
    if min(room, first_room or room) < 2:
        raise ValueError("room must allow at least one character")
    tokens = tokenize(block)
    pieces: list[str] = []
    stack: list[Piece] = []
    start = 0
    budget = first_room or room
    while start < len(tokens):
        reopen = "".join(p.raw for p in stack)
        cut = _find_cut(tokens, start, budget)
        budget = room
        end = len(tokens) if cut is None else cut.end
        body = tokens[start:end]
        _walk_stack(stack, body)
        close = "".join(f"</{p.name}>" for p in reversed(stack))
        piece = _tidy(reopen + "".join(p.raw for p in body) + close)
        if any(p.kind == "text" and p.text.strip() for p in body):
            pieces.append(piece)
        if cut is None:
            break
        _walk_stack(stack, tokens[cut.end : cut.resume])
        start = cut.resume
    return pieces


class _Packer:
    """Greedy packing of pieces into messages of at most ``room`` visible units."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.messages: list[str] = []
        self.current: list[str] = []
        self.used = 0

    @property
    def free(self) -> int:
        """Room left for one more piece in the current message (separator included)."""
        return self.room - self.used - (utf16_len(SEPARATOR) if self.current else 0)

    def flush(self) -> None:
        if self.current:
            self.messages.append(SEPARATOR.join(self.current))
        self.current, self.used = [], 0

    def add(self, piece: str) -> None:
        size = visible_len(piece)
        if self.current and size > self.free:
            self.flush()
        if self.current:
            self.used += utf16_len(SEPARATOR)
        self.used += size
        self.current.append(piece)


def split_blocks(
    blocks: list[str], *, limit: int = 4096, reserve: int = 0, keep_first: bool = False
) -> list[str]:
    """Pack ``blocks`` into messages of at most ``limit - reserve`` visible units.

    Blocks in one message are joined with a blank line; ``reserve`` keeps room
    for something the caller adds to every message (a part marker). A block
    too long for a message is cut, its first piece filling the current
    message when a useful amount of room is left. ``keep_first`` never lets
    the first block (a header) stand alone in a message: the next block is
    cut to share the message with it.
    """
    room = limit - reserve
    packer = _Packer(room)
    for index, block in enumerate(blocks):
        size = visible_len(block)
        free = packer.free
        if size <= free:
            packer.add(block)
            continue
        must_share = keep_first and index == 1 and len(packer.current) == 1
        if size <= room and not must_share:
            packer.flush()
            packer.add(block)
            continue
        worth_filling = packer.current and free >= (_MIN_SHARE if must_share else room // 4)
        pieces = split_block(block, room, first_room=free if worth_filling else None)
        if worth_filling and pieces and visible_len(pieces[0]) <= free:
            packer.add(pieces.pop(0))
        for piece in pieces:
            packer.add(piece)
    packer.flush()
    return packer.messages
