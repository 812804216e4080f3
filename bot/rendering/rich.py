"""Bank Markdown to the HTML body of a Telegram rich message (Bot API 10.1).

A rich message is a small document: paragraphs, nested lists, headings,
tables, code blocks with a language, real LaTeX (``<tg-math>``,
``<tg-math-block>``) and collapsible ``<details>``, up to 32,768 characters.
So unlike :mod:`bot.rendering.markdown` (Telegram's plain HTML, where lists
become bullet text and formulas Unicode approximations) the answer keeps the
structure it was written with, and almost always travels as one message.

Everything from the content is escaped: every text node and every formula
source goes through :func:`escape_html`, attribute values through
:func:`escape_attr`, links keep only http(s), mailto and tg schemes, raw HTML
in the Markdown stays text, and tags are only ever written here, balanced.

Limits (``RICH_*``) are kept by construction where splitting cannot help:
nesting deeper than the budget is flattened (formatting dropped, inner lists
and quotes inlined), a table wider than 20 columns becomes a list. Characters
and blocks are kept by splitting the answer between top-level blocks (a long
list or table between its items or rows), numbered "(1/2)", "(2/2)"; the
bank never needs it (a test checks).

Pure (no Telegram, no database) and memoised, as the bank is fixed per process.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from markdown_it.tree import SyntaxTreeNode

from bot.rendering.answer import RenderError
from bot.rendering.markdown_source import (
    PLACEHOLDER,
    Math,
    code_language,
    parse_markdown,
    restore_raw,
    safe_href,
)
from bot.rendering.split import split_block
from bot.rendering.text import escape_attr, escape_html, utf16_len

__all__ = [
    "HIDDEN_SUMMARY",
    "RICH_MAX_BLOCKS",
    "RICH_MAX_COLUMNS",
    "RICH_MAX_DEPTH",
    "RICH_TEXT_LIMIT",
    "RichSize",
    "measure_rich",
    "needs_rich",
    "render_rich_answer",
    "render_rich_question",
]

RICH_TEXT_LIMIT = 32_768
RICH_MAX_BLOCKS = 500
RICH_MAX_DEPTH = 16
RICH_MAX_COLUMNS = 20

HIDDEN_SUMMARY = "tap to open"
_DEFAULT_HIDDEN_TITLE = "Model answer"

# One level is kept for the <details> of the hidden (group) form.
_DEPTH_BUDGET = RICH_MAX_DEPTH - 1
# A container (list, quote) opens only if this many levels are left inside it
# for a paragraph and its formatting.
_ROOM_INSIDE = 4

# Tags that count as blocks toward RICH_MAX_BLOCKS ("counting nested blocks,
# list items, table rows, quotations, details"); counted generously.
_BLOCK_TAGS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "ul",
        "ol",
        "li",
        "blockquote",
        "table",
        "tr",
        "details",
        "summary",
        "tg-math-block",
        "hr",
        "footer",
        "aside",
    }
)
_VOID_TAGS = frozenset({"br", "hr", "input"})
_TAG_OR_TEXT = re.compile(r"<(/?)([a-z][a-z0-9-]*)[^>]*>|[^<]+")
_ALIGN = re.compile(r"text-align:(left|center|right)")
_BLANK_EDGES = re.compile(r"^(?:\s|<br>)+|(?:\s|<br>)+$")


@dataclass(frozen=True)
class RichSize:
    """What Telegram limits in one rich message, measured on its HTML."""

    chars: int  # visible text, formula source included, in UTF-16 units (conservative)
    blocks: int
    depth: int

    def fits(self) -> bool:
        """Whether a message of this size is within every limit."""
        return (
            self.chars <= RICH_TEXT_LIMIT
            and self.blocks <= RICH_MAX_BLOCKS
            and self.depth <= RICH_MAX_DEPTH
        )


def measure_rich(markup: str) -> RichSize:
    """Characters, blocks and nesting depth of a rich HTML body this module wrote."""
    chars = blocks = depth = deepest = 0
    for match in _TAG_OR_TEXT.finditer(markup):
        name = match.group(2)
        if name is None:
            chars += utf16_len(html.unescape(match.group(0)))
        elif match.group(1):
            depth -= 1
        else:
            blocks += name in _BLOCK_TAGS
            deepest = max(deepest, depth + 1)  # a void tag (<br>) is a level too, strictly
            if name not in _VOID_TAGS:
                depth += 1
    return RichSize(chars, blocks, deepest)


# --- inline content -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    """Where rendering is. Display formulas become blocks only at paragraph level
    (:func:`_paragraph`); inside headings, table cells and formatting they stay inline."""

    maths: tuple[Math, ...]
    depth: int = 0  # tags open around what is being rendered
    in_link: bool = False  # no links or code inside a link

    def deeper(self, levels: int = 1) -> _Ctx:
        return replace(self, depth=self.depth + levels)

    def room(self, levels: int) -> bool:
        return self.depth + levels <= _DEPTH_BUDGET


def _math(item: Math, ctx: _Ctx) -> str:
    source = escape_html(item.tex.strip())
    if not ctx.room(1):
        return escape_html(item.raw)
    return f"<tg-math>{source}</tg-math>"


def _text(content: str, ctx: _Ctx) -> str:
    """Escape prose and put formulas (inline here) in place of placeholders."""
    return PLACEHOLDER.sub(lambda m: _math(ctx.maths[int(m.group(1))], ctx), escape_html(content))


def _wrap(tag: str, node: SyntaxTreeNode, ctx: _Ctx) -> str:
    if not ctx.room(2):  # keep a level for a formula or code inside
        return _inline(node, ctx)
    inner = _inline(node, ctx.deeper())
    return f"<{tag}>{inner}</{tag}>" if inner else ""


def _inline(node: SyntaxTreeNode, ctx: _Ctx) -> str:
    return "".join(_inline_node(child, ctx) for child in node.children)


def _inline_node(node: SyntaxTreeNode, ctx: _Ctx) -> str:
    kind = node.type
    if kind == "text":
        return _text(node.content, ctx)
    if kind == "softbreak":
        return " "
    if kind == "hardbreak":
        return "<br>" if ctx.room(1) else " "
    if kind == "code_inline":
        code = escape_html(restore_raw(node.content, ctx.maths))
        return code if ctx.in_link or not ctx.room(1) else f"<code>{code}</code>"
    if kind in ("strong", "em", "s"):
        return _wrap({"strong": "b", "em": "i", "s": "s"}[kind], node, ctx)
    if kind in ("link", "image"):
        return _link(node, ctx)
    return _text(node.content, ctx) + _inline(node, ctx)


def _link(node: SyntaxTreeNode, ctx: _Ctx) -> str:
    attr = "src" if node.type == "image" else "href"
    target = restore_raw(str(node.attrs.get(attr, "")), ctx.maths)
    href = safe_href(target)
    if href is not None and href.lower().startswith("tg:") and not href.startswith("tg://user?id="):
        href = None  # rich messages accept only tg://user?id= links of that scheme
    usable = href is not None and not ctx.in_link and ctx.room(2)
    inner_ctx = replace(ctx.deeper() if usable else ctx, in_link=True)
    inner = _inline(node, inner_ctx)
    if not _visible(inner):
        inner = escape_html(target)
    if not usable or href is None:
        return inner
    return f'<a href="{escape_attr(href)}">{inner}</a>'


def _visible(markup: str) -> bool:
    """Whether ``markup`` shows anything (text or a formula)."""
    return any(
        m.group(2) is None and html.unescape(m.group(0)).strip()
        for m in _TAG_OR_TEXT.finditer(markup)
    )


def _trim(markup: str) -> str:
    return _BLANK_EDGES.sub("", markup)


# --- blocks ---------------------------------------------------------------------------------


def _paragraph(node: SyntaxTreeNode, ctx: _Ctx, *, bare: bool = False) -> list[str]:
    """A paragraph's blocks: display formulas in it become blocks of their own.

    ``bare`` (a tight list item) leaves text without ``<p>`` when the paragraph
    holds no display formula.
    """
    if not node.children:
        return []
    inline = node.children[0]
    blocks: list[str] = []
    current: list[str] = []
    inner = ctx.deeper()

    def flush() -> None:
        text = _trim("".join(current))
        current.clear()
        if _visible(text):
            blocks.append(f"<p>{text}</p>")

    for child in inline.children:
        if child.type != "text" or not ctx.room(1):
            current.append(_inline_node(child, inner))
            continue
        pieces = PLACEHOLDER.split(child.content)
        for n, piece in enumerate(pieces):
            if n % 2 == 0:
                current.append(_text(piece, inner))
                continue
            item = ctx.maths[int(piece)]
            if item.display:
                flush()
                blocks.append(f"<tg-math-block>{escape_html(item.tex.strip())}</tg-math-block>")
            else:
                current.append(_math(item, inner))
    if bare and not blocks:
        text = _trim("".join(current))
        if not _visible(text):
            return []
        # rendered one level deeper than needed: harmless, and keeps one code path
        return [text]
    flush()
    return blocks


def _heading(node: SyntaxTreeNode, ctx: _Ctx) -> list[str]:
    tag = node.tag if re.fullmatch(r"h[1-6]", node.tag) else "h3"
    if not node.children:
        return []
    text = _trim(_inline(node.children[0], ctx.deeper()))
    return [f"<{tag}>{text}</{tag}>"] if _visible(text) else []


def _code(content: str, info: str, ctx: _Ctx) -> list[str]:
    body = restore_raw(content, ctx.maths).rstrip("\n")
    if not body.strip():
        return []
    language = code_language(info)
    if language == "math" and ctx.room(1):
        return [f"<tg-math-block>{escape_html(body.strip())}</tg-math-block>"]
    if language and ctx.room(2):
        return [
            f'<pre><code class="language-{escape_attr(language)}">{escape_html(body)}</code></pre>'
        ]
    return [f"<pre>{escape_html(body)}</pre>"]


def _list_items(node: SyntaxTreeNode, ctx: _Ctx) -> list[str]:
    """The ``<li>`` of a list whose ``<ul>``/``<ol>`` opens at ``ctx.depth``."""
    inner = ctx.deeper(2)
    items = []
    for item in node.children:
        parts: list[str] = []
        for child in item.children:
            if child.type == "paragraph" and child.hidden:  # a tight list's paragraph
                parts += _paragraph(child, inner, bare=True)
            else:
                parts += _blocks(child, inner)
        items.append(f"<li>{''.join(parts)}</li>")
    return items


def _list_open(node: SyntaxTreeNode) -> tuple[str, str]:
    if node.type != "ordered_list":
        return "<ul>", "</ul>"
    start = _list_start(node)
    return (f'<ol start="{start}">' if start != 1 else "<ol>"), "</ol>"


def _list_start(node: SyntaxTreeNode) -> int:
    try:
        return int(str(node.attrs.get("start", 1)))
    except ValueError:
        return 1


def _flat_list(node: SyntaxTreeNode, ctx: _Ctx) -> list[str]:
    """A list too deep to nest: its items as paragraphs with a text marker."""
    blocks: list[str] = []
    start = _list_start(node)
    for index, item in enumerate(node.children):
        marker = f"{start + index}. " if node.type == "ordered_list" else "– "
        first = True
        for child in item.children:
            rendered = _blocks(child, ctx)
            if first and rendered and rendered[0].startswith("<p>"):
                rendered[0] = f"<p>{escape_html(marker)}{rendered[0][3:]}"
                first = False
            blocks += rendered
    return blocks


def _list(node: SyntaxTreeNode, ctx: _Ctx) -> list[str]:
    if not ctx.room(2 + _ROOM_INSIDE):
        return _flat_list(node, ctx)
    opening, closing = _list_open(node)
    items = _list_items(node, ctx)
    return [opening + "".join(items) + closing] if items else []


def _quote(node: SyntaxTreeNode, ctx: _Ctx) -> list[str]:
    if not ctx.room(1 + _ROOM_INSIDE):
        return _children(node, ctx)
    inner = "".join(_children(node, ctx.deeper()))
    return [f"<blockquote>{inner}</blockquote>"] if inner else []


def _cells(row: SyntaxTreeNode, ctx: _Ctx) -> list[tuple[str, str, str]]:
    """(tag, align, inline HTML) for each cell of a table row."""
    cells = []
    for cell in row.children:
        style = str(cell.attrs.get("style", ""))
        align = match.group(1) if (match := _ALIGN.search(style)) else ""
        text = _trim(_inline(cell.children[0], ctx)) if cell.children else ""
        cells.append((cell.tag if cell.tag in ("th", "td") else "td", align, text))
    return cells


def _table_rows(node: SyntaxTreeNode, ctx: _Ctx) -> list[list[tuple[str, str, str]]]:
    cell_ctx = ctx.deeper(3)
    return [_cells(row, cell_ctx) for section in node.children for row in section.children]


def _row_html(cells: list[tuple[str, str, str]]) -> str:
    return (
        "<tr>"
        + "".join(
            f'<{tag} align="{align}">{text}</{tag}>' if align else f"<{tag}>{text}</{tag}>"
            for tag, align, text in cells
        )
        + "</tr>"
    )


def _wide_table(rows: list[list[tuple[str, str, str]]]) -> list[str]:
    """A table wider than Telegram allows, as a list: one item per row, "header: value"."""
    header = [text for _, _, text in rows[0]]
    items = []
    for row in rows[1:]:
        pairs = [
            f"<b>{header[c]}</b>: {text}" if c < len(header) and _visible(header[c]) else text
            for c, (_, _, text) in enumerate(row)
            if _visible(text)
        ]
        items.append(f"<li>{'; '.join(pairs)}</li>")
    return ["<ul>" + "".join(items) + "</ul>"] if items else []


def _table(node: SyntaxTreeNode, ctx: _Ctx) -> list[str]:
    if not ctx.room(3 + 2):
        return [f"<p>{escape_html(_plain(node, ctx))}</p>"]
    rows = _table_rows(node, ctx)
    if not rows:
        return []
    if max(len(row) for row in rows) > RICH_MAX_COLUMNS:
        return _wide_table(rows)
    return ["<table>" + "".join(_row_html(row) for row in rows) + "</table>"]


def _plain(node: SyntaxTreeNode, ctx: _Ctx) -> str:
    """A node's text, formulas as their source (for the rare table nested too deep)."""
    if node.type in ("text", "code_inline"):
        return restore_raw(node.content, ctx.maths)
    return " ".join(_plain(child, ctx) for child in node.children)


def _children(node: SyntaxTreeNode, ctx: _Ctx) -> list[str]:
    return [block for child in node.children for block in _blocks(child, ctx)]


def _blocks(node: SyntaxTreeNode, ctx: _Ctx) -> list[str]:
    kind = node.type
    if kind == "paragraph":
        return _paragraph(node, ctx)
    if kind == "heading":
        return _heading(node, ctx)
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, ctx)
    if kind == "blockquote":
        return _quote(node, ctx)
    if kind == "fence":
        return _code(node.content, node.info, ctx)
    if kind == "code_block":
        return _code(node.content, "", ctx)
    if kind == "hr":
        return ["<hr>"]
    if kind == "table":
        return _table(node, ctx)
    if kind == "html_block":
        text = escape_html(node.content.strip())
        return [f"<p>{text}</p>"] if text else []
    if kind == "inline":
        text = _trim(_inline(node, ctx.deeper()))
        return [f"<p>{text}</p>"] if _visible(text) else []
    return _children(node, ctx)


# --- top-level units and splitting ----------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """A top-level block; a list or table also knows its items, to be split between them."""

    html: str
    items: tuple[str, ...] = ()
    opening: str = ""
    closing: str = ""
    first_number: int | None = None  # an ordered list's first number

    def pieces(self, start: int, stop: int) -> str:
        """Items ``start:stop`` in their own list or table."""
        opening = self.opening
        if self.first_number is not None:
            number = self.first_number + start
            opening = f'<ol start="{number}">' if number != 1 else "<ol>"
        return opening + "".join(self.items[start:stop]) + self.closing


def _units(node: SyntaxTreeNode, ctx: _Ctx) -> list[_Unit]:
    kind = node.type
    if kind in ("bullet_list", "ordered_list") and ctx.room(2 + _ROOM_INSIDE):
        items = _list_items(node, ctx)
        if not items:
            return []
        opening, closing = _list_open(node)
        first = _list_start(node) if kind == "ordered_list" else None
        return [_Unit(opening + "".join(items) + closing, tuple(items), opening, closing, first)]
    if kind == "table" and ctx.room(5):
        rows = _table_rows(node, ctx)
        if rows and max(len(row) for row in rows) <= RICH_MAX_COLUMNS:
            head = "<table>" + _row_html(rows[0])
            body = tuple(_row_html(row) for row in rows[1:])
            return [_Unit(head + "".join(body) + "</table>", body, head, "</table>")]
    return [_Unit(block) for block in _blocks(node, ctx)]


def _markdown_units(markdown: str) -> list[_Unit]:
    tree, maths = parse_markdown(markdown)
    ctx = _Ctx(maths)
    return [unit for child in tree.children for unit in _units(child, ctx)]


@dataclass(frozen=True)
class _Room:
    chars: int
    blocks: int

    def takes(self, size: RichSize) -> bool:
        return size.chars <= self.chars and size.blocks <= self.blocks


def _fit_unit(unit: _Unit, room: _Room) -> list[str]:
    """One unit as pieces that each fit ``room``: between items, else cut as text."""
    if room.takes(measure_rich(unit.html)):
        return [unit.html]
    if not unit.items:
        return _cut(unit.html, room)
    wrapper = measure_rich(unit.pieces(0, 0))  # the list or table around its items
    runs: list[tuple[int, int]] = []
    start, chars, blocks = 0, wrapper.chars, wrapper.blocks
    for index, item in enumerate(unit.items):
        size = measure_rich(item)
        if index > start and not room.takes(RichSize(chars + size.chars, blocks + size.blocks, 0)):
            runs.append((start, index))
            start, chars, blocks = index, wrapper.chars, wrapper.blocks
        chars, blocks = chars + size.chars, blocks + size.blocks
    runs.append((start, len(unit.items)))
    pieces: list[str] = []
    for first, stop in runs:
        piece = unit.pieces(first, stop)
        pieces += [piece] if room.takes(measure_rich(piece)) else _cut(piece, room)
    return pieces


def _cut(block: str, room: _Room) -> list[str]:
    """A single block too long for a message, cut as text with its tags re-opened."""
    return split_block(block, max(room.chars, 2))


def _pack(units: list[_Unit], room: _Room) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    used = RichSize(0, 0, 0)
    for unit in units:
        for piece in _fit_unit(unit, room):
            size = measure_rich(piece)
            if parts[-1] and not room.takes(
                RichSize(used.chars + size.chars, used.blocks + size.blocks, 0)
            ):
                parts.append([])
                used = RichSize(0, 0, 0)
            parts[-1].append(piece)
            used = RichSize(used.chars + size.chars, used.blocks + size.blocks, 0)
    return [part for part in parts if part]


def _plain_line(text: str) -> str:
    """Plain text (a header, a footer) as escaped inline HTML, lines kept."""
    return "<br>".join(escape_html(line) for line in text.strip().splitlines())


def _marker(index: int, total: int) -> str:
    return f"({index}/{total})"


@lru_cache(maxsize=2048)
def _render_answer(markdown: str, header: str, hidden: bool) -> tuple[str, ...]:
    units = _markdown_units(markdown)
    if not units:
        raise RenderError("the answer renders to an empty message")
    title = header.strip()
    head = f"<p><b>{_plain_line(title)}</b></p>" if title and not hidden else ""
    summary_title = _plain_line(title or _DEFAULT_HIDDEN_TITLE)
    # Room for what every part may add: the marker, the header, the hidden form's summary.
    overhead = measure_rich(
        f"<details><summary>{summary_title} (9999/9999): {HIDDEN_SUMMARY}</summary>"
        f"<p><i>(9999/9999)</i></p>{head}</details>"
    )
    room = _Room(RICH_TEXT_LIMIT - overhead.chars, RICH_MAX_BLOCKS - overhead.blocks)
    parts = _pack(units, room)
    total = len(parts)
    bodies = []
    for index, part in enumerate(parts, start=1):
        marker = _marker(index, total) if total > 1 else ""
        body = "".join(part)
        if hidden:
            label = f"{summary_title} {marker}" if marker else summary_title
            bodies.append(f"<details><summary>{label}: {HIDDEN_SUMMARY}</summary>{body}</details>")
        else:
            top = head if index == 1 else ""
            numbered = f"<p><i>{marker}</i></p>" if marker else ""
            bodies.append(numbered + top + body)
    return tuple(bodies)


def render_rich_answer(markdown: str, *, header: str = "", hidden: bool = False) -> tuple[str, ...]:
    """The answer as rich-message HTML bodies (``InputRichMessage.html``), almost always one.

    ``header`` is plain text (escaped here), e.g. "Model answer", shown as a
    bold first line. ``hidden`` is the group form: the body inside a closed
    ``<details>`` whose ``<summary>`` says "Model answer: tap to open" (the
    header, if given, takes the place of "Model answer"). ``<details>`` rather
    than ``<tg-spoiler>``: a spoiler is inline and cannot hold the tables,
    code blocks and display formulas an answer is made of, and a summary says
    what is hidden.

    An answer over a limit (characters, blocks) is split between blocks into
    parts numbered "(1/2)", "(2/2)"; the caller puts the keyboard on the last.
    Raises :class:`RenderError` for an answer with nothing to show.
    """
    return _render_answer(markdown, header, hidden)


@lru_cache(maxsize=4096)
def _question_body(question: str) -> str:
    units = _markdown_units(question)
    if not units:
        raise RenderError("the question renders to an empty message")
    return "".join(unit.html for unit in units)


def render_rich_question(question: str, *, header: str = "", footer: str = "") -> str | None:
    """Rich HTML for a question whose text holds a formula or code; ``None`` for a plain one.

    A plain question is sent as ordinary HTML, as before: rich messages cost
    the broadcast more and add nothing to a line of prose. ``header`` (bold)
    and ``footer`` are plain text lines, escaped here. A question must fit in
    one message: :class:`RenderError` otherwise (the content checker reports it).
    """
    if not needs_rich(question):
        return None
    body = _question_body(question)
    top = f"<p><b>{_plain_line(header)}</b></p>" if header.strip() else ""
    bottom = f"<p>{_plain_line(footer)}</p>" if footer.strip() else ""
    markup = top + body + bottom
    size = measure_rich(markup)
    if not size.fits():
        raise RenderError(f"the question is over a rich-message limit: {size}")
    return markup


_CODE_NODES = frozenset({"code_inline", "fence", "code_block"})


def _has_code(nodes: Iterable[SyntaxTreeNode]) -> bool:
    return any(node.type in _CODE_NODES or _has_code(node.children) for node in nodes)


@lru_cache(maxsize=4096)
def needs_rich(markdown: str) -> bool:
    """Whether ``markdown`` holds a formula, a code span or a code block.

    Those are what plain Telegram HTML shows badly (Unicode formulas, no language).
    """
    tree, maths = parse_markdown(markdown)
    return bool(maths) or _has_code(tree.children)
