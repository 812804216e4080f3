"""One object per running bot in bot_data.extras, made on first use."""

from __future__ import annotations

from typing import Any

from bot.service.extras import kept


class Thing:
    pass


def test_made_once_then_kept() -> None:
    extras: dict[str, Any] = {}
    made: list[Thing] = []

    def make() -> Thing:
        made.append(Thing())
        return made[-1]

    first = kept(extras, "thing", Thing, make)
    assert kept(extras, "thing", Thing, make) is first
    assert made == [first]
    assert extras == {"thing": first}


def test_a_value_of_another_kind_is_replaced() -> None:
    extras: dict[str, Any] = {"thing": "not a thing"}
    value = kept(extras, "thing", Thing, Thing)
    assert isinstance(value, Thing)
    assert extras["thing"] is value
