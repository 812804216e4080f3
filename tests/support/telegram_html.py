"""A strict checker for message texts sent with ``parse_mode="HTML"``.

Telegram rejects a whole message ("Bad Request: can't parse entities") when
its HTML is off, and the failure only shows up in production. This module
re-implements the documented rules of the Bot API "HTML style" formatting
(https://core.telegram.org/bots/api#html-style) and the documented nesting
restrictions of message entities, so tests can check every rendered message
offline. Where the documentation is vague it errs on the strict side:

* only the documented tags and attributes are accepted;
* ``<``, ``>`` and ``&`` must be escaped everywhere outside tags, and only
  ``&lt; &gt; &amp; &quot;`` and numeric character references are allowed;
* tags are balanced and properly nested; ``pre``/``code`` contain only text
  (except ``<code class="language-…">`` directly inside ``<pre>``); links,
  custom emoji, code and blockquotes do not contain each other, blockquotes
  do not nest, and a ``<pre>`` is not put inside a blockquote;
* the visible text (tags removed, entities decoded) is not blank and is at
  most ``limit`` UTF-16 code units long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.rendering.text import utf16_len

__all__ = ["telegram_html_problems", "visible_text"]

# Tag aliases Telegram accepts, mapped to the entity they produce.
_ENTITY_OF_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_ALLOWED_ATTRS = {
    "a": {"href"},
    "code": {"class"},
    "blockquote": {"expandable"},
    "span": {"class"},
    "tg-emoji": {"emoji-id"},
}
# Bold, italic, underline, strikethrough and spoiler may nest with anything
# (but never inside pre/code); the remaining entities may not contain each other.
_FREE = {"bold", "italic", "underline", "strikethrough", "spoiler"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_ATTR = r"""[A-Za-z][A-Za-z0-9_-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_START_TAG = re.compile(rf"<([A-Za-z][A-Za-z0-9-]*)((?:\s+{_ATTR})*)\s*(/?)>")
_END_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_ATTR_ITEM = re.compile(
    r"""([A-Za-z][A-Za-z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)
_ENTITY = re.compile(r"&(?:([A-Za-z]+)|#([0-9]+)|#[xX]([0-9A-Fa-f]+));")
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]+")


@dataclass
class _Open:
    tag: str
    entity: str
    language: bool = False


def _decode_entities(raw: str, where: str, problems: list[str]) -> str:
    """Decode the allowed entities in ``raw``; report bare ``&``/``<``/``>``."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "&":
            match = _ENTITY.match(raw, i)
            decoded = _entity_value(match) if match else None
            if match is None or decoded is None:
                snippet = raw[i : i + 12]
                problems.append(f"Unsupported or unescaped entity {snippet!r} {where}")
                out.append(ch)
                i += 1
                continue
            out.append(decoded)
            i = match.end()
            continue
        if ch in "<>":
            problems.append(f"Unescaped {ch!r} {where}")
        out.append(ch)
        i += 1
    return "".join(out)


def _entity_value(match: re.Match[str]) -> str | None:
    name, decimal, hexadecimal = match.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _parse_attrs(raw: str, problems: list[str], where: str) -> dict[str, str | None]:
    attrs: dict[str, str | None] = {}
    for match in _ATTR_ITEM.finditer(raw):
        name = match.group(1).lower()
        values = [v for v in match.group(2, 3, 4) if v is not None]
        value = (
            _decode_entities(values[0], f"in attribute {name} {where}", problems)
            if values
            else None
        )
        if name in attrs:
            problems.append(f"Duplicate attribute {name!r} {where}")
        attrs[name] = value
    return attrs


def _check_attrs(tag: str, attrs: dict[str, str | None], where: str, problems: list[str]) -> None:
    allowed = _ALLOWED_ATTRS.get(tag, set())
    for name in attrs:
        if name not in allowed:
            problems.append(f"Unsupported attribute {name!r} of <{tag}> {where}")
    if tag == "a" and not attrs.get("href"):
        problems.append(f"<a> without href {where}")
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        problems.append(f"Unsupported start tag 'span' without class=\"tg-spoiler\" {where}")
    if tag == "tg-emoji" and not (attrs.get("emoji-id") or "").isdigit():
        problems.append(f"<tg-emoji> needs a numeric emoji-id {where}")
    if tag == "blockquote" and "expandable" in attrs and attrs["expandable"] is not None:
        problems.append(f"Attribute 'expandable' takes no value {where}")
    if tag == "code" and "class" in attrs:
        value = attrs["class"] or ""
        if not _LANGUAGE_CLASS.fullmatch(value):
            problems.append(f"Bad code class {value!r} {where}")


def _nesting_problem(tag: str, entity: str, stack: list[_Open], language: bool) -> str | None:
    """Why ``tag`` may not be opened inside ``stack``, or ``None`` if it may."""
    if not stack:
        return "a language class is only allowed on <code> inside <pre>" if language else None
    parent = stack[-1]
    if parent.entity == "code":
        return "no tags are allowed inside <code>"
    if parent.entity == "pre":
        return None if tag == "code" else "only <code> is allowed inside <pre>"
    if language:
        return "a language class is only allowed on <code> directly inside <pre>"
    if entity in _FREE:
        return None
    ancestors = {o.entity for o in stack}
    if entity == "blockquote":
        clash = ancestors & {"blockquote", "link", "custom_emoji"}
        return f"<blockquote> cannot be inside {sorted(clash)}" if clash else None
    if entity == "pre" and "blockquote" in ancestors:
        return "<pre> cannot be inside <blockquote>"
    clash = ancestors & {"link", "custom_emoji"}
    return f"<{tag}> cannot be inside {sorted(clash)}" if clash else None


def _handle_start(match: re.Match[str], stack: list[_Open], problems: list[str]) -> None:
    tag = match.group(1).lower()
    where = f"at byte {match.start()}"
    if tag not in _ENTITY_OF_TAG or match.group(3):
        problems.append(f"Unsupported start tag {match.group(0)!r} {where}")
        return
    attrs = _parse_attrs(match.group(2), problems, where)
    _check_attrs(tag, attrs, where, problems)
    entity = _ENTITY_OF_TAG[tag]
    language = tag == "code" and "class" in attrs
    reason = _nesting_problem(tag, entity, stack, language)
    if reason:
        problems.append(f"Bad nesting of <{tag}> {where}: {reason}")
    stack.append(_Open(tag, entity, language))


def _handle_end(match: re.Match[str], stack: list[_Open], problems: list[str]) -> None:
    tag = match.group(1).lower()
    where = f"at byte {match.start()}"
    if not stack:
        problems.append(f"Unmatched end tag </{tag}> {where}")
        return
    if stack[-1].tag != tag:
        problems.append(f"End tag </{tag}> does not match open <{stack[-1].tag}> {where}")
        # Recover like a lenient parser: close up to the matching tag if any.
        names = [o.tag for o in stack]
        if tag in names:
            del stack[len(names) - 1 - names[::-1].index(tag) :]
        return
    stack.pop()


def _scan(text: str, problems: list[str]) -> str:
    """Walk ``text`` once, collecting problems; return the visible text."""
    visible: list[str] = []
    stack: list[_Open] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            end = _END_TAG.match(text, i)
            if end:
                _handle_end(end, stack, problems)
                i = end.end()
                continue
            start = _START_TAG.match(text, i)
            if start:
                _handle_start(start, stack, problems)
                i = start.end()
                continue
        j = i + 1
        while j < len(text) and text[j] != "<":
            j += 1
        chunk = _decode_entities(text[i:j], f"near byte {i}", problems)
        visible.append(chunk)
        i = j
    for still_open in stack:
        problems.append(f"Unclosed start tag <{still_open.tag}>")
    return "".join(visible)


def visible_text(text: str) -> str:
    """The text a user sees: tags removed and entities decoded (no checks)."""
    return _scan(text, [])


def telegram_html_problems(text: str, *, limit: int = 4096) -> list[str]:
    """Everything Telegram would reject in ``text``; an empty list means valid."""
    problems: list[str] = []
    shown = _scan(text, problems)
    if not shown.strip():
        problems.append("message text is empty")
    size = utf16_len(shown)
    if size > limit:
        problems.append(f"message is too long: {size} UTF-16 code units > {limit}")
    return problems
