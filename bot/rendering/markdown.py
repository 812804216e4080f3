"""Bank Markdown to a list of Telegram-HTML blocks.

Answers are written in CommonMark (plus ``~~strike~~`` and pipe tables) with
TeX math in ``\\(...\\)``, ``\\[...\\]``, ``$...$`` or ``$$...$$``. Telegram
HTML has no paragraphs, lists, headings or tables, so each top-level
Markdown block becomes one self-contained HTML string: lists become lines
with bullets, headings bold lines, tables monospace text. Keeping blocks
separate lets the splitter cut long answers between blocks.

Parsing, and swapping math for placeholders before it, is shared with the
rich-message renderer (:mod:`bot.rendering.markdown_source`); here each
formula becomes Unicode text (:mod:`bot.rendering.tex`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from markdown_it.tree import SyntaxTreeNode

from bot.rendering.markdown_source import (
    PLACEHOLDER,
    Math,
    code_language,
    parse_markdown,
    restore_raw,
    safe_href,
)
from bot.rendering.tags import visible_text
from bot.rendering.tex import tex_to_text
from bot.rendering.text import escape_attr, escape_html

__all__ = ["markdown_to_blocks"]

_BULLETS = ("•", "◦", "▪")
_RULE = "———"
_DISPLAY_MARK = "\ue002"
_AROUND_DISPLAY = re.compile(rf"[ \t\n]*{_DISPLAY_MARK}[ \t\n]*")


@dataclass(frozen=True)
class _Ctx:
    maths: tuple[Math, ...]
    in_quote: bool = False  # Telegram allows neither nested quotes nor <pre> in a quote
    in_link: bool = False  # links may not contain <code>
    plain: bool = False  # no tags, no escaping (table cells)


def _restore_raw(text: str, ctx: _Ctx) -> str:
    return restore_raw(text, ctx.maths)


def _text(content: str, ctx: _Ctx) -> str:
    """Escape prose and put the converted math back in place of placeholders."""

    def math(match: re.Match[str]) -> str:
        item = ctx.maths[int(match.group(1))]
        rendered = tex_to_text(item.tex, display=item.display)
        rendered = rendered if ctx.plain else escape_html(rendered)
        return f"{_DISPLAY_MARK}{rendered}{_DISPLAY_MARK}" if item.display else rendered

    return PLACEHOLDER.sub(math, content if ctx.plain else escape_html(content))


def _wrap(tag: str, inner: str, ctx: _Ctx) -> str:
    return inner if ctx.plain or not inner else f"<{tag}>{inner}</{tag}>"


def _inline(node: SyntaxTreeNode, ctx: _Ctx) -> str:
    parts = [_inline_node(child, ctx) for child in node.children]
    text = "".join(parts)
    if _DISPLAY_MARK in text:
        text = _AROUND_DISPLAY.sub("\n", text).strip("\n")
    return text


def _inline_node(node: SyntaxTreeNode, ctx: _Ctx) -> str:
    kind = node.type
    if kind == "text":
        return _text(node.content, ctx)
    if kind == "softbreak":
        return " "
    if kind == "hardbreak":
        return "\n"
    if kind == "code_inline":
        code = _restore_raw(node.content, ctx)
        if ctx.plain:
            return code
        return escape_html(code) if ctx.in_link else f"<code>{escape_html(code)}</code>"
    if kind in ("strong", "em", "s"):
        return _wrap({"strong": "b", "em": "i", "s": "s"}[kind], _inline(node, ctx), ctx)
    if kind in ("link", "image"):
        return _link(node, ctx)
    return _text(node.content, ctx) + _inline(node, ctx)


def _link(node: SyntaxTreeNode, ctx: _Ctx) -> str:
    attr = "src" if node.type == "image" else "href"
    target = _restore_raw(str(node.attrs.get(attr, "")), ctx)
    href = safe_href(target)
    inner = _inline(node, replace(ctx, in_link=True))
    if not visible_text(inner).strip():
        inner = escape_html(target) if not ctx.plain else target
    if href is None or ctx.in_link or ctx.plain:
        return inner
    return f'<a href="{escape_attr(href)}">{inner}</a>'


def _indent(text: str, first: str, rest: str) -> list[str]:
    """Prefix the lines of ``text``, leaving lines inside ``<pre>`` untouched."""
    lines: list[str] = []
    depth = 0
    for n, line in enumerate(text.split("\n")):
        if depth == 0:
            line = (first if n == 0 else rest) + line
        lines.append(line)
        depth += line.count("<pre") - line.count("</pre>")
    return lines


def _list(node: SyntaxTreeNode, ctx: _Ctx, depth: int) -> str:
    ordered = node.type == "ordered_list"
    start = int(str(node.attrs.get("start", 1))) if ordered else 1
    lines: list[str] = []
    for index, item in enumerate(node.children):
        marker = f"{start + index}." if ordered else _BULLETS[depth % len(_BULLETS)]
        prefix = "  " * depth + marker + " "
        first = True
        for child in item.children:
            if child.type in ("bullet_list", "ordered_list"):
                if first:
                    lines.append(prefix.rstrip())
                lines.append(_list(child, ctx, depth + 1))
            else:
                rendered = _block(child, ctx)
                if not rendered:
                    continue
                lines.extend(
                    _indent(rendered, prefix if first else " " * len(prefix), " " * len(prefix))
                )
            first = False
        if first:
            lines.append(prefix.rstrip())
    return "\n".join(lines)


def _code(content: str, info: str, ctx: _Ctx) -> str | None:
    body = escape_html(_restore_raw(content, ctx).rstrip("\n"))
    if not body.strip():
        return None
    if ctx.in_quote:
        return f"<code>{body}</code>"
    language = code_language(info)
    if language:
        return f'<pre><code class="language-{language}">{body}</code></pre>'
    return f"<pre>{body}</pre>"


def _table(node: SyntaxTreeNode, ctx: _Ctx) -> str | None:
    """A pipe table as aligned monospace text: Telegram has no tables."""
    plain = replace(ctx, plain=True)
    rows = [
        [_inline(cell.children[0], plain) if cell.children else "" for cell in row.children]
        for section in node.children
        for row in section.children
    ]
    if not rows:
        return None
    columns = max(len(row) for row in rows)
    rows = [row + [""] * (columns - len(row)) for row in rows]
    widths = [max(len(row[c]) for row in rows) for c in range(columns)]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return _code("\n".join(line.rstrip() for line in lines), "", ctx)


def _children(node: SyntaxTreeNode, ctx: _Ctx, sep: str) -> str:
    rendered = (_block(child, ctx) for child in node.children)
    return sep.join(r for r in rendered if r)


def _quote(node: SyntaxTreeNode, ctx: _Ctx) -> str | None:
    if ctx.in_quote:  # Telegram quotes cannot nest: flatten the inner one
        return _children(node, ctx, "\n")
    inner = _children(node, replace(ctx, in_quote=True), "\n")
    return f"<blockquote>{inner}</blockquote>" if inner else None


_BLOCKS: dict[str, Callable[[SyntaxTreeNode, _Ctx], str | None]] = {
    "paragraph": lambda n, c: _inline(n.children[0], c) if n.children else None,
    "heading": lambda n, c: _wrap("b", _inline(n.children[0], c), c) if n.children else None,
    "bullet_list": lambda n, c: _list(n, c, 0),
    "ordered_list": lambda n, c: _list(n, c, 0),
    "blockquote": _quote,
    "fence": lambda n, c: _code(n.content, n.info, c),
    "code_block": lambda n, c: _code(n.content, "", c),
    "hr": lambda n, c: _RULE,
    "table": _table,
    "html_block": lambda n, c: escape_html(n.content.rstrip("\n")),
}


def _block(node: SyntaxTreeNode, ctx: _Ctx) -> str | None:
    handler = _BLOCKS.get(node.type)
    if handler is not None:
        return handler(node, ctx)
    if node.type == "inline":
        return _inline(node, ctx)
    return _children(node, ctx, "\n")


def _fallback_blocks(source: str) -> list[str]:
    """Plain escaped paragraphs, for input the Markdown parser cannot handle."""
    paragraphs = re.split(r"\n\s*\n", source.strip())
    return [escape_html(p.strip()) for p in paragraphs if p.strip()]


def markdown_to_blocks(source: str) -> list[str]:
    """Render ``source`` as top-level Telegram-HTML blocks (empty blocks dropped)."""
    try:
        tree, maths = parse_markdown(source)
        ctx = _Ctx(maths)
        rendered = [_block(child, ctx) for child in tree.children]
    except Exception:  # markdown-it should not fail, but an answer must still render
        return _fallback_blocks(source)
    return [block for block in rendered if block and visible_text(block).strip()]
