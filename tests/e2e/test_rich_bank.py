"""Every answer of the bank, private and group form, as the bot sends it, is accepted by
the fake Bot API's rich-message rules (tests/support/telegram_rich.py) in one message.

One looping test rather than ~620 end-to-end runs: the bodies are built once, exactly as
the bot builds them (bot.study.answers.answer_content, bot.study.questions.rich_card_text),
and each goes through the check the fake's ``sendRichMessage`` applies
(tests.support.fake_telegram_methods.check_rich_message). The end-to-end tests send a few of
them through the real Application.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.content.loader import load_bank
from bot.rendering import texts
from bot.study.answers import answer_content
from bot.study.questions import daily_label, rich_card_text
from tests.support.fake_telegram_methods import check_rich_message
from tests.support.fake_telegram_spec import ApiError

CONTENT = Path(__file__).resolve().parents[2] / "content"


def test_every_answer_and_formula_question_of_the_bank_is_one_accepted_rich_message() -> None:
    bank = load_bank(CONTENT)
    questions = [question for deck in bank.decks for question in deck.questions]
    assert len(questions) >= 300, "the bank should hold ~310 questions"
    refused: list[str] = []
    split: list[str] = []
    rich_questions = 0
    label = daily_label(date(2026, 3, 2))
    for question in questions:
        for group in (False, True):
            bodies = answer_content(question, group=group).rich()
            assert bodies is not None
            if len(bodies) != 1:
                split.append(f"{question.id} ({'group' if group else 'private'})")
            for body in bodies:
                try:
                    check_rich_message({"html": body})
                except ApiError as error:
                    refused.append(f"{question.id} group={group}: {error.description}")
        for footer in ("", texts.REVEALED_FOOTER, texts.SKIPPED_FOOTER):
            card = rich_card_text(bank, question.id, label, footer)
            if card is None:
                continue
            rich_questions += 1
            try:
                check_rich_message({"html": card})
            except ApiError as error:
                refused.append(f"question card {question.id}: {error.description}")
    assert refused == []
    assert split == [], "no answer of today's bank needs more than one rich message"
    assert rich_questions > 0, "some questions hold a formula or code"
