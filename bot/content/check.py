"""The bank checker: structure (loader) plus what only rendering can tell."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from bot.content.formulas import formula_problems
from bot.content.loader import BankReport, LoadedDeck, check_directory, load_bank
from bot.content.problems import Problem
from bot.content.value_positions import position_in_value
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


def formula_check_problems(decks: Iterable[LoadedDeck]) -> list[Problem]:
    """Formulas that do not parse, use a macro clients do not render, or render wrong.

    Each is reported at the formula's own line and column in the deck file
    (the rules, shared with uploaded decks, are in bot/content/formulas.py).
    """
    problems: list[Problem] = []
    for item in decks:
        try:
            text = item.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        for index, question in enumerate(item.deck.questions):
            for found in formula_problems(question):
                start = item.position(index, found.field)
                value = getattr(question, found.field)
                line, column = position_in_value(text, start, value, found.offset)
                problems.append(
                    Problem(item.display, line, column, f"{question.id}: {found.message}")
                )
    return problems


def check_bank(directory: Path) -> BankReport:
    """What `content check` reports: every problem, ids too long for buttons and formulas too."""
    report = check_directory(directory, question_check=telegram_checks)
    extra = [*button_id_problems(report.decks), *formula_check_problems(report.decks)]
    if not extra:
        return report
    return replace(report, bank=None, problems=tuple(sorted([*report.problems, *extra])))


def load_checked_bank(directory: Path) -> Bank:
    """The bank, fully checked; raises BankError with every problem.

    Ids too long for buttons and formula problems do not stop the bot (buttons carry
    a hash of a long id, start-up logs it, bot/content/cache.py; a formula Telegram
    cannot typeset still arrives as its source); `content check` fails on them.
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
