"""A strict checker for the HTML form of rich messages (``sendRichMessage``, Bot API 10.1).

The rules are those of /work/shared/telegram/rich-messages.md ("The HTML form", "Limits"),
which restates the official page; where it is vague this errs on the strict side, as
tests/support/telegram_html.py does for ordinary messages:

* only the listed tags, each with only its listed attributes; ``<code class="language-…">``
  only directly inside ``<pre>``; links only to http(s), ``mailto:``, ``tel:``,
  ``tg://user?id=`` and ``#anchor``; media only from http(s) URLs;
* tags balanced and properly nested; ``<``, ``>`` and ``&`` escaped everywhere else, only
  the listed named entities (and numeric ones);
* blocks where blocks may go: inline tags, paragraphs, headings, summaries, captions and
  table cells hold inline content only; lists hold ``li``, tables ``caption``/``tr``, rows
  ``th``/``td``; a ``details`` starts with its ``summary``; at most 20 columns a row;
* the limits: 32,768 characters of text (formula source included), 500 blocks (nested
  blocks, list items, table rows, quotations and details counted), 16 levels of nesting.

:func:`parse_rich_html` returns the problems and the ``RichMessage`` blocks the fake
server echoes back (``Message.rich_message``), in the spec's ``RichBlock*`` shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "RICH_MAX_BLOCKS",
    "RICH_MAX_COLUMNS",
    "RICH_MAX_DEPTH",
    "RICH_TEXT_LIMIT",
    "RichParse",
    "parse_rich_html",
    "rich_html_problems",
]

JSONDict = dict[str, Any]

RICH_TEXT_LIMIT = 32_768
RICH_MAX_BLOCKS = 500
RICH_MAX_DEPTH = 16
RICH_MAX_COLUMNS = 20

_INLINE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "mark": "marked",
    "sub": "subscript",
    "sup": "superscript",
    "tg-spoiler": "spoiler",
    "a": "url",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
    "tg-math": "mathematical_expression",
    "tg-reference": "reference",
    "br": "",
}
_MEDIA = {"img", "video", "audio", "tg-document", "tg-collage", "tg-slideshow", "tg-map"}
_HEADINGS = {f"h{n}" for n in range(1, 7)}
_BLOCKS = (
    {"p", "pre", "footer", "hr", "ul", "ol", "li", "blockquote", "cite", "aside", "table"}
    | {"caption", "tr", "th", "td", "details", "summary", "tg-math-block", "figure"}
    | {"figcaption", "input"}
    | _HEADINGS
    | _MEDIA
)
_VOID = {"br", "hr", "input", "img"}
_ATTRS: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "name"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "tg-time": frozenset({"unix", "format"}),
    "tg-reference": frozenset({"name"}),
    "code": frozenset({"class"}),
    "ol": frozenset({"start", "type", "reversed"}),
    "li": frozenset({"value", "type"}),
    "input": frozenset({"type", "checked"}),
    "blockquote": frozenset({"expandable"}),
    "table": frozenset({"bordered", "striped", "compact"}),
    "th": frozenset({"colspan", "rowspan", "align", "valign"}),
    "td": frozenset({"colspan", "rowspan", "align", "valign"}),
    "details": frozenset({"open"}),
    **{tag: frozenset({"src"}) for tag in _MEDIA},
}
# Tags whose content is inline only (text and inline tags).
_INLINE_ONLY = {"p", "footer", "summary", "caption", "cite", "figcaption", "th", "td", "aside"}
_INLINE_ONLY |= _HEADINGS
# Tags whose content is raw text only.
_TEXT_ONLY = {"code", "tg-math", "tg-math-block"}
# Where structural children must be: parent -> the only tags allowed directly inside.
_CHILDREN = {"ul": {"li"}, "ol": {"li"}, "table": {"caption", "tr"}, "tr": {"th", "td"}}
# Where structural tags may be: tag -> the parents it needs.
_PARENTS = {
    "li": {"ul", "ol"},
    "tr": {"table"},
    "th": {"tr"},
    "td": {"tr"},
    "caption": {"table"},
    "summary": {"details"},
    "cite": {"blockquote"},
    "figcaption": {"figure"},
    "input": {"li"},
}
# What counts toward the 500 blocks.
_COUNTED = (
    {"p", "pre", "footer", "hr", "ul", "ol", "li", "blockquote", "aside", "table", "tr"}
    | {"details", "tg-math-block", "figure"}
    | _HEADINGS
    | _MEDIA
)
_NAMED_ENTITIES = {
    "lt": "<",
    "gt": ">",
    "amp": "&",
    "quot": '"',
    "apos": "'",
    "nbsp": "\u00a0",
    "hellip": "…",
    "mdash": "—",
    "ndash": "–",
    "lsquo": "‘",
    "rsquo": "’",
    "ldquo": "“",
    "rdquo": "”",
}
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:", "tg://user?id=", "#")
_ALIGN = {"left", "center", "right"}
_VALIGN = {"top", "middle", "bottom"}
_LIST_TYPES = {"1", "a", "A", "i", "I"}

_ATTR = r"""[A-Za-z][A-Za-z0-9_-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_START_TAG = re.compile(rf"<([A-Za-z][A-Za-z0-9-]*)((?:\s+{_ATTR})*)\s*(/?)>")
_END_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_ATTR_ITEM = re.compile(
    r"""([A-Za-z][A-Za-z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)
_ENTITY = re.compile(r"&(?:([A-Za-z]+)|#([0-9]+)|#[xX]([0-9A-Fa-f]+));")
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]+")


@dataclass
class _Node:
    tag: str  # "" for the root
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[_Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


@dataclass(frozen=True)
class RichParse:
    """What Telegram would make of a rich HTML body: its problems (none: accepted), the
    ``RichBlock`` list it shows, its visible text and its counts against the limits."""

    problems: tuple[str, ...]
    blocks: tuple[JSONDict, ...]
    text: str
    block_count: int
    depth: int


def rich_html_problems(source: str) -> list[str]:
    """Everything Telegram would reject in a rich message's ``html``; empty means valid."""
    return list(parse_rich_html(source).problems)


def parse_rich_html(source: str) -> RichParse:
    problems: list[str] = []
    root = _tree(source, problems)
    counts = {"blocks": 0, "depth": 0}
    _check(root, [], problems, counts)
    text = _visible(root)
    if not text.strip():
        problems.append("rich message is empty")
    if len(text) > RICH_TEXT_LIMIT:
        problems.append(f"rich message is too long: {len(text)} characters > {RICH_TEXT_LIMIT}")
    if counts["blocks"] > RICH_MAX_BLOCKS:
        problems.append(f"too many blocks: {counts['blocks']} > {RICH_MAX_BLOCKS}")
    if counts["depth"] > RICH_MAX_DEPTH:
        problems.append(f"nesting too deep: {counts['depth']} levels > {RICH_MAX_DEPTH}")
    blocks = tuple(_blocks(root.children)) if not problems else ()
    return RichParse(tuple(problems), blocks, text, counts["blocks"], counts["depth"])


# -- the tree -----------------------------------------------------------------------------------


def _tree(source: str, problems: list[str]) -> _Node:
    root = _Node("")
    stack = [root]
    i = 0
    while i < len(source):
        if source[i] == "<":
            end = _END_TAG.match(source, i)
            if end:
                _close(end.group(1).lower(), stack, problems, i)
                i = end.end()
                continue
            start = _START_TAG.match(source, i)
            if start:
                _open(start, stack, problems)
                i = start.end()
                continue
        j = source.find("<", i + 1)
        j = len(source) if j < 0 else j
        chunk = _decode(source[i:j], f"near character {i}", problems)
        stack[-1].children.append(chunk)
        i = j
    for still_open in stack[1:]:
        problems.append(f"unclosed start tag <{still_open.tag}>")
    return root


def _open(match: re.Match[str], stack: list[_Node], problems: list[str]) -> None:
    tag = match.group(1).lower()
    where = f"at character {match.start()}"
    if tag not in _INLINE and tag not in _BLOCKS:
        problems.append(f"unsupported tag <{tag}> {where}")
    attrs: dict[str, str | None] = {}
    for item in _ATTR_ITEM.finditer(match.group(2)):
        name = item.group(1).lower()
        values = [v for v in item.group(2, 3, 4) if v is not None]
        if name in attrs:
            problems.append(f"duplicate attribute {name!r} of <{tag}> {where}")
        attrs[name] = _decode(values[0], f"in an attribute {where}", problems) if values else None
    node = _Node(tag, attrs)
    stack[-1].children.append(node)
    if match.group(3) and tag not in _VOID:
        problems.append(f"<{tag}/> is not a void tag {where}")
    if not match.group(3) and tag not in _VOID:
        stack.append(node)


def _close(tag: str, stack: list[_Node], problems: list[str], at: int) -> None:
    if tag in _VOID:
        problems.append(f"end tag </{tag}> of a void tag at character {at}")
        return
    if len(stack) == 1:
        problems.append(f"unmatched end tag </{tag}> at character {at}")
        return
    if stack[-1].tag != tag:
        problems.append(f"end tag </{tag}> does not match open <{stack[-1].tag}> at {at}")
        names = [n.tag for n in stack]
        if tag in names[1:]:
            del stack[len(names) - 1 - names[::-1].index(tag) :]
        return
    stack.pop()


def _decode(raw: str, where: str, problems: list[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "&":
            match = _ENTITY.match(raw, i)
            value = _entity(match) if match else None
            if match is None or value is None:
                problems.append(f"unsupported or unescaped entity {raw[i : i + 10]!r} {where}")
                out.append(ch)
                i += 1
                continue
            out.append(value)
            i = match.end()
            continue
        if ch in "<>":
            problems.append(f"unescaped {ch!r} {where}")
        out.append(ch)
        i += 1
    return "".join(out)


def _entity(match: re.Match[str]) -> str | None:
    name, decimal, hexadecimal = match.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


# -- the rules ----------------------------------------------------------------------------------


def _check(
    node: _Node, ancestors: list[_Node], problems: list[str], counts: dict[str, int]
) -> None:
    inside = [*ancestors, node] if node.tag else ancestors
    counts["depth"] = max(counts["depth"], len(inside))
    if node.tag:
        _check_placement(node, ancestors, problems)
        _check_attrs(node, ancestors, problems)
        if node.tag in _COUNTED:
            counts["blocks"] += 1
    allowed = _CHILDREN.get(node.tag)
    for child in node.children:
        if isinstance(child, str):
            if allowed is not None and child.strip():
                problems.append(f"text directly inside <{node.tag}>")
            continue
        if allowed is not None and child.tag not in allowed:
            problems.append(f"<{child.tag}> directly inside <{node.tag}>")
        if node.tag in _TEXT_ONLY or (node.tag == "pre" and child.tag != "code"):
            problems.append(f"<{child.tag}> inside <{node.tag}>, which holds text only")
        if child.tag == "summary" and _first_element(node) is not child:
            problems.append("<summary> must come first in <details>")
        if child.tag == "input" and _first_element(node) is not child:
            problems.append("<input> must start its <li>")
        if child.tag == "code" and node.tag == "pre" and len(_elements(node)) > 1:
            problems.append("<pre> holds one <code> at most")
        _check(child, inside, problems, counts)
    if node.tag == "details" and not any(
        isinstance(c, _Node) and c.tag == "summary" for c in node.children
    ):
        problems.append("<details> without <summary>")
    if node.tag == "tr":
        columns = sum(_int_attr(c, "colspan", 1) for c in _elements(node))
        if columns > RICH_MAX_COLUMNS:
            problems.append(f"a table row has {columns} columns > {RICH_MAX_COLUMNS}")


def _elements(node: _Node) -> list[_Node]:
    return [c for c in node.children if isinstance(c, _Node)]


def _first_element(node: _Node) -> _Node | None:
    for child in node.children:
        if isinstance(child, _Node):
            return child
        if child.strip():
            return None
    return None


def _check_placement(node: _Node, ancestors: list[_Node], problems: list[str]) -> None:
    tag = node.tag
    parent = ancestors[-1].tag if ancestors else ""
    needs = _PARENTS.get(tag)
    if needs is not None and parent not in needs:
        problems.append(f"<{tag}> outside {'/'.join(sorted(f'<{n}>' for n in needs))}")
    if tag in _BLOCKS and tag not in _PARENTS:
        inline_parent = next(
            (a.tag for a in reversed(ancestors) if a.tag in _INLINE or a.tag in _INLINE_ONLY),
            None,
        )
        if inline_parent is not None:
            problems.append(f"block <{tag}> inside <{inline_parent}>, which holds inline only")
    if tag in ("th", "td", "caption", "summary", "figcaption", "cite") and any(
        a.tag in _INLINE_ONLY for a in ancestors
    ):
        problems.append(f"<{tag}> nested in inline-only content")


def _check_attrs(node: _Node, ancestors: list[_Node], problems: list[str]) -> None:
    tag, attrs = node.tag, node.attrs
    allowed = _ATTRS.get(tag, frozenset())
    for name in attrs:
        if name not in allowed:
            problems.append(f"unsupported attribute {name!r} of <{tag}>")
    if tag == "a":
        href, anchor = attrs.get("href"), attrs.get("name")
        if (href is None) == (anchor is None):
            problems.append("<a> needs exactly one of href and name")
        elif href is not None and not href.startswith(_LINK_SCHEMES):
            problems.append(f"unsupported link {href!r}")
    if tag == "code" and "class" in attrs:
        parent = ancestors[-1].tag if ancestors else ""
        if parent != "pre":
            problems.append("a language class only on <code> directly inside <pre>")
        if not _LANGUAGE_CLASS.fullmatch(attrs["class"] or ""):
            problems.append(f"bad code class {attrs['class']!r}")
    if tag in _MEDIA and not (attrs.get("src") or "").startswith(("http://", "https://")):
        problems.append(f"<{tag}> needs an http(s) src")
    if tag == "tg-emoji" and not (attrs.get("emoji-id") or "").isdigit():
        problems.append("<tg-emoji> needs a numeric emoji-id")
    if tag == "tg-time" and not (attrs.get("unix") or "").isdigit():
        problems.append("<tg-time> needs a numeric unix")
    if tag == "input" and attrs.get("type") != "checkbox":
        problems.append('<input> must be type="checkbox"')
    if tag in ("th", "td"):
        if attrs.get("align", "left") not in _ALIGN:
            problems.append(f"bad align {attrs.get('align')!r}")
        if attrs.get("valign", "top") not in _VALIGN:
            problems.append(f"bad valign {attrs.get('valign')!r}")
        for span in ("colspan", "rowspan"):
            if span in attrs and not (attrs[span] or "").isdigit():
                problems.append(f"bad {span} {attrs[span]!r}")
    if tag in ("ol", "li") and "type" in attrs and attrs["type"] not in _LIST_TYPES:
        problems.append(f"bad list type {attrs['type']!r}")
    for number in ("start", "value"):
        if number in attrs and not (attrs[number] or "").lstrip("-").isdigit():
            problems.append(f"bad {number} {attrs[number]!r}")
    for flag in ("expandable", "open", "bordered", "striped", "compact", "reversed", "checked"):
        if flag in attrs and attrs[flag] is not None:
            problems.append(f"attribute {flag!r} takes no value")


def _int_attr(node: _Node, name: str, default: int) -> int:
    value = node.attrs.get(name)
    return int(value) if value is not None and value.isdigit() else default


def _visible(node: _Node) -> str:
    """The text counted against the limit: every text node, formula source included."""
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag == "br":
            parts.append("\n")
        else:
            parts.append(_visible(child))
    return "".join(parts)


# -- what Telegram echoes back: RichMessage.blocks ---------------------------------------------


def _rich_text(children: list[_Node | str]) -> Any:
    items: list[Any] = []
    for child in children:
        if isinstance(child, str):
            if child:
                items.append(child)
            continue
        kind = _INLINE.get(child.tag)
        if child.tag == "br":
            items.append("\n")
        elif kind == "mathematical_expression":
            items.append({"type": kind, "expression": child.text()})
        elif kind == "url" and child.attrs.get("href") is not None:
            items.append(
                {"type": "url", "text": _rich_text(child.children), "url": child.attrs["href"]}
            )
        elif kind == "url":
            items.append({"type": "anchor", "name": child.attrs.get("name")})
        elif kind:
            items.append({"type": kind, "text": _rich_text(child.children)})
        else:  # input, or anything else inline-ish: its text
            items.append(_rich_text(child.children))
    if len(items) == 1:
        return items[0]
    return items


def _blocks(children: list[_Node | str]) -> list[JSONDict]:
    out: list[JSONDict] = []
    loose: list[_Node | str] = []

    def flush() -> None:
        if any((c.strip() if isinstance(c, str) else True) for c in loose):
            out.append({"type": "paragraph", "text": _rich_text(loose)})
        loose.clear()

    for child in children:
        if isinstance(child, str) or child.tag in _INLINE or child.tag == "input":
            loose.append(child)
            continue
        flush()
        out.append(_block(child))
    flush()
    return out


def _block(node: _Node) -> JSONDict:
    tag = node.tag
    if tag in _HEADINGS:
        return {"type": "heading", "text": _rich_text(node.children), "size": int(tag[1])}
    if tag == "pre":
        code = next((c for c in node.children if isinstance(c, _Node)), None)
        block: JSONDict = {"type": "pre", "text": node.text()}
        language = (code.attrs.get("class") or "") if code is not None else ""
        if language:
            block["language"] = language.removeprefix("language-")
        return block
    if tag == "hr":
        return {"type": "divider"}
    if tag == "footer":
        return {"type": "footer", "text": _rich_text(node.children)}
    if tag == "tg-math-block":
        return {"type": "mathematical_expression", "expression": node.text()}
    if tag in ("ul", "ol"):
        items = []
        for number, item in enumerate(_elements(node), start=1):
            label = f"{number}." if tag == "ol" else "•"
            items.append({"label": label, "blocks": _blocks(item.children)})
        return {"type": "list", "items": items}
    if tag == "blockquote":
        cite = next((c for c in _elements(node) if c.tag == "cite"), None)
        block = {
            "type": "blockquote",
            "blocks": _blocks([c for c in node.children if c is not cite]),
        }
        if cite is not None:
            block["credit"] = _rich_text(cite.children)
        return block
    if tag == "aside":
        return {"type": "pull_quote", "text": _rich_text(node.children)}
    if tag == "table":
        rows = [row for row in _elements(node) if row.tag == "tr"]
        cells = [
            [
                {
                    "text": _rich_text(cell.children),
                    "is_header": cell.tag == "th",
                    "align": cell.attrs.get("align") or "left",
                    "valign": cell.attrs.get("valign") or "top",
                }
                for cell in _elements(row)
            ]
            for row in rows
        ]
        block = {"type": "table", "cells": cells}
        if "bordered" in node.attrs:
            block["is_bordered"] = True
        if "striped" in node.attrs:
            block["is_striped"] = True
        caption = next((c for c in _elements(node) if c.tag == "caption"), None)
        if caption is not None:
            block["caption"] = _rich_text(caption.children)
        return block
    if tag == "details":
        summary = next((c for c in _elements(node) if c.tag == "summary"), None)
        rest = [c for c in node.children if c is not summary]
        block = {
            "type": "details",
            "summary": _rich_text(summary.children) if summary else "",
            "blocks": _blocks(rest),
        }
        if "open" in node.attrs:
            block["is_open"] = True
        return block
    if tag == "p":
        return {"type": "paragraph", "text": _rich_text(node.children)}
    return {"type": tag.removeprefix("tg-"), "url": node.attrs.get("src")}  # media
