"""Formulas are right: each parsed for real, macros kept to what clients render, bank clean.

The rules work on one Question (uploaded decks reuse them); ``content check``
adds the formula's own line and column in the deck file.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content.check import check_bank, formula_check_problems
from bot.content.formulas import FormulaProblem, formula_problems, tex_problems
from bot.content.loader import check_directory
from bot.content.value_positions import position_in_value
from bot.domain.content import Question
from bot.service.cli import main
from tools.seed_importers.aman import FORMULA_FIXES, fix_formulas

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        (r"\frac{a}{b} + \sum_{i=1}^{n} x_i \le \sqrt[3]{y}", []),
        (r"\begin{aligned} a &= b \\ &= c \end{aligned}", []),
        (r"\text{max over } \max_{i} \operatorname{softmax}(z)", []),
        (r"P(y \mid x) \approx \{0, 1\} \, \|w\|", []),
        (r"\frac{a}{b", [(8, "'{' is never closed")]),
        (r"x}", [(1, "'}' closes no '{'")]),
        (
            r"\fracc{a}{b}",
            [
                (
                    0,
                    r"\fracc is outside the KaTeX/MathJax subset clients render"
                    r" (did you mean \frac?)",
                )
            ],
        ),
        (
            r"\begin{tikzpicture}x\end{tikzpicture}",
            [
                (0, "environment 'tikzpicture' is outside the common subset"),
                (20, "environment 'tikzpicture' is outside the common subset"),
            ],
        ),
        (
            "365_p_30",
            [
                (
                    0,
                    "does not parse: two subscripts on one base (x_a_b): group them, x_{a_b} "
                    "[latex2mathml DoubleSubscriptsError]",
                )
            ],
        ),
        (
            r"\left( x",
            [
                (
                    0,
                    r"does not parse: a \left without its \right (or the reverse) "
                    "[latex2mathml ExtraLeftOrMissingRightError]",
                )
            ],
        ),
        (
            "x^",
            [
                (
                    0,
                    "does not parse: ^ or _ with nothing after it [latex2mathml "
                    "MissingSuperScriptOrSubscriptError]",
                )
            ],
        ),
        ("q^(1-x)", [(1, "'^(' raises or lowers only the '(': group the script, ^{1-x}")]),
        ("nCx p^x", [(0, r"'nCx' reads as a product: write \binom{n}{x}")]),
        ("t >= 2", [(2, r"'>=' renders as two symbols: write \geq")]),
        ("1/(1+exp(-x))", [(5, r"'exp' renders as italic letters: write \exp")]),
        ("X_{max} - X_min", []),
        (r"0 < \epsilon « 1", [(13, r"non-ASCII character '«' in a formula: write \ll")]),
        (r"\text{größe} = 1", []),
        ("a\\", [(1, "a lone backslash at the end")]),
        ("  ", [(0, "empty formula")]),
    ],
)
def test_tex_problems(tex: str, expected: list[tuple[int, str]]) -> None:
    assert tex_problems(tex) == expected


def test_problems_of_a_question_point_into_its_text() -> None:
    question = Question(
        id="q",
        question=r"Why \(t >= 2\)?",
        answer="Code `$x^(2)$` is code.\n\nBut $$q^(1-x)$$ and \\[\\foo\\] are not.",
    )
    problems = formula_problems(question)
    assert problems == (
        FormulaProblem(
            "question", 8, r"formula \(t >= 2\): '>=' renders as two symbols: write \geq"
        ),
        FormulaProblem(
            "answer",
            32,
            "formula $$q^(1-x)$$: '^(' raises or lowers only the '(': group the script, ^{1-x}",
        ),
        FormulaProblem(
            "answer",
            47,
            r"formula \[\foo\]: \foo is outside the KaTeX/MathJax subset clients render",
        ),
    )
    assert question.question[8:10] == ">="
    assert question.answer[32:34] == "^("
    assert question.answer[47:51] == r"\foo"


def test_positions_inside_literal_plain_and_quoted_values() -> None:
    text = 'a: |-\n  first\n  x \\(q\\) y\nb: plain \\(q\\)\nc: "quoted \\(q\\)"\nd: >-\n  folded\n'
    assert position_in_value(text, (1, 4), "first\nx \\(q\\) y", 10) == (3, 7)
    assert position_in_value(text, (4, 4), "plain \\(q\\)", 8) == (4, 12)
    assert position_in_value(text, (5, 4), "quoted \\(q\\)", 9) == (5, 14)
    assert position_in_value(text, (6, 4), "folded", 2) == (6, 4)  # unsure: the value's start
    assert position_in_value(text, (4, 4), "not what the file says", 3) == (4, 4)


DECK = """\
deck:
  id: maths
  title: Maths
  description: Formulas for the checker.
  source:
    name: Tests
    attribution: Written for the test suite.
questions:
  - id: binomial
    question: What is the binomial pmf \\(nCx\\)?
    answer: |-
      It is

      \\[p(x) = nCx p^x q^(n-x)\\]
  - id: fine
    question: "What is \\\\(\\\\sigma(x)\\\\)?"
    answer: The logistic function \\(\\frac{1}{1+e^{-x}}\\).
"""


def test_content_check_reports_formulas_with_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "maths.yaml").write_text(textwrap.dedent(DECK), encoding="utf-8")
    report = check_bank(tmp_path)
    assert report.bank is None
    found = [f"{Path(p.path).name}:{p.line}:{p.column}: {p.message}" for p in report.problems]
    assert found == [
        r"maths.yaml:10:42: binomial: formula \(nCx\): 'nCx' reads as a product: "
        r"write \binom{n}{x}",
        r"maths.yaml:14:16: binomial: formula \[p(x) = nCx p^x q^(n-x)\]: 'nCx' reads as a "
        r"product: write \binom{n}{x}",
        r"maths.yaml:14:25: binomial: formula \[p(x) = nCx p^x q^(n-x)\]: '^(' raises or lowers "
        "only the '(': group the script, ^{n-x}",
    ]
    assert main(["content", "check", str(tmp_path)]) == 1
    assert "maths.yaml:14:25: binomial" in capsys.readouterr().err + capsys.readouterr().out


def test_every_formula_in_the_bank_is_right() -> None:
    report = check_directory(REPO / "content")
    assert len(report.decks) == 5
    assert [str(problem) for problem in formula_check_problems(report.decks)] == []


def test_the_importer_fixes_the_formulas_the_page_has_wrong() -> None:
    for fix in FORMULA_FIXES:
        fixed, applied = fix_formulas(f"Before {fix.broken} after.")
        assert fixed == f"Before {fix.right} after."
        assert applied == [fix]
        assert formula_problems(Question(id="q", question="q", answer=fix.right)) == ()
    assert fix_formulas("untouched") == ("untouched", [])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "x",
                "^",
                "_",
                "{",
                "}",
                "(",
                ")",
                "\\",
                "\\frac",
                "\\left(",
                "\\right)",
                "\\foo",
                "\\begin{matrix}",
                "\\end{matrix}",
                "\\text{",
                "&",
                "\\\\",
                "«",
                " ",
                "nCx",
                ">=",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_any_formula_gets_problems_not_an_exception(tex: str) -> None:
    """Uploaded decks run these rules on anyone's text: they report, never raise."""
    for offset, message in tex_problems(tex):
        assert 0 <= offset <= len(tex)
        assert message
