"""Are a question's formulas right? TeX parsed for real, macros kept to what clients render.

Rich messages send each formula's TeX source to the client, which typesets it
(KaTeX or MathJax style). A formula that does not parse shows as an error box
or raw source, one with a macro the client does not know shows in red. So
every formula is:

- parsed with latex2mathml (a real TeX-math parser; its error is reported),
  plus the checks it is lenient about: balanced braces, known environments;
- kept to the allow-list in :mod:`bot.content.tex_macros`;
- linted for what the seed import carried over from plain text and renders
  wrong though it parses: ``q^(1-x)`` (only the "(" is raised), ``>=`` (two
  symbols), ``exp`` written as letters (italic e·x·p), non-ASCII symbols.

:func:`formula_problems` takes one :class:`Question` and returns offsets in
its text, so the bank checker (``content check``, with ``file:line:col``) and
uploaded decks (which have no file) use the same rules. Pure.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from latex2mathml import converter, exceptions

from bot.content.tex_macros import (
    ALLOWED_CONTROL_SYMBOLS,
    ALLOWED_ENVIRONMENTS,
    ALLOWED_MACROS,
)
from bot.domain.content import Question
from bot.rendering.markdown_source import find_math

__all__ = ["FormulaProblem", "formula_problems", "tex_problems"]

Field = Literal["question", "answer"]

_CONTROL = re.compile(r"\\(?:([A-Za-z]+)|(.)|$)", re.DOTALL)
_ENVIRONMENT = re.compile(r"\\(begin|end)\s*\{([^{}]*)\}")
_TEXT_GROUP = re.compile(r"\\(?:text[a-z]*|operatorname\*?|math(?:rm|sf|tt|bf|it))\s*\{")
_SCRIPT_PAREN = re.compile(r"[\^_]\(")
_TWO_CHAR_RELATIONS = {">=": "\\geq", "<=": "\\leq", "!=": "\\neq", "=>": "\\Rightarrow"}
_TWO_CHAR = re.compile("|".join(re.escape(k) for k in _TWO_CHAR_RELATIONS))
_FUNCTIONS = ("exp", "log", "ln", "max", "min", "sin", "cos", "tan", "tanh", "sigmoid", "softmax")
# Not after a backslash or a letter, nor as a script's label (X_{max}).
_FUNCTION_LETTERS = re.compile(
    rf"(?<![\\A-Za-z])(?<![_^]\{{)(?<![_^])({'|'.join(_FUNCTIONS)})(?![A-Za-z])"
)
# n choose x written as the calculator's "nCx" (or "nPx"), as the seed import carried it.
_CALCULATOR_CHOOSE = re.compile(r"(?<![A-Za-z\\])([a-z0-9]+)([CP])([a-z0-9]+)(?![A-Za-z])")
_NON_ASCII_HINTS = {
    "«": "\\ll",
    "»": "\\gg",
    "−": "-",
    "×": "\\times",
    "≤": "\\leq",
    "≥": "\\geq",
    "≠": "\\neq",
    "→": "\\to",
    "∈": "\\in",
    "∑": "\\sum",
    "≈": "\\approx",
    "·": "\\cdot",
    "…": "\\ldots",
}

_PARSER_ERRORS: dict[type[Exception], str] = {
    exceptions.NumeratorNotFoundError: "a fraction without its numerator",
    exceptions.DenominatorNotFoundError: "a fraction without its denominator",
    exceptions.ExtraLeftOrMissingRightError: "a \\left without its \\right (or the reverse)",
    exceptions.MissingSuperScriptOrSubscriptError: "^ or _ with nothing after it",
    exceptions.DoubleSubscriptsError: "two subscripts on one base (x_a_b): group them, x_{a_b}",
    exceptions.DoubleSuperscriptsError: "two superscripts on one base (x^a^b): group them",
    exceptions.NoAvailableTokensError: "the formula ends where more was expected",
    exceptions.InvalidStyleForGenfracError: "an invalid \\genfrac style",
    exceptions.MissingEndError: "a \\begin without its \\end",
    exceptions.InvalidAlignmentError: "an invalid column alignment",
    exceptions.InvalidWidthError: "an invalid width",
    exceptions.LimitsMustFollowMathOperatorError: "\\limits after what is not an operator",
}


@dataclass(frozen=True)
class FormulaProblem:
    """One thing wrong with a formula: ``offset`` is where, in the question's ``field``."""

    field: Field
    offset: int
    message: str


def _parser_message(error: Exception) -> str:
    name = type(error).__name__
    explained = _PARSER_ERRORS.get(type(error))
    detail = str(error).strip()
    text = explained or detail or name
    if explained and detail:
        text = f"{explained} ({detail})"
    return f"does not parse: {text} [latex2mathml {name}]"


def _mask_groups(tex: str) -> str:
    """``tex`` with the contents of ``\\text{...}``-like groups blanked (same length)."""
    chars = list(tex)
    for match in _TEXT_GROUP.finditer(tex):
        depth, index = 1, match.end()
        while index < len(tex):
            char = tex[index]
            if char == "}":
                depth -= 1
                if depth == 0:
                    break
            elif char == "{":
                depth += 1
            skip = 2 if char == "\\" else 1  # an escaped character is text too
            for blank in range(index, min(index + skip, len(tex))):
                chars[blank] = " "
            index += skip
    return "".join(chars)


def _brace_problems(tex: str) -> list[tuple[int, str]]:
    opened: list[int] = []
    index = 0
    while index < len(tex):
        char = tex[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            opened.append(index)
        elif char == "}":
            if not opened:
                return [(index, "'}' closes no '{'")]
            opened.pop()
        index += 1
    return [(opened[-1], "'{' is never closed")] if opened else []


def _macro_problems(tex: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for match in _CONTROL.finditer(tex):
        name, symbol = match.group(1), match.group(2)
        if name is not None:
            if name not in ALLOWED_MACROS:
                hint = difflib.get_close_matches(name, ALLOWED_MACROS, n=1, cutoff=0.75)
                suggestion = f" (did you mean \\{hint[0]}?)" if hint else ""
                found.append(
                    (
                        match.start(),
                        f"\\{name} is outside the KaTeX/MathJax subset clients render{suggestion}",
                    )
                )
        elif symbol is None:
            found.append((match.start(), "a lone backslash at the end"))
        elif symbol not in ALLOWED_CONTROL_SYMBOLS and not symbol.isspace():
            found.append((match.start(), f"\\{symbol} is outside the KaTeX/MathJax subset"))
    for match in _ENVIRONMENT.finditer(tex):
        if match.group(2).strip() not in ALLOWED_ENVIRONMENTS:
            found.append(
                (match.start(), f"environment {match.group(2)!r} is outside the common subset")
            )
    return found


def _lint_problems(tex: str) -> list[tuple[int, str]]:
    """What parses but renders wrong (plain-text habits carried into TeX)."""
    masked = _mask_groups(tex)
    found: list[tuple[int, str]] = []
    for match in _SCRIPT_PAREN.finditer(masked):
        mark = match.group(0)[0]
        close = masked.find(")", match.end())
        inner = masked[match.end() : close] if close > 0 else "..."
        found.append(
            (
                match.start(),
                f"'{mark}(' raises or lowers only the '(': group the script, {mark}{{{inner}}}",
            )
        )
    for match in _CALCULATOR_CHOOSE.finditer(masked):
        n, kind, k = match.groups()
        fix = f"\\binom{{{n}}}{{{k}}}" if kind == "C" else f"{{}}^{{{n}}}P_{{{k}}}"
        found.append((match.start(), f"'{match.group(0)}' reads as a product: write {fix}"))
    for match in _TWO_CHAR.finditer(masked):
        macro = _TWO_CHAR_RELATIONS[match.group(0)]
        found.append((match.start(), f"'{match.group(0)}' renders as two symbols: write {macro}"))
    for match in _FUNCTION_LETTERS.finditer(masked):
        name = match.group(1)
        fix = f"\\{name}" if name in ALLOWED_MACROS else f"\\operatorname{{{name}}}"
        found.append((match.start(), f"'{name}' renders as italic letters: write {fix}"))
    for index, char in enumerate(masked):
        if ord(char) > 0x7F:
            hint = _NON_ASCII_HINTS.get(char)
            fix = f": write {hint}" if hint else ": write it as a TeX macro"
            found.append((index, f"non-ASCII character {char!r} in a formula{fix}"))
    return found


def tex_problems(tex: str) -> list[tuple[int, str]]:
    """Problems of one formula's TeX source, as (offset in ``tex``, message), in order."""
    if not tex.strip():
        return [(0, "empty formula")]
    found = _brace_problems(tex) + _macro_problems(tex) + _lint_problems(tex)
    try:
        converter.convert(tex)
    except RecursionError:
        found.append((0, "does not parse: nested too deeply"))
    except Exception as error:  # latex2mathml raises plain exception classes
        found.append((0, _parser_message(error)))
    return sorted(found)


def _shown(raw: str) -> str:
    return raw if len(raw) <= 60 else raw[:57] + "..."


def formula_problems(question: Question) -> tuple[FormulaProblem, ...]:
    """Every problem of every formula in a question and its answer, with offsets."""
    found: list[FormulaProblem] = []
    fields: tuple[Field, ...] = ("question", "answer")
    for field in fields:
        text: str = getattr(question, field)
        for math in find_math(text):
            for offset, message in tex_problems(math.tex):
                found.append(
                    FormulaProblem(
                        field,
                        math.start + offset,
                        f"formula {_shown(math.raw)}: {message}",
                    )
                )
    return tuple(found)
