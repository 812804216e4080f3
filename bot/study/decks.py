"""Decks of one's own: import an uploaded (already parsed and checked) deck, list,
mark for replacing, delete. Each returns a frozen result for bot/handlers/decks.py.

Limits: at most ``MAX_DECKS`` decks per person and ``MAX_UPLOADS_PER_HOUR`` uploads
(accepted or not, counted when a file is read: a refused file costs the bot as much).
``plan_upload`` checks both before the file is downloaded (a file refused there is not
read, and not counted); ``save_upload`` and ``count_upload`` check again in the
transaction that records the upload, with the person's row locked
(bot/storage/locks.py): two uploads of one person on two instances (or a private and a
group upload at once) are recorded one after the other, so the log never holds more
than ``MAX_UPLOADS_PER_HOUR`` uploads in an hour and nobody gets past ``MAX_DECKS``.
A file that was read counts (stored, refused for a problem, or refused by the deck limit
when saved), unless the hour's limit was reached meanwhile: then it is refused unstored
and uncounted.

A new deck is switched on in the person's private chat (its ``u<id>`` in the chat's
decks), so the daily question can come from it at once; /topics switches it off. The
chat's row is locked for that read-modify-write, as /topics locks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.content import Question
from bot.domain.own_decks import DeckChanges, deck_key
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import decks as deck_store
from bot.storage import notices as notice_store
from bot.storage.decks import StoredDeck
from bot.storage.locks import lock_row
from bot.storage.models import ChatRow, PersonRow
from bot.study.people import Person, remember

MAX_DECKS = 50
MAX_UPLOADS_PER_HOUR = 20


class Refused(Enum):
    TOO_MANY_UPLOADS = "too many uploads"
    TOO_MANY_DECKS = "too many decks"


@dataclass(frozen=True)
class UploadPlan:
    """Before a file is downloaded: refused, or which deck it replaces (None: a new one)."""

    refused: Refused | None
    replaces: StoredDeck | None = None


@dataclass(frozen=True)
class Imported:
    deck: StoredDeck
    changes: DeckChanges | None  # None: a new deck


async def plan_upload(services: Services, *, person_id: int, now: datetime) -> UploadPlan:
    """Whether the person may upload now, and into which deck (nothing is written: the
    upload is counted when it is stored or refused, save_upload and count_upload)."""
    async with services.sessions() as session, session.begin():
        since = now - deck_store.UPLOAD_WINDOW
        if await deck_store.uploads_since(person_id, since, session=session) >= (
            MAX_UPLOADS_PER_HOUR
        ):
            return UploadPlan(Refused.TOO_MANY_UPLOADS)
        target = await deck_store.replace_target(person_id, session=session, now=now)
        deck = await deck_store.get_deck(target, session=session) if target else None
        if deck is None and await deck_store.count_owned(person_id, session=session) >= MAX_DECKS:
            return UploadPlan(Refused.TOO_MANY_DECKS)
        return UploadPlan(None, deck)


async def save_upload(
    services: Services,
    *,
    person: Person,
    title: str,
    questions: Sequence[Question],
    replaces: int | None,
    now: datetime,
) -> Imported | Refused | None:
    """Store a checked deck: a new one, or the next version of ``replaces``.

    With the person's row locked: re-checks the hourly limit (refused unrecorded when a
    concurrent upload reached it), records the upload, re-checks the deck limit, and
    switches a new deck on in the person's private chat. None: the deck to replace was
    deleted meanwhile.
    """
    async with services.sessions() as session, session.begin():
        await remember(
            person, session=session, timezone=services.settings.default_timezone, now=now
        )
        await lock_row(session, PersonRow, person.id)
        if not await _record_within_limit(person.id, session=session, now=now):
            return Refused.TOO_MANY_UPLOADS
        if replaces is not None:
            done = await deck_store.replace_deck(
                replaces, questions, session=session, now=now, title=title
            )
            if done is None:
                return None
            services.own_decks.drop(replaces)
            return Imported(done[0], done[1])
        if await deck_store.count_owned(person.id, session=session) >= MAX_DECKS:
            return Refused.TOO_MANY_DECKS
        deck = await deck_store.create_deck(person.id, title, questions, session=session, now=now)
        await lock_row(session, ChatRow, person.id)
        settings = await chat_store.get_chat(person.id, session=session)
        if settings is not None:
            chosen = (*settings.decks, deck_key(deck.id))
            await chat_store.save_chat(replace(settings, decks=chosen), session=session, now=now)
        return Imported(deck, None)


async def _record_within_limit(person_id: int, *, session: AsyncSession, now: datetime) -> bool:
    """Log an upload unless the hour's limit is reached (the person's row is locked)."""
    since = now - deck_store.UPLOAD_WINDOW
    if await deck_store.uploads_since(person_id, since, session=session) >= MAX_UPLOADS_PER_HOUR:
        return False
    await deck_store.record_upload(person_id, session=session, now=now)
    return True


async def count_upload(services: Services, *, person: Person, now: datetime) -> None:
    """Count a file that was refused (it still counts against the hourly limit, up to the
    limit: a concurrent upload may have reached it meanwhile)."""
    async with services.sessions() as session, session.begin():
        await remember(
            person, session=session, timezone=services.settings.default_timezone, now=now
        )
        await lock_row(session, PersonRow, person.id)
        await _record_within_limit(person.id, session=session, now=now)


async def my_decks(services: Services, *, person_id: int) -> tuple[StoredDeck, ...]:
    async with services.autocommit() as session:
        return tuple(await deck_store.owned_decks(person_id, session=session))


async def own_deck(services: Services, *, person_id: int, deck_id: int) -> StoredDeck | None:
    """The deck if it exists and is the person's."""
    async with services.autocommit() as session:
        deck = await deck_store.get_deck(deck_id, session=session)
    return deck if deck is not None and deck.owner_id == person_id else None


async def ask_replace(
    services: Services, *, person_id: int, deck_id: int, now: datetime
) -> StoredDeck | None:
    """Replace pressed: the person's next file replaces this deck. None: not theirs, or gone."""
    async with services.sessions() as session, session.begin():
        deck = await deck_store.get_deck(deck_id, session=session)
        if deck is None or deck.owner_id != person_id:
            return None
        if not await deck_store.request_replace(deck_id, person_id, session=session, now=now):
            return None  # deleted meanwhile
        return deck


async def delete(services: Services, *, person_id: int, deck_id: int) -> StoredDeck | None:
    """Delete the person's deck (for everyone who studies it; their history stays).
    None: not theirs, or already gone."""
    async with services.sessions() as session, session.begin():
        deck = await deck_store.get_deck(deck_id, session=session)
        if deck is None or deck.owner_id != person_id:
            return None
        # Those who added it are told once, through the outbox (bot/jobs/notices.py).
        await notice_store.add_deck_deleted(
            deck_id, deck.title, session=session, now=services.clock()
        )
        await deck_store.delete_deck(deck_id, session=session)
    services.own_decks.drop(deck_id)
    return deck
