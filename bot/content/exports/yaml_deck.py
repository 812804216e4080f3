"""A deck as a YAML file in the bank's format, answers as readable literal blocks."""

from __future__ import annotations

from typing import Any

import yaml

from bot.domain.content import Deck

__all__ = ["deck_to_yaml"]


class _DeckDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks where YAML allows it (PyYAML falls back to a
    quoted scalar where a block would not keep the text exactly)."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_DeckDumper.add_representer(str, _string)


def deck_to_yaml(deck: Deck) -> str:
    """The deck in the format of ``content/*.yaml``: loads back to the same questions."""
    data: dict[str, Any] = deck.model_dump(mode="json", exclude_none=True)
    questions = data.pop("questions")
    for question in questions:
        if not question.get("tags"):
            question.pop("tags", None)
    return yaml.dump(
        {"deck": data, "questions": questions},
        Dumper=_DeckDumper,
        allow_unicode=True,
        sort_keys=False,
        width=100_000,
    )
