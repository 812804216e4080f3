"""Load and validate a bank directory (``content/*.yaml``) into a ``Bank``.

Every problem is collected rather than stopping at the first one, so that a
contributor fixing a file sees all of its mistakes in one run, each with the
``file:line:column`` of the offending YAML node.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bot.content.problems import BankError, Problem
from bot.content.yaml_source import SourceMap, YamlSyntaxError, parse_yaml
from bot.domain.content import Bank, Deck, DeckFile, DeckHeader, Question, Source

# Extra checks on a valid question (rendering, length); return messages.
QuestionCheck = Callable[[Deck, Question], Iterable[tuple[str, str]]]

_KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(DeckFile.model_fields),
    "deck": tuple(DeckHeader.model_fields),
    "source": tuple(Source.model_fields),
    "question": tuple(Question.model_fields),
}


@dataclass(frozen=True)
class LoadedDeck:
    deck: Deck
    path: Path
    display: str
    source_map: SourceMap

    def position(self, question_index: int, key: str | None = None) -> tuple[int, int]:
        path: tuple[str | int, ...] = ("questions", question_index)
        if key is not None:
            path = (*path, key)
        return self.source_map.locate(path)


@dataclass(frozen=True)
class BankReport:
    """The outcome of checking a directory: the bank when clean, and every problem."""

    bank: Bank | None
    decks: tuple[LoadedDeck, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and self.bank is not None


def _key_context(loc: tuple[str | int, ...]) -> str:
    if not loc:
        return ""
    if loc[-1] == "deck" or loc == ("deck",):
        return "deck"
    if "source" in loc:
        return "source"
    if loc[0] == "questions":
        return "question"
    return "deck" if loc[0] == "deck" else ""


def _describe_loc(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _validation_problems(
    error: ValidationError, source_map: SourceMap, display: str
) -> list[Problem]:
    problems = []
    errors = error.errors()
    child_locs = {tuple(item["loc"])[:-1] for item in errors if item["loc"]}
    for item in errors:
        loc = tuple(item["loc"])
        kind = item["type"]
        if kind == "too_short" and any(
            c[: len(loc)] == loc for c in child_locs if len(c) >= len(loc)
        ):
            continue  # pydantic's echo of an invalid item, not a problem of its own
        message = str(item["msg"]).removeprefix("Value error, ")
        if kind == "extra_forbidden":
            key = str(loc[-1])
            known = _KNOWN_KEYS.get(_key_context(loc[:-1]), ())
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            allowed = ", ".join(known)
            text = f"unknown key {key!r}{suggestion}; allowed keys: {allowed}"
            line, column = source_map.locate(loc, prefer_key=True)
        elif kind == "missing":
            parent = _describe_loc(loc[:-1]) or "top level"
            text = f"{parent}: missing required key {loc[-1]!r}"
            line, column = source_map.locate(loc[:-1])
        else:
            text = f"{_describe_loc(loc)}: {message}"
            line, column = source_map.locate(loc)
        problems.append(Problem(display, line, column, text))
    return problems


def load_deck_file(
    path: Path, *, display: str | None = None
) -> tuple[LoadedDeck | None, list[Problem]]:
    """Parse and validate one deck file; never raises for bad content."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(shown, 1, 1, f"cannot read file: {error}")]
    try:
        parsed = parse_yaml(text)
    except YamlSyntaxError as error:
        return None, [Problem(shown, error.line, error.column, error.message)]
    problems = [
        Problem(shown, line, column, f"duplicate key {_describe_loc(key_path)!r}")
        for key_path, (line, column) in parsed.source_map.duplicate_keys
    ]
    if not isinstance(parsed.data, dict):
        return None, [
            *problems,
            Problem(shown, 1, 1, "expected a mapping with 'deck' and 'questions'"),
        ]
    try:
        deck_file = DeckFile.model_validate(parsed.data)
    except ValidationError as error:
        return None, problems + _validation_problems(error, parsed.source_map, shown)
    loaded = LoadedDeck(deck_file.to_deck(), path, shown, parsed.source_map)
    return (None if problems else loaded), problems


def check_directory(directory: Path, *, question_check: QuestionCheck | None = None) -> BankReport:
    """Load every ``*.yaml`` in ``directory`` (sorted by name) and check the whole bank."""
    if not directory.is_dir():
        return BankReport(None, (), (Problem(str(directory), 1, 1, "not a directory"),))
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        return BankReport(None, (), (Problem(str(directory), 1, 1, "no *.yaml deck files found"),))
    problems: list[Problem] = []
    loaded: list[LoadedDeck] = []
    for path in files:
        deck, file_problems = load_deck_file(path, display=_display_path(path))
        problems += file_problems
        if deck is not None:
            loaded.append(deck)
    problems += _duplicate_ids(loaded)
    if question_check is not None:
        for item in loaded:
            for index, question in enumerate(item.deck.questions):
                for key, message in question_check(item.deck, question):
                    line, column = item.position(index, key)
                    problems.append(
                        Problem(item.display, line, column, f"{question.id}: {message}")
                    )
    bank = None
    if not problems:
        bank = Bank(tuple(item.deck for item in loaded))
    return BankReport(bank, tuple(loaded), tuple(sorted(problems)))


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _duplicate_ids(loaded: list[LoadedDeck]) -> list[Problem]:
    problems: list[Problem] = []
    first_deck: dict[str, tuple[str, int, int]] = {}
    first_question: dict[str, tuple[str, int, int]] = {}
    for item in loaded:
        where = (item.display, *item.source_map.locate(("deck", "id")))
        if item.deck.id in first_deck:
            other = first_deck[item.deck.id]
            problems.append(
                Problem(
                    *where, f"duplicate deck id {item.deck.id!r} (first at {other[0]}:{other[1]})"
                )
            )
        else:
            first_deck[item.deck.id] = where
        for index, question in enumerate(item.deck.questions):
            here = (item.display, *item.position(index, "id"))
            if question.id in first_question:
                other = first_question[question.id]
                problems.append(
                    Problem(
                        *here,
                        f"duplicate question id {question.id!r} (also at {other[0]}:{other[1]})",
                    )
                )
            else:
                first_question[question.id] = here
    return problems


def load_bank(directory: Path, *, question_check: QuestionCheck | None = None) -> Bank:
    """The bank in ``directory``; raises BankError listing every problem."""
    report = check_directory(directory, question_check=question_check)
    if report.bank is None:
        raise BankError(list(report.problems))
    return report.bank
