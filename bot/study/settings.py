"""Use cases of a chat's settings: read them, change them (/pause and /resume among them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.domain.chats import ChatSettings
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import people
from bot.storage import reminder_candidates as reminder_store
from bot.storage.locks import lock_row
from bot.storage.models import ChatRow, PersonRow
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

    A private chat's time zone is its person's: their streak reminder follows it. The
    chat's row is locked first (bot/storage/locks.py): two changes at once (two admins
    of a group, two instances) are applied one after the other, none lost.
    """
    async with services.sessions() as session, session.begin():
        if private:  # the person's row first, as an upload locks them (person, then chat)
            await lock_row(session, PersonRow, chat_id)
        await lock_row(session, ChatRow, chat_id)
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
