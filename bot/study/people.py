"""Who a use case acts for: a Telegram user as the study package knows them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    """Who pressed: the Telegram user's id and names (a grader may be new to the bot)."""

    id: int
    first_name: str = ""
    username: str | None = None
