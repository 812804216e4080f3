"""`content preview QUESTION_ID`: what the bot would send for one question, without Telegram.

An author editing an answer wants to see the markup it becomes: the rich
message (real formulas, tables, code with its language) or, with ``--html``,
today's Telegram-HTML fallback with Unicode formulas and numbered parts.
Pure: a bank in, text out; the command line prints it.
"""

from __future__ import annotations

import difflib

from bot.domain.content import Bank, Deck, Question
from bot.rendering import escape_html, render_answer, render_question
from bot.rendering.rich import render_rich_answer, render_rich_question

__all__ = ["ANSWER_HEADER", "PreviewError", "preview"]

ANSWER_HEADER = "Model answer"
_LABEL = "Question"


class PreviewError(Exception):
    """No such question (the message says which ids are close)."""


def _find(bank: Bank, question_id: str) -> tuple[Deck, Question]:
    question = bank.question(question_id)
    deck = bank.deck_of(question_id)
    if question is None or deck is None:
        ids = [q.id for q in bank]
        close = [i for i in ids if question_id and question_id in i][:3]
        close = close or difflib.get_close_matches(question_id, ids, n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise PreviewError(f"No question with id {question_id!r} in the bank.{hint}")
    return deck, question


def _header_text(deck: Deck, question: Question) -> str:
    tags = " ".join(f"#{tag.replace('-', '_')}" for tag in question.tags)
    return " · ".join(part for part in (_LABEL, deck.title, tags) if part)


def _parts(title: str, bodies: tuple[str, ...] | list[str]) -> list[str]:
    if len(bodies) == 1:
        return [f"=== {title} ===", bodies[0]]
    lines = [f"=== {title}: {len(bodies)} messages ==="]
    for number, body in enumerate(bodies, start=1):
        lines += [f"--- message {number}/{len(bodies)} ---", body]
    return lines


def preview(bank: Bank, question_id: str, *, html: bool = False, group: bool = False) -> str:
    """The question's and the answer's message bodies, as the bot would send them.

    ``html`` shows the Telegram-HTML fallback instead of rich messages;
    ``group`` the group form of the answer (hidden until tapped).
    Raises :class:`PreviewError` for an unknown id.
    """
    deck, question = _find(bank, question_id.strip())
    header = _header_text(deck, question)
    lines: list[str] = []
    if html:
        card = render_question(question.question, header=f"<b>{escape_html(header)}</b>")
        lines += _parts("Question (HTML message)", [card])
        answer = render_answer(question.answer, header=f"<b>{ANSWER_HEADER}</b>", spoiler=group)
        lines += ["", *_parts("Answer (HTML message)", answer)]
        return "\n".join(lines)
    rich_card = render_rich_question(question.question, header=header)
    if rich_card is None:
        card = render_question(question.question, header=f"<b>{escape_html(header)}</b>")
        lines += _parts("Question (no formula or code: an ordinary HTML message)", [card])
    else:
        lines += _parts("Question (rich message)", [rich_card])
    answer_parts = render_rich_answer(question.answer, header=ANSWER_HEADER, hidden=group)
    lines += ["", *_parts("Answer (rich message)", answer_parts)]
    return "\n".join(lines)
