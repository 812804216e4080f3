"""`content preview`: the messages of one question, rich or (--html) the fallback, exactly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.content.preview import PreviewError, preview
from bot.domain.content import Bank, Deck, Question, Source
from bot.service.cli import main

SOURCE = Source(name="Tests", attribution="Written for the test suite.")
ATTENTION = Question(
    id="scaled-attention",
    question=r"Why divide by \(\sqrt{d_k}\) in attention?",
    answer="So that the logits stay small:\n\n$$\\mathrm{softmax}(QK^T / \\sqrt{d_k}) V$$",
    tags=("transformers",),
)
PLAIN = Question(id="what-is-bias", question="What is bias?", answer="- An *error* & more")
BANK = Bank(
    (
        Deck(
            id="nlp",
            title="NLP",
            description="Test deck.",
            source=SOURCE,
            questions=(ATTENTION, PLAIN),
        ),
    )
)


def test_a_question_with_a_formula_and_its_answer_as_rich_messages() -> None:
    assert preview(BANK, "scaled-attention") == (
        "=== Question (rich message) ===\n"
        "<p><b>Question · NLP · #transformers</b></p>"
        "<p>Why divide by <tg-math>\\sqrt{d_k}</tg-math> in attention?</p>\n"
        "\n"
        "=== Answer (rich message) ===\n"
        "<p><b>Model answer</b></p><p>So that the logits stay small:</p>"
        "<tg-math-block>\\mathrm{softmax}(QK^T / \\sqrt{d_k}) V</tg-math-block>"
    )


def test_a_plain_question_stays_html_and_the_group_form_is_hidden() -> None:
    assert preview(BANK, " what-is-bias ", group=True) == (
        "=== Question (no formula or code: an ordinary HTML message) ===\n"
        "<b>Question · NLP</b>\n\nWhat is bias?\n"
        "\n"
        "=== Answer (rich message) ===\n"
        "<details><summary>Model answer: tap to open</summary>"
        "<ul><li>An <i>error</i> &amp; more</li></ul></details>"
    )


def test_html_shows_todays_fallback() -> None:
    assert preview(BANK, "scaled-attention", html=True) == (
        "=== Question (HTML message) ===\n"
        "<b>Question · NLP · #transformers</b>\n\nWhy divide by √(dₖ) in attention?\n"
        "\n"
        "=== Answer (HTML message) ===\n"
        "<b>Model answer</b>\n\nSo that the logits stay small:\n\nsoftmax(QKᵀ / √(dₖ)) V"
    )


def test_an_unknown_id_is_a_friendly_error() -> None:
    with pytest.raises(
        PreviewError,
        match=r"No question with id 'attention' in the bank\. "
        r"Did you mean: scaled-attention\?",
    ):
        preview(BANK, "attention")
    with pytest.raises(PreviewError, match=r"^No question with id 'zzz' in the bank\.$"):
        preview(BANK, "zzz")


DECK = """\
deck:
  id: nlp
  title: NLP
  description: Test deck.
  source:
    name: Tests
    attribution: Written for the test suite.
questions:
  - id: scaled-attention
    question: Why divide by \\(\\sqrt{d_k}\\) in attention?
    answer: |-
      | a | b |
      |---|---|
      | `x` | $y$ |
"""


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nlp.yaml").write_text(textwrap.dedent(DECK), encoding="utf-8")
    assert main(["content", "preview", "scaled-attention", "--content", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.endswith(
        "=== Answer (rich message) ===\n<p><b>Model answer</b></p><table><tr><th>a</th><th>b</th>"
        "</tr><tr><td><code>x</code></td><td><tg-math>y</tg-math></td></tr></table>\n"
    )
    assert main(["content", "preview", "nope", "--content", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "No question with id 'nope' in the bank.\n"
    assert main(["content", "preview", "x", "--content", str(tmp_path / "missing")]) == 1
    assert "has problems" in capsys.readouterr().err
