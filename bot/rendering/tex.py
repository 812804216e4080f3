"""TeX math to readable Unicode text.

Telegram cannot typeset math, so formulas in the bank are turned into plain
Unicode: Greek letters and symbols come from pylatexenc's macro table, while
the structure (scripts, fractions, roots, accents, font styles) is handled
here, because pylatexenc's own text conversion drops spaces after macros and
leaves ``x^2`` untouched. Sub- and superscripts use Unicode script characters
when every character has one (``T^2`` → ``T²``, ``\\theta_j`` → ``θⱼ``) and
fall back to ``^(...)``/``_(...)`` otherwise.

:func:`tex_to_text` never raises: on anything unexpected it returns the TeX
source, which is still more useful to a reader than an error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from pylatexenc.latex2text import LatexNodes2Text, get_default_latex_context_db
from pylatexenc.latexwalker import (
    LatexCharsNode,
    LatexCommentNode,
    LatexEnvironmentNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexMathNode,
    LatexSpecialsNode,
    LatexWalker,
)

__all__ = ["tex_to_text"]

_SUPERSCRIPTS = dict(
    zip(
        "0123456789+-−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθφχ'′*∗⊤⊺†",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᵠᵡ′′**ᵀᵀ†",
        strict=True,
    )
)
_SUBSCRIPTS = dict(
    zip(
        "0123456789+-−=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)

# Relations and binary operators get a space on each side: "a ≤ b".
_SPACED = frozenset(
    {
        "leq",
        "le",
        "geq",
        "ge",
        "neq",
        "ne",
        "approx",
        "sim",
        "simeq",
        "equiv",
        "cong",
        "propto",
        "in",
        "notin",
        "ni",
        "subset",
        "subseteq",
        "supset",
        "supseteq",
        "cup",
        "cap",
        "to",
        "rightarrow",
        "leftarrow",
        "Rightarrow",
        "Leftarrow",
        "leftrightarrow",
        "Leftrightarrow",
        "iff",
        "implies",
        "mapsto",
        "gets",
        "times",
        "cdot",
        "pm",
        "mp",
        "div",
        "odot",
        "otimes",
        "oplus",
        "ll",
        "gg",
        "perp",
        "mid",
        "wedge",
        "vee",
        "land",
        "lor",
        "setminus",
        "coloneqq",
        "triangleq",
    }
)
_SYMBOL_OVERRIDES = {
    "ne": "≠",
    "gets": "←",
    "iff": "⟺",
    "implies": "⟹",
    "coloneqq": "≔",
    "triangleq": "≜",
    "|": "‖",
}
# Macros that only size delimiters: drop them (and a following "." delimiter).
_SIZING = frozenset(
    {
        "left",
        "right",
        "big",
        "Big",
        "bigg",
        "Bigg",
        "bigl",
        "bigr",
        "Bigl",
        "Bigr",
        "biggl",
        "biggr",
        "Biggl",
        "Biggr",
        "middle",
    }
)
_PLAIN_ARG = frozenset(
    {
        "text",
        "textrm",
        "textit",
        "mathrm",
        "mathit",
        "operatorname",
        "mbox",
        "boxed",
        "textnormal",
    }
)
_STYLED_ARG = {
    "mathbf": "BOLD",
    "boldsymbol": "BOLD",
    "bm": "BOLD",
    "textbf": "BOLD",
    "mathbb": "DOUBLE-STRUCK",
    "mathcal": "SCRIPT",
    "mathscr": "SCRIPT",
    "mathfrak": "FRAKTUR",
    "mathsf": "SANS-SERIF",
    "mathtt": "MONOSPACE",
}
_ACCENTS = {
    "hat": "\u0302",
    "widehat": "\u0302",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "bar": "\u0304",
    "overline": "\u0305",
    "underline": "\u0332",
    "vec": "\u20d7",
    "dot": "\u0307",
    "ddot": "\u0308",
    "check": "\u030c",
}
_FRACTIONS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
_BINOMIALS = frozenset({"binom", "dbinom", "tbinom"})
# Big operators keep the space written after them: "∑ xᵢ", not "∑xᵢ".
_KEEP_POST_SPACE = frozenset(
    {
        "sum",
        "prod",
        "int",
        "iint",
        "oint",
        "bigcup",
        "bigcap",
        "coprod",
    }
)
_MATRICES = {"matrix": "", "pmatrix": "()", "bmatrix": "[]", "Bmatrix": "{}", "vmatrix": "||"}
_NEEDS_PARENS = re.compile(r"[\s+\-−=/<>±∓·×,]")


class _UnrenderableError(Exception):
    """The formula is malformed in a way that would produce garbage."""


@dataclass
class _Tok:
    """One piece of output; ``script`` marks a bare ``^``/``_`` from the source."""

    text: str
    script: bool = False
    word: bool = False  # a function name like "log": keep it apart from a following letter


@dataclass
class _Ctx:
    display: bool
    row_sep: str = "\n"
    cell_sep: str = " "


@cache
def _l2t() -> Any:
    return LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


@cache
def _macro_db() -> Any:
    return get_default_latex_context_db()


@cache
def _styled_char(ch: str, style: str) -> str:
    """``ch`` in a Unicode math alphabet (𝐱, ℝ, ℒ), or ``ch`` if there is none."""
    if "A" <= ch <= "Z" or "a" <= ch <= "z":
        base = f"{'CAPITAL' if ch.isupper() else 'SMALL'} {ch.upper()}"
    elif "0" <= ch <= "9":
        base = unicodedata.name(ch)  # "DIGIT ONE"
    else:
        name = unicodedata.name(ch, "")
        if not name.startswith("GREEK ") or " LETTER " not in name:
            return ch
        base = name.removeprefix("GREEK ").replace(" LETTER ", " ")
    for candidate in (f"MATHEMATICAL {style} {base}", f"{style} {base}"):
        try:
            return unicodedata.lookup(candidate)
        except KeyError:
            continue
    return ch


def _script(content: str, marker: str) -> str:
    table = _SUPERSCRIPTS if marker == "^" else _SUBSCRIPTS
    content = content.strip()
    if content and all(ch in table for ch in content):
        return "".join(table[ch] for ch in content)
    if len(content) == 1:
        return marker + content
    return f"{marker}({content})"


def _arg_nodes(node: Any) -> list[Any]:
    argd = getattr(node, "nodeargd", None)
    return [a for a in getattr(argd, "argnlist", None) or [] if a is not None]


class _Converter:
    """Walks pylatexenc nodes and produces Unicode text."""

    def __init__(self, ctx: _Ctx) -> None:
        self.ctx = ctx

    def nodes(self, nodelist: list[Any]) -> str:
        toks: list[_Tok] = []
        i = 0
        while i < len(nodelist):
            node = nodelist[i]
            i += 1
            if isinstance(node, LatexMacroNode) and not _arg_nodes(node):
                name = node.macroname
                if name in _BINOMIALS and i + 2 <= len(nodelist):
                    n, k = (self.arg(a).strip() for a in nodelist[i : i + 2])
                    toks.append(_Tok(f"C({n}, {k})"))
                    i += 2
                    continue
                if name in _PLAIN_ARG or name in _STYLED_ARG or name in _ACCENTS:
                    # The walker does not know these take an argument: take the next node.
                    if (
                        i < len(nodelist)
                        and isinstance(nodelist[i], LatexCharsNode)
                        and nodelist[i].chars.startswith("*")
                    ):
                        i += 1  # \operatorname*{...}
                    arg = nodelist[i] if i < len(nodelist) else None
                    i += 1 if arg is not None else 0
                    toks.append(_Tok(self._one_arg(name, self.arg(arg) if arg else "")))
                    continue
                if name in _SIZING:
                    if (
                        i < len(nodelist)
                        and isinstance(nodelist[i], LatexCharsNode)
                        and nodelist[i].chars.startswith(".")
                    ):
                        rest = nodelist[i].chars[1:]
                        toks.extend(_Tok(ch, script=ch in "^_") for ch in rest)
                        i += 1
                    continue
            toks.extend(self.node(node))
        return self._join(toks)

    def _join(self, toks: list[_Tok]) -> str:
        out: list[str] = []
        i = 0
        while i < len(toks):
            tok = toks[i]
            i += 1
            if tok.script:
                j = i
                while j < len(toks) and not toks[j].text.strip() and not toks[j].script:
                    j += 1
                if j < len(toks) and not toks[j].script:
                    out.append(_script(toks[j].text, tok.text))
                    i = j + 1
                    continue
            out.append(tok.text)
            if tok.word and i < len(toks) and toks[i].text[:1].isalnum():
                out.append(" ")
        return "".join(out)

    def arg(self, node: Any) -> str:
        if isinstance(node, LatexGroupNode):
            return self.nodes(node.nodelist)
        return self.nodes([node])

    def node(self, node: Any) -> list[_Tok]:
        if isinstance(node, LatexCharsNode):
            return [_Tok(ch, script=ch in "^_") for ch in node.chars]
        if isinstance(node, LatexGroupNode):
            return [_Tok(self.nodes(node.nodelist))]
        if isinstance(node, LatexMacroNode):
            return self.macro(node)
        if isinstance(node, LatexEnvironmentNode):
            return [_Tok(self.environment(node))]
        if isinstance(node, LatexMathNode):
            return [_Tok(self.nodes(node.nodelist))]
        if isinstance(node, LatexSpecialsNode):
            chars = node.specials_chars
            if chars == "&":
                return [_Tok(self.ctx.cell_sep)]
            return [_Tok(" " if chars == "~" else str(_l2t().specials_node_to_text(node)))]
        if isinstance(node, LatexCommentNode):
            return []
        return [_Tok(str(_l2t().node_to_text(node)))]

    def _one_arg(self, name: str, inner: str) -> str:
        if name in _STYLED_ARG:
            return "".join(_styled_char(ch, _STYLED_ARG[name]) for ch in inner)
        if name in _ACCENTS:
            mark = _ACCENTS[name]
            return unicodedata.normalize(
                "NFC", "".join(ch + mark if not ch.isspace() else ch for ch in inner)
            )
        return inner

    def macro(self, node: Any) -> list[_Tok]:
        name: str = node.macroname
        args = _arg_nodes(node)
        post = _Tok(" ") if node.macro_post_space else None
        if name == "\\":
            text = self.ctx.row_sep
        elif name in _FRACTIONS:
            if len(args) != 2:
                raise _UnrenderableError(name)
            parts = [self.arg(a).strip() for a in args]
            text = "/".join(f"({p})" if _NEEDS_PARENS.search(p) else p for p in parts)
        elif name == "sqrt":
            if not args:
                raise _UnrenderableError(name)
            inner = self.arg(args[-1]).strip()
            index = _script(self.arg(args[0]), "^") if len(args) == 2 else ""
            text = index + ("√" + inner if len(inner) == 1 else f"√({inner})")
        elif name in _PLAIN_ARG or name in _STYLED_ARG or name in _ACCENTS:
            text = self._one_arg(name, self.arg(args[-1]) if args else "")
        elif name in _SIZING:
            return []
        else:
            return self._symbol(node, name, post)
        return [_Tok(text)] + ([post] if post else [])

    def _symbol(self, node: Any, name: str, post: _Tok | None) -> list[_Tok]:
        spec = _macro_db().get_macro_spec(name)
        repl = _SYMBOL_OVERRIDES.get(name, getattr(spec, "simplify_repl", None))
        if spec is None and name not in _SYMBOL_OVERRIDES:
            # Unknown macro (\softmax, \argmax): show its name like an operator.
            return [_Tok(name, word=True)] + ([post] if post else [])
        if isinstance(repl, str) and "%" not in repl:
            text = repl
        elif isinstance(repl, str) and not _arg_nodes(node):
            raise _UnrenderableError(name)  # a template whose arguments are missing
        elif isinstance(repl, str):
            text = self._template(repl, node)
        elif _arg_nodes(node):
            # An accent or style pylatexenc implements as a function: its arguments
            # may hold math it cannot render, so keep just the content argument.
            text = self.arg(_arg_nodes(node)[-1])
        else:
            text = str(_l2t().macro_node_to_text(node))
        if name in _SPACED:
            return [_Tok(f" {text} ")]
        word = text.isalpha() and text.isascii() and len(text) > 1
        # TeX needs a space to end a macro name; it is not meant as output space.
        keep = post is not None and name in _KEEP_POST_SPACE
        return [_Tok(text, word=word)] + ([post] if post and keep else [])

    def _template(self, repl: str, node: Any) -> str:
        """Fill a pylatexenc template like ``"%s/%s"`` or ``"√(%(2)s)"`` with our rendering."""
        slots = node.nodeargd.argnlist
        rendered = [self.arg(a) if a is not None else "" for a in slots]
        try:
            if "%(" in repl:
                return repl % {str(i): text for i, text in enumerate(rendered, start=1)}
            return repl % tuple(rendered)
        except (TypeError, KeyError, ValueError):
            return rendered[-1] if rendered else ""

    def environment(self, node: Any) -> str:
        name = node.environmentname.rstrip("*")
        if name in _MATRICES:
            inner = _Converter(_Ctx(self.ctx.display, row_sep="; ", cell_sep=", "))
            body = re.sub(r"\s+([,;])", r"\1", _squeeze(inner.nodes(node.nodelist))).strip(" ;,")
            brackets = _MATRICES[name] or "[]"
            return f"{brackets[0]}{body}{brackets[1]}"
        row_sep = "\n" if self.ctx.display else "; "
        body = _Converter(_Ctx(self.ctx.display, row_sep=row_sep)).nodes(node.nodelist)
        return re.sub(r"[ \t]+;", ";", body)


def _squeeze(text: str) -> str:
    """Collapse runs of spaces and trim every line."""
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def tex_to_text(tex: str, *, display: bool = False) -> str:
    """Render the TeX math ``tex`` (without delimiters) as Unicode text.

    ``display`` allows line breaks (``\\\\`` in ``aligned``/``cases``); inline
    math is kept on one line. Returns ``tex`` itself if conversion fails.
    """
    try:
        walker = LatexWalker(tex, tolerant_parsing=True)
        nodelist, _, _ = walker.get_latex_nodes()
        text = _squeeze(
            _Converter(_Ctx(display, row_sep="\n" if display else "; ")).nodes(nodelist)
        )
    except Exception:
        return tex.strip()
    return text or tex.strip()
