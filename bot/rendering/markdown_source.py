"""Reading bank Markdown: the parts every renderer of it shares.

Answers are written in CommonMark (plus ``~~strike~~`` and pipe tables) with
TeX math in ``\\(...\\)``, ``\\[...\\]``, ``$...$`` or ``$$...$$``. Two
renderers read them (Telegram HTML in :mod:`bot.rendering.markdown`, rich
messages in :mod:`bot.rendering.rich`) and the content checker reads their
formulas, so finding the formulas, parsing and vetting links live here once.

Math is swapped for placeholders *before* parsing: otherwise ``_`` and ``*``
inside formulas would turn into emphasis and the backslash escape rule would
eat ``\\(``. Math inside code spans and fenced blocks is left alone (it is
code). Raw HTML in the source is shown as text (``html`` is off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

__all__ = [
    "PLACEHOLDER",
    "Math",
    "code_language",
    "find_math",
    "parse_markdown",
    "protect_math",
    "restore_raw",
    "safe_href",
]

_ALLOWED_SCHEMES = ("http", "https", "tg", "mailto")
_LANGUAGE = re.compile(r"[A-Za-z0-9_+#.-]+")
PLACEHOLDER = re.compile("\ue000([0-9]+)\ue001")
_FENCE_LINE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_MATH = re.compile(
    r"(?P<code>(?<!`)(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`))"
    r"|\$\$(?P<dd>.+?)\$\$"
    r"|(?<!\\)\\\[(?P<db>.+?)\\\]"
    r"|(?<!\\)\\\((?P<ip>.+?)\\\)"
    r"|(?<![\\$\w])\$(?P<id>[^\s$](?:[^$\n]*?[^\s\\$])?)\$(?![\w$])",
    re.DOTALL,
)


@dataclass(frozen=True)
class Math:
    """One formula of the source.

    ``raw`` is the source text with its delimiters (shown as-is inside code),
    ``tex`` the formula alone, ``start`` the offset of ``tex`` in the source
    (so a checker can point at it).
    """

    raw: str
    tex: str
    display: bool
    start: int = 0


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["strikethrough", "table"])


def protect_math(source: str) -> tuple[str, tuple[Math, ...]]:
    """Replace math spans outside code with placeholders the parser leaves alone.

    Placeholder ``n`` is ``"\\ue000n\\ue001"``; the formulas come back in order.
    """
    maths: list[Math] = []

    def swap_in(offset: int, prose: str) -> str:
        def swap(match: re.Match[str]) -> str:
            if match.group("code") is not None:
                return match.group(0)
            name = next(n for n in ("dd", "db", "ip", "id") if match.group(n) is not None)
            maths.append(
                Math(
                    raw=match.group(0),
                    tex=match.group(name),
                    display=name in ("dd", "db"),
                    start=offset + match.start(name),
                )
            )
            return f"\ue000{len(maths) - 1}\ue001"

        return _MATH.sub(swap, prose)

    out: list[str] = []
    prose: list[str] = []
    prose_start = 0
    position = 0
    fence: str | None = None
    for line in source.splitlines(keepends=True):
        opener = _FENCE_LINE.match(line)
        if fence is None and opener:
            out.append(swap_in(prose_start, "".join(prose)))
            prose = []
            fence = opener.group(1)
            out.append(line)
        elif fence is not None:
            out.append(line)
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
        else:
            if not prose:
                prose_start = position
            prose.append(line)
        position += len(line)
    out.append(swap_in(prose_start, "".join(prose)))
    return "".join(out), tuple(maths)


def find_math(source: str) -> tuple[Math, ...]:
    """Every formula of ``source`` (outside code), with its offset."""
    return protect_math(source)[1]


def parse_markdown(source: str) -> tuple[SyntaxTreeNode, tuple[Math, ...]]:
    """The syntax tree of ``source`` with math as placeholders, and the formulas."""
    protected, maths = protect_math(source)
    return SyntaxTreeNode(_parser().parse(protected)), maths


def restore_raw(text: str, maths: tuple[Math, ...]) -> str:
    """Put formulas back as their source (for code, where math is just text)."""
    return PLACEHOLDER.sub(lambda m: maths[int(m.group(1))].raw, text)


def safe_href(href: str) -> str | None:
    """``href`` if its scheme is one a message may link to, else ``None``."""
    scheme = href.split(":", 1)[0].lower() if ":" in href else ""
    return href if scheme in _ALLOWED_SCHEMES else None


def code_language(info: str) -> str | None:
    """The language named by a fence's info string, if it is a plain name."""
    words = info.split()
    return words[0] if words and _LANGUAGE.fullmatch(words[0]) else None
