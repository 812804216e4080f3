"""Sharing a deck by a link: issue or revoke its code, open a link, add its deck.

A link is ``https://t.me/<bot>?start=d-<code>``; the code is ``CODE_BYTES`` random bytes
(144 bits) in base64url, which Telegram's start parameter allows (A-Z a-z 0-9 _ -, at
most 64 characters). Revoking writes a new code, so the old link finds nothing. Adding
a deck records it in ``added_decks`` and switches it on in the person's private chat, as
a new upload is: it is then studied like their own (bot/study/banks.py reads both).
Only the owner replaces or deletes (bot/study/decks.py checks); a replace is seen by
everyone at once (the deck cache is keyed by version), a delete too (a missing deck is
left out of every bank). The people who added a deck are told once when it goes (its
owner deleted it or used /forget) through the notices outbox (bot/jobs/notices.py).
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from bot.domain.own_decks import deck_key
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deck_shares
from bot.storage import decks as deck_store
from bot.storage.decks import StoredDeck
from bot.storage.locks import lock_row
from bot.storage.models import ChatRow, DeckRow, PersonRow
from bot.study import subscription
from bot.study.people import Person, remember

log = logging.getLogger(__name__)

CODE_BYTES = 18
LINK_PREFIX = "d-"
_CODE = re.compile(r"[A-Za-z0-9_-]{16,62}")


def new_code() -> str:
    """A fresh link code: 144 random bits, 24 URL-safe characters."""
    return secrets.token_urlsafe(CODE_BYTES)


def code_of_payload(payload: str) -> str | None:
    """The code of a ``/start`` payload ``d-<code>``; None when it is not one."""
    if not payload.startswith(LINK_PREFIX):
        return None
    code = payload[len(LINK_PREFIX) :]
    return code if _CODE.fullmatch(code) else None


def link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={LINK_PREFIX}{code}"


async def share(
    services: Services, *, person_id: int, deck_id: int, revoke: bool
) -> StoredDeck | None:
    """The owner's deck with a link code: the one it has, a first one, or (``revoke``)
    a new one that makes the old link stop working. None: gone, or not theirs."""
    async with services.sessions() as session, session.begin():
        deck = await deck_store.get_deck(deck_id, session=session)
        if deck is None or deck.owner_id != person_id:
            return None
        if deck.share_code is not None and not revoke:
            return deck
        return await deck_shares.set_share_code(deck_id, person_id, new_code(), session=session)


class Relation(Enum):
    STRANGER = "stranger"  # may add it
    OWNER = "owner"
    ADDED = "added"


@dataclass(frozen=True)
class LinkView:
    """What a link shows: the deck, its owner's first name, and who is looking."""

    shared: deck_shares.SharedDeck
    relation: Relation


async def open_link(services: Services, *, code: str, person_id: int) -> LinkView | None:
    """The deck behind a link code; None: no deck has this code (revoked, deleted, or
    never issued)."""
    async with services.autocommit() as session:
        shared = await deck_shares.shared_deck(code, session=session)
        if shared is None:
            return None
        if shared.deck.owner_id == person_id:
            return LinkView(shared, Relation.OWNER)
        added = await deck_shares.has_added(person_id, shared.deck.id, session=session)
    return LinkView(shared, Relation.ADDED if added else Relation.STRANGER)


MAX_ADDED = 100
"""The most decks of others one person can have added (their own are ``MAX_DECKS``)."""


class Added(Enum):
    ADDED = "added"
    ALREADY = "already"
    OWN = "own"
    GONE = "gone"  # the code opens no deck any more
    DELETED = "deleted"  # its owner deleted the deck while it was being added
    TOO_MANY = "too many"  # the person has MAX_ADDED decks of others already


@dataclass(frozen=True)
class AddResult:
    outcome: Added
    deck: StoredDeck | None = None


async def add(services: Services, *, person: Person, code: str, now: datetime) -> AddResult:
    """Add the deck a link code opens to the person's decks, switched on in their
    private chat (subscribed first if they never were).

    One transaction, its rows locked in order (bot/storage/locks.py): the person's (two
    Adds of theirs count against ``MAX_ADDED`` one after the other), the deck's, shared
    (its owner's delete waits for the Add, or the Add waits for the delete and answers
    DELETED, storing nothing), then their chat's (its decks are read and written whole).
    """
    async with services.autocommit() as session:
        found = await deck_shares.shared_deck(code, session=session)
        known = await chat_store.get_chat(person.id, session=session)
    if found is None:
        return AddResult(Added.GONE)
    if known is None and found.deck.owner_id != person.id:
        await subscription.subscribe(
            services, chat_id=person.id, chat_kind="private", person=person, now=now
        )
    async with services.sessions() as session, session.begin():
        await remember(
            person, session=session, timezone=services.settings.default_timezone, now=now
        )
        await lock_row(session, PersonRow, person.id)
        if not await lock_row(session, DeckRow, found.deck.id, shared=True):
            return AddResult(Added.DELETED, found.deck)
        shared = await deck_shares.shared_deck(code, session=session)
        if shared is None or shared.deck.id != found.deck.id:
            return AddResult(Added.GONE)  # the link was revoked meanwhile
        deck = shared.deck
        if deck.owner_id == person.id:
            return AddResult(Added.OWN, deck)
        if await deck_shares.has_added(person.id, deck.id, session=session):
            return AddResult(Added.ALREADY, deck)
        if await deck_store.count_added(person.id, session=session) >= MAX_ADDED:
            return AddResult(Added.TOO_MANY, deck)
        await deck_store.add_deck(person.id, deck.id, session=session, now=now)
        await lock_row(session, ChatRow, person.id)
        settings = await chat_store.get_chat(person.id, session=session)
        if settings is not None and deck_key(deck.id) not in settings.decks:
            chosen = (*settings.decks, deck_key(deck.id))
            await chat_store.save_chat(replace(settings, decks=chosen), session=session, now=now)
        return AddResult(Added.ADDED, deck)


async def added_decks(services: Services, *, person_id: int) -> tuple[StoredDeck, ...]:
    """The decks the person added (shared with them), oldest first."""
    async with services.autocommit() as session:
        visible = await deck_store.visible_decks(person_id, session=session)
    return tuple(deck for deck in visible if deck.owner_id != person_id)


async def remove(
    services: Services, *, person_id: int, deck_id: int, now: datetime
) -> StoredDeck | None:
    """Take an added deck out of the person's decks (and their private chat's topics);
    the owner and everyone else keep it. None: they had not added it (or it is gone)."""
    async with services.sessions() as session, session.begin():
        deck = await deck_store.get_deck(deck_id, session=session)
        if deck is None or not await deck_store.remove_added(person_id, deck_id, session=session):
            return None
        await lock_row(session, ChatRow, person_id)
        settings = await chat_store.get_chat(person_id, session=session)
        if settings is not None and deck_key(deck_id) in settings.decks:
            kept = tuple(key for key in settings.decks if key != deck_key(deck_id))
            await chat_store.save_chat(replace(settings, decks=kept), session=session, now=now)
        return deck
