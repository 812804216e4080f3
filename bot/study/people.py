"""Who a use case acts for: a Telegram user as the study package knows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import people
from bot.storage.models import PersonRow


@dataclass(frozen=True)
class Person:
    """Who pressed: the Telegram user's id and names (a grader may be new to the bot)."""

    id: int
    first_name: str = ""
    username: str | None = None


async def remember(
    person: Person, *, session: AsyncSession, timezone: str, now: datetime
) -> PersonRow:
    """Create or refresh the person's row (names, and the zone for someone new)."""
    return await people.upsert_person(
        person.id,
        session=session,
        first_name=person.first_name,
        username=person.username,
        timezone=timezone,
        now=now,
    )
