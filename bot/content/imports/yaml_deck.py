"""Decks in the bank's own YAML format (content/README.md), one deck per file.

The file is the same as a ``content/*.yaml`` deck, except that an uploaded deck need
not say who it is by: the whole ``deck:`` mapping is optional, and so is each of its
keys (the title then comes from ``/decks`` or the file name). Unknown keys are still
errors, with the key probably meant, and every problem has its line and column.

YAML from strangers is parsed safely (``SafeLoader``: no Python objects) and, before
anything builds on it, its events are counted: more than a few aliases (the
"billion laughs" expansion) or nesting deeper than the format needs is refused with
the place where the limit was crossed. PyYAML shares an aliased node rather than
copying it, but anything that walks the data afterwards (the position map, pydantic)
would walk each share again, exponentially.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.content.imports.checking import TITLE_MAX, Draft, deck_title, finish
from bot.content.imports.model import DeckUpload, UploadLimits
from bot.content.yaml_source import FAST_SAFE_LOADER, SourceMap, YamlSyntaxError, parse_yaml
from bot.domain.content import Slug, Source

__all__ = ["parse_yaml_deck"]

_TOP_KEYS = ("deck", "questions")
# Values (scalars and collections) the data may hold with aliases expanded: a deck of
# 2,000 questions with tags has about 20,000.
_MAX_EXPANDED_VALUES = 200_000


class _UploadHeader(BaseModel):
    """The ``deck:`` mapping of an upload: the bank's keys, all optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug | None = None
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    description: str | None = None
    source: Source | None = None
    notes: str | None = None


def parse_yaml_deck(
    file_name: str, data: bytes, *, title: str | None, limits: UploadLimits
) -> DeckUpload:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return _problem(f"line {line}: the file is not UTF-8 text")
    bound = _bound_problem(text, limits)
    if bound is not None:
        return _problem(bound)
    try:
        parsed = parse_yaml(text, fast=True)
    except YamlSyntaxError as error:
        return _problem(f"{_at(error.line, error.column)}: {error.message}")
    source_map = parsed.source_map
    problems = [
        f"{_at(*position)}: duplicate key {'.'.join(map(str, path))!r}"
        for path, position in source_map.duplicate_keys
    ]
    data_ = parsed.data
    if not isinstance(data_, dict) or not isinstance(data_.get("questions"), list):
        return _problem(
            "line 1, column 1: expected a mapping with a 'questions' list "
            "(and optionally a 'deck' mapping), as in content/README.md"
        )
    for key in data_:
        if key not in _TOP_KEYS:
            line, column = source_map.locate((str(key),), prefer_key=True)
            problems.append(
                f"{_at(line, column)}: unknown key {key!r}; allowed keys: deck, questions"
            )
    header = _header(data_.get("deck"), source_map, problems)
    drafts = []
    for index, item in enumerate(data_["questions"]):
        where = _where(source_map, index)
        if not isinstance(item, dict):
            message = f"{where(None)}: a question must be a mapping (id, question, answer)"
            drafts.append(Draft({}, where, problems=(message,)))
            continue
        drafts.append(Draft({str(k): v for k, v in item.items()}, where))
    in_file = header.title if header else None
    description = header.description if header else None
    return finish(deck_title(title, in_file, file_name), description, drafts, limits, problems)


def _problem(message: str) -> DeckUpload:
    return DeckUpload(deck=None, problems=(message,))


def _at(line: int, column: int) -> str:
    return f"line {line}, column {column}"


def _where(source_map: SourceMap, index: int) -> Callable[[str | None], str]:
    def where(key: str | None) -> str:
        path: tuple[str | int, ...] = ("questions", index)
        if key is not None:
            path = (*path, key)
        return _at(*source_map.locate(path))

    return where


def _header(value: Any, source_map: SourceMap, problems: list[str]) -> _UploadHeader | None:
    if value is None:
        return None
    try:
        return _UploadHeader.model_validate(value)
    except ValidationError as error:
        for item in error.errors():
            loc = ("deck", *item["loc"])
            place = _at(*source_map.locate(loc, prefer_key=item["type"] == "extra_forbidden"))
            name = ".".join(map(str, loc))
            if item["type"] == "extra_forbidden":
                allowed = ", ".join(_UploadHeader.model_fields)
                problems.append(f"{place}: unknown key {name!r}; allowed keys: {allowed}")
            else:
                message = str(item["msg"]).removeprefix("Value error, ")
                problems.append(f"{place}: {name}: {message}")
        return None


def _bound_problem(text: str, limits: UploadLimits) -> str | None:
    """Where the text crosses the alias, depth or size bound, read from its events alone.

    Besides counting aliases, the values the data would have with every alias expanded
    are counted (an alias counts as the whole of what its anchor holds): a few aliases
    of a huge list are as bad as many aliases.
    """
    aliases = 0
    sizes: dict[str, int] = {}
    # Per open collection: its anchor and how many values it holds so far.
    stack: list[tuple[str | None, int]] = [(None, 0)]
    try:
        for event in yaml.parse(text, Loader=FAST_SAFE_LOADER):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > limits.max_yaml_aliases:
                    return (
                        f"{_mark(event)}: more than {limits.max_yaml_aliases} YAML aliases "
                        "(*name); write the values out instead"
                    )
                grown = sizes.get(str(event.anchor), 1)
            elif isinstance(event, yaml.ScalarEvent):
                grown = 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                stack.append((event.anchor, 1))
                if len(stack) - 1 > limits.max_yaml_depth:
                    return (
                        f"{_mark(event)}: nested more than {limits.max_yaml_depth} levels "
                        "deep; a deck needs far fewer"
                    )
                continue
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, grown = stack.pop()
                if anchor is not None:
                    sizes[anchor] = grown
            else:
                continue
            anchor, size = stack[-1]
            stack[-1] = (anchor, size + grown)
            if size + grown > _MAX_EXPANDED_VALUES:
                return (
                    f"{_mark(event)}: the YAML holds more than "
                    f"{_MAX_EXPANDED_VALUES:,} values, aliases expanded; a deck needs far fewer"
                )
    except yaml.YAMLError:
        return None  # the real parse reports the syntax error with its place
    return None


def _mark(event: yaml.Event) -> str:
    mark = event.start_mark
    return _at(mark.line + 1, mark.column + 1) if mark is not None else "line 1, column 1"
