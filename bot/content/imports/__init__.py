"""People's own decks from files: one façade, ``parse_deck_upload``, for every format.

Pure: bytes and a file name in, a checked deck or the reasons there is none out (no
Telegram, no database). The kind of file is told by its extension:

- ``.yaml``/``.yml``: the bank's own format (``yaml_deck``), problems by line and column;
- ``.csv``/``.tsv``: spreadsheet exports (``csv_deck``), problems by row and column;
- ``.apkg``: Anki packages, current and older (``anki``), problems by note and field.

Every deck then goes through the same checks as ``content/`` (``checking.finish``),
within ``UploadLimits``; a deck with any problem is refused whole.

For the upload handler: ``size_refusal(document.file_size)`` before downloading, then
``parse_deck_upload(document.file_name or "", data, title=...)``, off the event loop, in
a worker process (a 2,000-question deck costs seconds of CPU, BENCHMARKS.md; arguments and
result pickle: bot/service/deck_parser.py); if ``upload.deck`` is None,
send ``problems_message(upload)`` (plain text: escape it for HTML); else store
``upload.deck`` and mention ``upload.dropped_media`` if any.
"""

from __future__ import annotations

from bot.content.imports.anki import parse_apkg
from bot.content.imports.csv_deck import parse_csv_deck
from bot.content.imports.model import DeckUpload, ImportedDeck, RefusedError, UploadLimits
from bot.content.imports.yaml_deck import parse_yaml_deck

__all__ = [
    "ACCEPTED_KINDS",
    "MAX_LISTED_PROBLEMS",
    "DeckUpload",
    "ImportedDeck",
    "UploadLimits",
    "parse_deck_upload",
    "problems_message",
    "size_refusal",
]

ACCEPTED_KINDS = (".yaml", ".yml", ".csv", ".tsv", ".apkg")
MAX_LISTED_PROBLEMS = 20
_KINDS_TEXT = (
    ".yaml or .yml (this bot's deck format), .csv or .tsv (a spreadsheet with "
    "question and answer columns, saved as UTF-8) or .apkg (an Anki deck package)"
)


def parse_deck_upload(
    file_name: str,
    data: bytes,
    *,
    title: str | None = None,
    limits: UploadLimits = UploadLimits(),  # noqa: B008 - frozen, safe to share
) -> DeckUpload:
    """Read one uploaded deck file; never raises for bad content.

    ``title`` (from ``/decks``) wins over a title in the file and over the file name.
    """
    kind = _kind(file_name)
    if kind not in ACCEPTED_KINDS:
        shown = file_name or "this file"
        return DeckUpload(
            deck=None, refusal=f"I can't read \u201c{shown}\u201d. Send a deck as {_KINDS_TEXT}."
        )
    too_big = size_refusal(len(data), limits)
    if too_big is not None:
        return DeckUpload(deck=None, refusal=too_big)
    if not data.strip():
        return DeckUpload(deck=None, refusal="This file is empty.")
    try:
        if kind in (".yaml", ".yml"):
            return parse_yaml_deck(file_name, data, title=title, limits=limits)
        if kind in (".csv", ".tsv"):
            return parse_csv_deck(file_name, data, title=title, limits=limits, tab=kind == ".tsv")
        return parse_apkg(file_name, data, title=title, limits=limits)
    except RefusedError as refused:
        return DeckUpload(deck=None, refusal=refused.message)


def size_refusal(
    size: int,
    limits: UploadLimits = UploadLimits(),  # noqa: B008 - frozen, safe to share
) -> str | None:
    """The refusal for a file of ``size`` bytes, or None if it may be read: the upload
    handler asks before downloading (a Telegram ``Document`` says its ``file_size``)."""
    if size <= limits.max_file_bytes:
        return None
    return (
        f"This file is {_megabytes(size)}; a deck file can be at most "
        f"{_megabytes(limits.max_file_bytes)}."
    )


def problems_message(upload: DeckUpload) -> str:
    """One plain-text message saying why a deck was not imported (escape it for HTML):
    the refusal, or the problems, at most ``MAX_LISTED_PROBLEMS`` of them, then
    "and N more"."""
    if upload.refusal is not None:
        return upload.refusal
    problems = upload.problems
    if not problems:
        return ""
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    lines = [f"The deck was not imported: {count} {noun} to fix first."]
    lines += [f"• {problem}" for problem in problems[:MAX_LISTED_PROBLEMS]]
    if count > MAX_LISTED_PROBLEMS:
        lines.append(f"… and {count - MAX_LISTED_PROBLEMS} more.")
    return "\n".join(lines)


def _kind(file_name: str) -> str:
    name = file_name.strip().lower()
    return "." + name.rsplit(".", 1)[1] if "." in name else ""


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB".replace(".0 MB", " MB")
