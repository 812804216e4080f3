"""Every question and answer in ``content/`` renders to messages Telegram accepts.

The bank is written by hand (or generated) in Markdown with TeX; this test
renders all of it exactly as the bot will and runs each message through the
offline Telegram-HTML checker, one test per deck file so a failure names it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.domain.content import DeckFile
from bot.rendering import escape_html, render_answer, render_question
from tests.support.telegram_html import telegram_html_problems

CONTENT = Path(__file__).resolve().parents[2] / "content"
DECK_FILES = sorted(CONTENT.glob("*.yaml"))


def _problems(label: str, messages: list[str]) -> list[str]:
    return [
        f"{label} part {n}: {problem}"
        for n, message in enumerate(messages, start=1)
        for problem in telegram_html_problems(message)
    ]


def test_the_bank_is_there() -> None:
    assert len(DECK_FILES) >= 5, "content/ should hold the question bank"


@pytest.mark.parametrize("path", DECK_FILES, ids=lambda p: p.name)
def test_deck_renders_to_valid_telegram_html(path: Path) -> None:
    deck = DeckFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    problems: list[str] = []
    for question in deck.questions:
        label = f"{path.name}:{question.id}"
        text = render_question(question.question, header=f"<b>{escape_html(deck.deck.title)}</b>")
        problems += _problems(f"{label} question", [text])
        problems += _problems(f"{label} answer", render_answer(question.answer))
        spoiled = render_answer(question.answer, spoiler=True, header="<b>Answer</b>")
        problems += _problems(f"{label} spoiler answer", spoiled)
    assert problems == []
