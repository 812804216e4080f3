"""Anki field HTML to the bank's Markdown, and the media it referred to.

Anki stores each field as an HTML fragment from its editor: lines as ``<div>`` or
``<br>``, ``<b>``/``<i>``, lists, entities, images and ``[sound:…]``; formulas as MathJax
``\\(…\\)`` and ``\\[…\\]``. We keep what Telegram can show through our Markdown:
line breaks (``<br>`` a line break, ``<div>``/``<p>`` a paragraph), bold and italic,
bullet and numbered lists, links, code, and the MathJax formulas verbatim; other tags
are dropped with their text kept, and images and sounds are dropped and counted.

Text is escaped for Markdown as it is emitted, so a literal ``*`` or ``_`` in a card
stays literal. Two escapes cannot be the usual backslash: ``\\[`` and ``\\(`` open
formulas in our renderer, so a ``[`` that would start a line (a link reference) and a
``(`` that would follow ``]`` (a link) are written as character references.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["MEDIA_REFERENCE", "SOUND", "html_to_markdown", "media_names"]

SOUND = re.compile(r"\[sound:([^\]]*)\]")
MEDIA_REFERENCE = re.compile(
    r"""<(?:img|audio|video|source)\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I
)
_MATH = re.compile(r"(\\\(.*?\\\)|\\\[.*?\\\])", re.DOTALL)
_ANKI_LATEX = re.compile(r"\[\$\$\](.*?)\[/\$\$\]|\[\$\](.*?)\[/\$\]", re.DOTALL)
_ESCAPED = re.compile(r"([\\`*_~|<&$])")
_LINE_START = re.compile(r"^([#>+=-]|\d+[.)]|\[(?=[^\]]*\]:))")
_LANGUAGE = re.compile(r"[A-Za-z0-9_+#.-]+")
_WHITESPACE = re.compile(r"[ \t\n\r\f\xa0]+")
_BLOCKS = frozenset({"div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"})
_SKIPPED = frozenset({"script", "style", "head", "title"})
_MEDIA_TAGS = frozenset({"img", "audio", "video", "source", "object", "embed", "iframe"})
_MARKERS = {"b": "**", "strong": "**", "i": "*", "em": "*"}

# Tokens of the converted text, before breaks are settled: text, or one of these.
_BR = "\x00br"
_PAR = "\x00par"


def media_names(html: str) -> set[str]:
    """The media files a field refers to: images, sounds, videos."""
    return {*SOUND.findall(html), *MEDIA_REFERENCE.findall(html)}


def html_to_markdown(html: str) -> str:
    """The field as bank Markdown (media left out)."""
    html = SOUND.sub("", html)
    html = _ANKI_LATEX.sub(
        lambda m: f"\\[{m.group(1)}\\]" if m.group(1) is not None else f"\\({m.group(2)}\\)",
        html,
    )
    parser = _Converter()
    parser.feed(html)
    parser.close()
    return parser.markdown()


def _escape(text: str, at_line_start: bool) -> str:
    parts = _MATH.split(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(part)  # a formula: verbatim
            continue
        escaped = _ESCAPED.sub(r"\\\1", part).replace("](", "]&#40;")
        if at_line_start and index == 0:
            escaped = _LINE_START.sub(_line_start_escape, escaped)
        out.append(escaped)
    return "".join(out)


def _line_start_escape(match: re.Match[str]) -> str:
    mark = match.group(1)
    if mark == "[":
        return "&#91;"
    if mark[0].isdigit():
        return f"{mark[:-1]}\\{mark[-1]}"
    return f"\\{mark}"


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []  # settled output
        self.pending: list[str] = []  # break tokens not yet written
        self.indent = 0  # continuation indent inside a list item
        self.lists: list[list[int]] = []  # per open list: [ordered, next number]
        self.open_marks: list[tuple[str, int]] = []  # (marker, index in out)
        self.skip = 0
        self.pre: list[str] | None = None
        self.language = ""
        self.code: list[str] | None = None
        self.link: list[str] = []
        self.at_line_start = True

    # -- output ------------------------------------------------------------------------

    def _flush_breaks(self) -> None:
        pending, self.pending = self.pending, []
        if not pending or not self.out:
            return
        self._rstrip()
        if self.indent:
            self.out.append("\\\n" + " " * self.indent)
        elif _PAR in pending or len(pending) > 1:
            self.out.append("\n\n")
        else:
            self.out.append("\\\n")
        self.at_line_start = True

    def _rstrip(self) -> None:
        while self.out and self.out[-1].endswith(" ") and self.out[-1].strip(" ") == "":
            self.out.pop()
        if self.out:
            self.out[-1] = self.out[-1].rstrip(" ")

    def _emit(self, text: str, *, raw: bool = False) -> None:
        if self.pre is not None:
            self.pre.append(text)
            return
        if self.code is not None:
            self.code.append(text)
            return
        if not raw:
            text = _WHITESPACE.sub(" ", text)
            if (self.at_line_start or not self.out or self.out[-1].endswith(" ")) and (
                not self.pending
            ):
                text = text.lstrip(" ")
            if not text:
                return
            if self.pending:
                self._flush_breaks()
                text = text.lstrip(" ")
                if not text:
                    return
            text = _escape(text, self.at_line_start)
        else:
            self._flush_breaks()
        self.out.append(text)
        self.at_line_start = False

    def _break(self, token: str) -> None:
        if self.pre is not None:
            self.pre.append("\n")
        elif self.code is not None:
            self.code.append(" ")
        else:
            self.pending.append(token)

    # -- parser callbacks --------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skip += 1
        if self.skip or tag in _MEDIA_TAGS:
            return
        if tag == "br":
            self._break(_BR)
        elif tag in _BLOCKS:
            self._break(_PAR)
        elif tag in ("ul", "ol"):
            self._break(_PAR if not self.lists else _BR)
            self.lists.append([tag == "ol", 1])
        elif tag == "li":
            self._item()
        elif tag == "tr":
            self._break(_BR)
        elif tag in ("td", "th"):
            if not self.at_line_start and not self.pending:
                self._emit(" · ", raw=True)
        elif tag == "pre":
            self._break(_PAR)
            self.pre = []
            self.language = ""
        elif tag == "code" and self.pre is None:
            self.code = []
        elif tag == "code":
            classes = (dict(attrs).get("class") or "").split()
            language = next((c[9:] for c in classes if c.startswith("language-")), "")
            self.language = language if _LANGUAGE.fullmatch(language) else ""
        elif tag in _MARKERS and self.pre is None and self.code is None:
            self._flush_breaks_if_text_follows()
            self.open_marks.append((_MARKERS[tag], len(self.out)))
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith(("http://", "https://")) and self.pre is None and self.code is None:
                self._flush_breaks_if_text_follows()
                self.link.append(href)
                self.open_marks.append(("[", len(self.out)))
            else:
                self.link.append("")

    def _flush_breaks_if_text_follows(self) -> None:
        # A marker opens where its text will start: after any pending break.
        if self.pending:
            self._flush_breaks()

    def _item(self) -> None:
        if not self.lists:
            self.lists.append([False, 1])
        ordered, number = self.lists[-1]
        marker = f"{number}. " if ordered else "- "
        self.lists[-1][1] += 1
        depth = sum(len(f"{n}. ") if o else 2 for o, n in self.lists[:-1])
        self.pending = []
        self._rstrip()
        if self.out:
            self.out.append("\n")
        self.out.append(" " * depth + marker)
        self.indent = depth + len(marker)
        self.at_line_start = True

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in _BLOCKS:
            self._break(_PAR)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.indent = sum(len(f"{n}. ") if o else 2 for o, n in self.lists) if self.lists else 0
            self.pending.append(_PAR if not self.lists else _BR)
        elif tag == "pre" and self.pre is not None:
            body, self.pre = "".join(self.pre).strip("\n"), None
            if body.strip():
                fence = "`" * max(3, _longest_run(body, "`") + 1)
                self._break(_PAR)
                self._emit(f"{fence}{self.language}\n{body}\n{fence}", raw=True)
                self.at_line_start = True
            self._break(_PAR)
        elif tag == "code" and self.code is not None:
            body, self.code = _WHITESPACE.sub(" ", "".join(self.code)).strip(), None
            if body:
                ticks = "`" * (_longest_run(body, "`") + 1)
                pad = " " if body.startswith("`") or body.endswith("`") else ""
                self._emit(f"{ticks}{pad}{body}{pad}{ticks}", raw=True)
        elif tag in _MARKERS:
            self._close_mark(_MARKERS[tag])
        elif tag == "a" and self.link:
            href = self.link.pop()
            if href:
                self._close_mark("[", href)

    def _close_mark(self, marker: str, href: str = "") -> None:
        for position in range(len(self.open_marks) - 1, -1, -1):
            if self.open_marks[position][0] == marker:
                break
        else:
            return
        _, start = self.open_marks.pop(position)
        inner = "".join(self.out[start:])
        del self.out[start:]
        body = inner.strip(" ")
        nested = any(m == marker for m, _ in self.open_marks)
        if not body or "\n" in body or (nested and marker != "["):
            self.out.append(inner)
            return
        lead = " " if inner.startswith(" ") else ""
        trail = " " if inner.endswith(" ") else ""
        if marker == "[":
            target = href.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
            self.out.append(f"{lead}[{body}]({target}){trail}")
        else:
            self.out.append(f"{lead}{marker}{body}{marker}{trail}")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self._emit(data)

    def markdown(self) -> str:
        self.pending = []
        while self.open_marks:
            self.open_marks.pop()
        text = "".join(self.out)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return "\n".join(line.rstrip() for line in text.strip().split("\n")).strip()


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(r) for r in runs), default=0)
