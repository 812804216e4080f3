"""The bank checker: structure (loader) plus what only rendering can tell."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from bot.content.loader import BankReport, LoadedDeck, check_directory, load_bank
from bot.content.problems import Problem
from bot.domain.content import DIFFICULTIES, Bank, Deck, Question
from bot.domain.topics import TOPIC_KEY_MAX
from bot.rendering import RenderError, render_answer
from bot.rendering.texts import question_card

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


def button_id_problems(decks: Iterable[LoadedDeck]) -> list[Problem]:
    """Deck ids and tags too long for a button's callback data (Telegram: 64 bytes).

    /quiz, /weak and /topics put the id in the button as it is; one longer than
    ``TOPIC_KEY_MAX`` gets a hash there instead, which works but cannot be read
    in a log or a test. Each occurrence is reported where it is written.
    """
    problems: list[Problem] = []
    limit = f"longer than {TOPIC_KEY_MAX} characters, too long for a button's callback data"
    for item in decks:
        if len(item.deck.id) > TOPIC_KEY_MAX:
            line, column = item.source_map.locate(("deck", "id"))
            problems.append(
                Problem(item.display, line, column, f"deck id {item.deck.id!r} is {limit}")
            )
        for index, question in enumerate(item.deck.questions):
            for number, tag in enumerate(question.tags):
                if len(tag) > TOPIC_KEY_MAX:
                    line, column = item.source_map.locate(("questions", index, "tags", number))
                    problems.append(
                        Problem(
                            item.display, line, column, f"{question.id}: tag {tag!r} is {limit}"
                        )
                    )
    return problems


def check_bank(directory: Path) -> BankReport:
    """What `content check` reports: every problem, ids too long for buttons included."""
    report = check_directory(directory, question_check=telegram_checks)
    too_long = button_id_problems(report.decks)
    if not too_long:
        return report
    return replace(report, bank=None, problems=tuple(sorted([*report.problems, *too_long])))


def load_checked_bank(directory: Path) -> Bank:
    """The bank, fully checked; raises BankError with every problem.

    Ids too long for buttons do not stop the bot (its buttons carry their hash; start-up
    logs them, bot/content/cache.py); `content check` fails on them.
    """
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
