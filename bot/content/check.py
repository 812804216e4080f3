"""The bank checker: structure (loader) plus what only rendering can tell."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from bot.content.loader import BankReport, check_directory, load_bank
from bot.domain.content import DIFFICULTIES, Bank, Deck, Question
from bot.rendering import RenderError, render_answer
from bot.texts import question_card

# The longest label the bot puts above a question ("Question of the day · Wed 30 Sep").
LONGEST_LABEL = "Question of the day · Wed 30 Sep"


def telegram_checks(deck: Deck, question: Question) -> Iterable[tuple[str, str]]:
    """Problems only rendering finds: a question too long for one message, a broken answer."""
    try:
        question_card(deck, question, label=LONGEST_LABEL)
    except RenderError as error:
        yield "question", f"question does not fit one Telegram message: {error}"
    for spoiler in (False, True):
        try:
            render_answer(question.answer, spoiler=spoiler, header="<b>Model answer</b>")
        except RenderError as error:
            yield "answer", f"answer cannot be rendered: {error}"
            break


def check_bank(directory: Path) -> BankReport:
    return check_directory(directory, question_check=telegram_checks)


def load_checked_bank(directory: Path) -> Bank:
    """The bank, fully checked; raises BankError with every problem."""
    return load_bank(directory, question_check=telegram_checks)


def summary_line(bank: Bank) -> str:
    per_deck = ", ".join(f"{deck.id} {len(deck.questions)}" for deck in bank.decks)
    return f"OK: {len(bank.decks)} decks, {len(bank)} questions ({per_deck})"


def stats_lines(bank: Bank) -> list[str]:
    lines = [f"{len(bank)} questions in {len(bank.decks)} decks", "", "By deck:"]
    lines += [f"  {deck.id:<20} {len(deck.questions):>4}  {deck.title}" for deck in bank.decks]
    tags = Counter(tag for question in bank for tag in question.tags)
    lines += ["", "By tag:"]
    lines += [
        f"  {tag:<20} {count:>4}"
        for tag, count in sorted(tags.items(), key=lambda i: (-i[1], i[0]))
    ]
    untagged = sum(1 for question in bank if not question.tags)
    if untagged:
        lines.append(f"  {'(none)':<20} {untagged:>4}")
    levels = Counter(question.difficulty for question in bank)
    lines += ["", "By difficulty:"]
    lines += [f"  {level:<20} {levels.get(level, 0):>4}" for level in DIFFICULTIES]
    lines.append(f"  {'(unset)':<20} {levels.get(None, 0):>4}")
    return lines
