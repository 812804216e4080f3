"""Use cases of a chat's settings: read them, change them (/pause and /resume among them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.domain.chats import ChatSettings
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import people
from bot.storage import reminder_candidates as reminder_store
from bot.study.chats import load_chat

Change = Callable[[ChatSettings], ChatSettings]


async def chat_settings(services: Services, *, chat_id: int) -> ChatSettings | None:
    """The chat's settings; None: not subscribed."""
    async with services.sessions() as session:
        return await load_chat(chat_id, session=session, services=services)


async def change_settings(
    services: Services, *, chat_id: int, private: bool, change: Change, now: datetime
) -> ChatSettings | None:
    """Apply ``change`` to the chat's settings, reschedule and save; None: not subscribed.

    A private chat's time zone is its person's: their streak reminder follows it.
    """
    async with services.sessions() as session, session.begin():
        settings = await load_chat(chat_id, session=session, services=services)
        if settings is None:
            return None
        updated = change(settings).rescheduled(now=now)
        await chat_store.save_chat(updated, session=session, now=now)
        if private and updated.schedule.timezone != settings.schedule.timezone:
            await people.set_person_timezone(chat_id, updated.schedule.timezone, session=session)
            await reminder_store.follow_timezone(
                chat_id, updated.schedule.timezone, session=session, now=now
            )
    return updated
