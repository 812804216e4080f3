"""Deck files written the way people will edit and review them.

PyYAML's defaults are hostile to diffs: keys sorted alphabetically, long
lines folded at 80 columns, multi-line answers as one quoted string full of
``\\n``. This writer keeps the schema's key order, never wraps, and writes
answers (and multi-line notes) as literal ``|`` blocks, so a one-word edit to
an answer is a one-line diff. A string that a block scalar cannot carry
exactly (tabs, trailing spaces, exotic line breaks) is double-quoted instead:
the file must load back to the very same text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.domain.content import DeckFile, Question

__all__ = ["dump_deck", "write_decks"]

_NO_WRAP = 2**30
# Characters a literal block cannot hold verbatim: the reader normalises
# CR, NEL and the Unicode line/paragraph separators, tabs are not allowed in
# PyYAML's block analysis, and the BOM is stripped.
_NOT_IN_BLOCKS = frozenset("\r\x85\u2028\u2029\ufeff\t")


class _Block(str):
    """A string to be written as a literal block scalar when that is faithful."""

    __slots__ = ()


def _block_safe(text: str) -> bool:
    if not text or _NOT_IN_BLOCKS.intersection(text):
        return False
    if any(not ch.isprintable() and ch != "\n" for ch in text):
        return False
    lines = text.split("\n")
    # PyYAML refuses (or mangles) block scalars with trailing spaces on a line.
    return not any(line != line.rstrip(" ") for line in lines)


class _DeckDumper(yaml.SafeDumper):
    """SafeDumper with indented sequences and literal blocks for :class:`_Block`."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_block(dumper: yaml.SafeDumper, data: _Block) -> yaml.ScalarNode:
    text = str(data)
    style = "|" if _block_safe(text) else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    lossy = "\n" in data or not _NOT_IN_BLOCKS.isdisjoint(data)
    style = '"' if lossy else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_DeckDumper.add_representer(_Block, _represent_block)
_DeckDumper.add_representer(str, _represent_str)


def _question(question: Question) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": question.id,
        "question": question.question,
        "answer": _Block(question.answer),
    }
    if question.tags:
        item["tags"] = list(question.tags)
    if question.difficulty is not None:
        item["difficulty"] = question.difficulty
    return item


def _document(deck: DeckFile) -> dict[str, Any]:
    header = deck.deck
    source: dict[str, Any] = {"name": header.source.name}
    if header.source.url is not None:
        source["url"] = header.source.url
    source["attribution"] = header.source.attribution
    head: dict[str, Any] = {
        "id": header.id,
        "title": header.title,
        "description": header.description,
        "source": source,
    }
    if header.notes is not None:
        head["notes"] = _Block(header.notes) if "\n" in header.notes else header.notes
    return {"deck": head, "questions": [_question(q) for q in deck.questions]}


def dump_deck(deck: DeckFile) -> str:
    """The YAML text of one deck file (UTF-8 friendly, stable key order, no wrapping)."""
    text = yaml.dump(
        _document(deck),
        Dumper=_DeckDumper,
        sort_keys=False,
        allow_unicode=True,
        width=_NO_WRAP,
        default_flow_style=False,
        explicit_start=False,
    )
    return str(text)


def write_decks(decks: Sequence[DeckFile], out_dir: Path) -> list[Path]:
    """Write each deck to ``out_dir/{deck.id}.yaml`` (creating the directory); return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for deck in decks:
        path = out_dir / f"{deck.deck.id}.yaml"
        path.write_text(dump_deck(deck), encoding="utf-8", newline="\n")
        paths.append(path)
    return paths
