"""Decks from spreadsheets: ``.csv`` and ``.tsv`` as Excel and Google Sheets save them.

UTF-8 with or without a byte order mark (Excel's "CSV UTF-8" writes one); a header row
naming the columns (any order, any case): ``question`` and ``answer`` are required,
``tags`` (separated by commas, semicolons or spaces), ``id`` and ``difficulty`` are
optional. Rows are numbered as the spreadsheet shows them (the header is row 1), so a
problem's "row 12" is the row the person sees. Completely empty rows are skipped, as
spreadsheets export trailing ones. Without an ``id`` column, a question's id is a hash
of its text (``checking.stable_id``): the same question keeps its progress across
uploads, and a reworded one starts afresh.

Excel in some locales separates with ``;``: a ``.csv`` file's delimiter is whichever of
``,`` ``;`` and tab makes its header name the required columns.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable

from bot.content.imports.checking import Draft, deck_title, finish, stable_id, tag_slugs
from bot.content.imports.model import DeckUpload, RefusedError, UploadLimits

__all__ = ["COLUMNS", "parse_csv_deck"]

COLUMNS = ("question", "answer", "tags", "id", "difficulty")
_REQUIRED = ("question", "answer")
_TAG_SEPARATORS = re.compile(r"[,;\s]+")


def parse_csv_deck(
    file_name: str, data: bytes, *, title: str | None, limits: UploadLimits, tab: bool
) -> DeckUpload:
    """Read a spreadsheet export; ``tab`` for ``.tsv`` files."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return DeckUpload(
            deck=None,
            problems=(
                f"line {line}: the file is not UTF-8 text; save it as "
                "\u201cCSV UTF-8\u201d (Excel) or download it as CSV (Google Sheets)",
            ),
        )
    # Line breaks inside cells come as \r\n or \n (Excel, Sheets); the bank uses \n.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    header_line = text.split("\n", 1)[0]
    delimiter = "\t" if tab else _delimiter(header_line)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header = next(rows, None)
    if header is None or not any(cell.strip() for cell in header):
        return DeckUpload(deck=None, problems=("row 1: the header row is missing",))
    columns = [cell.strip().lower() for cell in header]
    problems = _header_problems(columns)
    if problems:
        return DeckUpload(deck=None, problems=tuple(problems))
    drafts: list[Draft] = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(drafts) >= limits.max_questions:
            raise RefusedError(
                f"This spreadsheet has more than {limits.max_questions:,} questions; "
                f"a deck can have at most {limits.max_questions:,}. Split it into smaller decks."
            )
        drafts.append(_draft(number, columns, row))
    return finish(deck_title(title, None, file_name), None, drafts, limits, problems)


def _delimiter(header: str) -> str:
    best = ","
    for candidate in (",", ";", "\t"):
        names = {cell.strip().strip('"').lower() for cell in header.split(candidate)}
        if all(name in names for name in _REQUIRED):
            return candidate
        if header.count(candidate) > header.count(best):
            best = candidate
    return best


def _header_problems(columns: list[str]) -> list[str]:
    problems = []
    for index, name in enumerate(columns):
        if name and name not in COLUMNS:
            hint = difflib.get_close_matches(name, COLUMNS, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append(
                f"row 1, column {index + 1}: unknown column {name!r}{suggestion}; "
                f"the columns are {', '.join(COLUMNS)}"
            )
        elif name and columns.index(name) != index:
            problems.append(f"row 1, column {index + 1}: column {name!r} appears twice")
    for name in _REQUIRED:
        if name not in columns:
            problems.append(
                f"row 1: the header has no {name!r} column "
                f"(it needs question and answer; optional: tags, id, difficulty)"
            )
    return problems


def _draft(number: int, columns: list[str], row: list[str]) -> Draft:
    cells = {name: row[i] if i < len(row) else "" for i, name in enumerate(columns) if name}
    if len(row) > len(columns) and any(cell.strip() for cell in row[len(columns) :]):
        message = (
            f"row {number}: {len(row)} cells but the header names {len(columns)} columns "
            "(a cell with the separator in it must be in double quotes)"
        )
        return Draft({}, _where(number), problems=(message,))
    question = cells.get("question", "").strip()
    values: dict[str, object] = {
        "question": question,
        "answer": cells.get("answer", "").strip(),
        "tags": tag_slugs(_TAG_SEPARATORS.split(cells.get("tags", ""))),
    }
    given_id = cells.get("id", "").strip()
    values["id"] = given_id or stable_id(question)
    difficulty = cells.get("difficulty", "").strip().lower()
    if difficulty:
        values["difficulty"] = difficulty
    return Draft(values, _where(number), id_from_text=not given_id)


def _where(number: int) -> Callable[[str | None], str]:
    def where(key: str | None) -> str:
        return f"row {number}" if key is None else f"row {number}, column {key!r}"

    return where
