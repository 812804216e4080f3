"""Use cases of a person's membership: subscribe (/start), forget (/forget)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain.chats import ChatSettings
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deck_shares, people
from bot.storage import notices as notice_store
from bot.storage import reminder_candidates as reminder_store
from bot.storage.locks import lock_row
from bot.storage.models import PersonRow
from bot.study.chats import load_chat, new_chat_settings
from bot.study.people import Person, remember


async def subscribe(
    services: Services, *, chat_id: int, chat_kind: str, person: Person, now: datetime
) -> ChatSettings:
    """Subscribe a private chat, or wake it up (active, not paused, next due set), track
    its person in the chat's zone and give them a streak reminder; the chat's settings."""
    async with services.sessions() as session, session.begin():
        settings = await load_chat(chat_id, session=session, services=services)
        if settings is None:
            settings = await new_chat_settings(services, chat_id, chat_kind, session=session)
        settings = replace(settings, active=True, paused=False).rescheduled(now=now)
        await remember(person, session=session, timezone=settings.schedule.timezone, now=now)
        await chat_store.save_chat(settings, session=session, now=now)
        await reminder_store.ensure_reminder(
            chat_id, settings.schedule.timezone, session=session, now=now
        )
    return settings


async def forget(services: Services, *, person_id: int) -> int:
    """Delete everything stored about a person (their chat, cards, reviews, streaks,
    their own decks), and owe each person who had added one of their decks one notice
    saying so (the outbox, bot/jobs/notices.py: written in this transaction, so it is
    sent if and only if the delete committed). How many notices are owed."""
    async with services.sessions() as session, session.begin():
        # The person's row first (the lock order of bot/storage/locks.py: person, deck,
        # chat): an upload holding it finishes before, and no deck of theirs appears
        # between reading who added one and deleting them.
        await lock_row(session, PersonRow, person_id)
        adders = await deck_shares.adders_of_owner(person_id, session=session)
        owed = await notice_store.add(
            notice_store.OWNER_LEFT,
            {adder: {"titles": titles} for adder, titles in adders.items()},
            session=session,
            now=services.clock(),
        )
        await people.forget_person(person_id, session=session)
    return owed
