"""The public rendering API: questions and answers as Telegram HTML messages.

Everything here is pure (no Telegram, no database) so the content checker,
the handlers and the tests all render identically.
"""

from __future__ import annotations

from functools import lru_cache

from bot.rendering.markdown import markdown_to_blocks
from bot.rendering.split import SEPARATOR, split_blocks
from bot.rendering.tags import visible_len, visible_text
from bot.rendering.text import utf16_len

__all__ = ["TELEGRAM_LIMIT", "RenderError", "render_answer", "render_question"]

TELEGRAM_LIMIT = 4096
# Below this a part cannot hold its marker and a useful amount of text.
_MIN_ROOM = 64


class RenderError(Exception):
    """The text cannot be turned into valid Telegram messages (empty, too long)."""


def _marker(index: int, total: int) -> str:
    return f"<i>({index}/{total})</i>\n"


def _marker_reserve(total: int) -> int:
    """Visible size of the widest marker for ``total`` parts."""
    return visible_len(_marker(total, total))


def _split(blocks: list[str], limit: int, *, keep_first: bool) -> list[str]:
    """Split so that every part still fits once its "(k/n)" marker is added."""
    parts = split_blocks(blocks, limit=limit, keep_first=keep_first)
    if len(parts) <= 1:
        return parts
    total = len(parts)
    for _ in range(5):  # the count only grows while its digit count grows
        reserve = _marker_reserve(total)
        parts = split_blocks(blocks, limit=limit, reserve=reserve, keep_first=keep_first)
        if _marker_reserve(len(parts)) <= reserve:
            return parts
        total = len(parts)
    raise RenderError("could not settle the number of parts")  # pragma: no cover


def _spoil(part: str, header: str) -> str:
    """Hide a part's body in a spoiler, leaving the header (if it starts the part) visible."""
    if header and part.startswith(header):
        body = part.removeprefix(header).removeprefix(SEPARATOR)
        return f"{header}{SEPARATOR}<tg-spoiler>{body}</tg-spoiler>" if body else header
    return f"<tg-spoiler>{part}</tg-spoiler>"


def render_answer(
    markdown: str, *, spoiler: bool = False, limit: int = TELEGRAM_LIMIT, header: str = ""
) -> list[str]:
    """Render an answer as one or more Telegram HTML messages.

    ``header`` (already HTML, e.g. ``"<b>Answer</b>"``) opens the first
    message and counts toward its limit. Long answers are split into parts
    marked ``(1/3)``, ``(2/3)``…; ``spoiler`` hides each part's body behind a
    spoiler (Telegram lets a spoiler contain any entity, ``<pre>`` included).

    Results are memoised: the bank is fixed for the life of a process, and at
    the peak minute thousands of people reveal the same few answers, which
    would otherwise be parsed and split again each time (milliseconds each).
    """
    return list(_render_answer(markdown, spoiler, limit, header))


@lru_cache(maxsize=2048)
def _render_answer(markdown: str, spoiler: bool, limit: int, header: str) -> tuple[str, ...]:
    if limit < _MIN_ROOM:
        raise RenderError(f"limit {limit} is too small")
    blocks = markdown_to_blocks(markdown)
    if not blocks:
        raise RenderError("the answer renders to an empty message")
    if header:
        if not visible_text(header).strip() or visible_len(header) > limit - _MIN_ROOM:
            raise RenderError("the header is empty or leaves no room for the answer")
        blocks = [header, *blocks]
    parts = _split(blocks, limit, keep_first=bool(header))
    if not parts:
        raise RenderError("the answer renders to an empty message")
    if spoiler:
        parts = [_spoil(part, header if i == 0 else "") for i, part in enumerate(parts)]
    if len(parts) > 1:
        parts = [_marker(i, len(parts)) + part for i, part in enumerate(parts, start=1)]
    return tuple(parts)


@lru_cache(maxsize=4096)
def _question_body(question: str) -> tuple[str, int]:
    """A question's rendered blocks and their visible size (UTF-16 units).

    The same for every chat and every day, where the header around it (with the
    day's date) changes: a broadcast renders each question once, not once a day
    per label. Sizes add up because every piece is complete markup.
    """
    blocks = markdown_to_blocks(question)
    if not blocks:
        raise RenderError("the question renders to an empty message")
    body = SEPARATOR.join(block for block in blocks if block)
    return body, utf16_len(visible_text(body))


def render_question(
    question: str, *, header: str = "", footer: str = "", limit: int = TELEGRAM_LIMIT
) -> str:
    """Render a question as one message, with optional HTML header and footer lines.

    A question must fit in one message, so an overlong one raises
    :class:`RenderError` (the content checker reports it).
    """
    body, body_size = _question_body(question)
    parts = [part for part in (header, body, footer) if part]
    text = SEPARATOR.join(parts)
    size = (
        body_size
        + sum(visible_len(part) for part in (header, footer) if part)
        + (len(parts) - 1) * utf16_len(SEPARATOR)
    )
    if size > limit:
        raise RenderError(f"the question is {size} UTF-16 units long, over the {limit} limit")
    return text
