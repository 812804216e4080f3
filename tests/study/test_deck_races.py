"""Own decks' races, each interleaving forced (tests/support/statement_gate.py): one
use case is held at a chosen statement, its transaction open, while the other runs into
it; then the first goes on. Both backends: on PostgreSQL the second waits for a row lock
(bot/storage/locks.py); on SQLite for the one write lock, which the held transaction
took with its first statement. Each test failed before the locks were added (the
docstrings say how); where SQLite was already safe, the docstring says so too.

Issue 18: uploads vs the limits, Add (and Replace, and a group's choice) vs the owner's
Delete, two admins switching a group's decks, /topics vs another settings change, and
the limit on added decks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select

from bot.domain.content import Question
from bot.domain.own_decks import deck_key
from bot.service.context import Services
from bot.storage import decks as deck_store
from bot.storage.models import AddedDeckRow, ChatRow, DeckRow, DeckUploadRow
from bot.study import deck_sharing, group_decks, subscription
from bot.study import decks as use
from bot.study import settings as study_settings
from bot.study.deck_sharing import Added
from bot.study.group_decks import Switched
from bot.study.people import Person
from tests.support.databases import TestDatabase
from tests.support.statement_gate import StatementGate, blocked_or_done

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ADA = Person(1001, "Ada")
BOB = Person(1002, "Bob")
GROUP = -100
QUESTIONS = (Question(id="a", question="What is a tensor?", answer="An n-dimensional array."),)
T = TypeVar("T")

# The statements a use case is held at: what it does after its checks.
NEW_DECK = r"^INSERT INTO decks\b"
DECK_DELETE = r"^DELETE FROM decks\b"
ADD_ROW = r"^INSERT INTO added_decks\b"
CHAT_WRITE = r"^UPDATE chats SET (?!id=)"  # a settings write, not bot/storage/locks.py's


async def _subscribe(services: Services, person: Person, chat_id: int | None = None) -> None:
    kind = "private" if chat_id is None else "group"
    await subscription.subscribe(
        services, chat_id=chat_id or person.id, chat_kind=kind, person=person, now=NOW
    )


async def _decks(services: Services, owner: int, count: int) -> list[int]:
    async with services.sessions() as session, session.begin():
        return [
            (await deck_store.create_deck(owner, f"D{n}", QUESTIONS, session=session, now=NOW)).id
            for n in range(count)
        ]


async def _rows(services: Services, model: Any, *where: Any) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _chat_decks(services: Services, chat_id: int) -> tuple[str, ...]:
    async with services.sessions() as session:
        row = await session.get(ChatRow, chat_id)
        assert row is not None
        return tuple(row.decks.split(","))


async def _held_then(
    services: Services,
    database: TestDatabase,
    pattern: str,
    first: Awaitable[T],
    second: Awaitable[Any],
) -> tuple[T, Any]:
    """Run ``first`` until it reaches a statement matching ``pattern`` and hold it there;
    run ``second`` until it is done or waits for ``first``; then let ``first`` go on."""
    with StatementGate(services.engine, pattern) as gate:
        held = asyncio.ensure_future(first)
        await gate.wait_arrived()
        other = asyncio.ensure_future(second)
        await blocked_or_done(other, database, gate)
        gate.release()
        async with asyncio.timeout(20):
            return await held, await other


def _save(services: Services, replaces: int | None = None) -> Awaitable[Any]:
    return use.save_upload(
        services, person=ADA, title="New", questions=QUESTIONS, replaces=replaces, now=NOW
    )


# --- 1. uploads vs the limits -------------------------------------------------------------


async def test_two_uploads_at_the_hourly_limit_store_one(
    services: Services, database: TestDatabase
) -> None:
    """19 uploads in the hour; two more saved at once (two instances, or a private and a
    group upload), the first held after its checks. Before: save_upload did not look at
    the hourly limit again, so both were stored (21 in the hour), on both backends."""
    await _subscribe(services, ADA)
    async with services.sessions() as session, session.begin():
        for _ in range(use.MAX_UPLOADS_PER_HOUR - 1):
            await deck_store.record_upload(ADA.id, session=session, now=NOW)
    first, second = await _held_then(services, database, NEW_DECK, _save(services), _save(services))
    assert isinstance(first, use.Imported)
    assert second is use.Refused.TOO_MANY_UPLOADS
    assert await _rows(services, DeckRow) == 1
    assert await _rows(services, DeckUploadRow) == use.MAX_UPLOADS_PER_HOUR


async def test_two_uploads_at_the_deck_limit_store_one(
    services: Services, database: TestDatabase
) -> None:
    """49 decks; two uploads saved at once, the first held after its count. Before, on
    PostgreSQL the second counted 49 too (the first's deck not committed) and 51 decks
    were stored. (SQLite was already safe here: the upload was logged, a write, before
    the count, and the second waited for the first's commit at that write.)"""
    await _subscribe(services, ADA)
    await _decks(services, ADA.id, use.MAX_DECKS - 1)
    first, second = await _held_then(services, database, NEW_DECK, _save(services), _save(services))
    assert isinstance(first, use.Imported)
    assert second is use.Refused.TOO_MANY_DECKS
    assert await _rows(services, DeckRow) == use.MAX_DECKS
    # Both files were read: both count (the limit was not reached).
    assert await _rows(services, DeckUploadRow) == 2


async def test_a_refused_file_counts_only_up_to_the_hourly_limit(
    services: Services, database: TestDatabase
) -> None:
    """A file refused for a problem counts against the limit, but never past it: with
    19 uploads in the hour, one stored and one refused at once leave 20 in the log.
    Before: count_upload logged it regardless (21)."""
    await _subscribe(services, ADA)
    async with services.sessions() as session, session.begin():
        for _ in range(use.MAX_UPLOADS_PER_HOUR - 1):
            await deck_store.record_upload(ADA.id, session=session, now=NOW)
    refused = use.count_upload(services, person=ADA, now=NOW)
    first, _ = await _held_then(services, database, NEW_DECK, _save(services), refused)
    assert isinstance(first, use.Imported)
    assert await _rows(services, DeckUploadRow) == use.MAX_UPLOADS_PER_HOUR


# --- 2. Add, Replace and a group's choice vs the owner's Delete ------------------------------


async def _shared_deck(services: Services) -> tuple[int, str]:
    await _subscribe(services, ADA)
    await _subscribe(services, BOB)
    [deck_id] = await _decks(services, ADA.id, 1)
    deck = await deck_sharing.share(services, person_id=ADA.id, deck_id=deck_id, revoke=False)
    assert deck is not None
    assert deck.share_code is not None
    return deck_id, deck.share_code


async def test_a_delete_while_an_add_is_between_its_check_and_its_write(
    services: Services, database: TestDatabase
) -> None:
    """Bob's Add is held just before it stores its row; Ada deletes the deck meanwhile.
    Before: the delete went through and the Add then failed on the foreign key
    (IntegrityError: "something went wrong"), on both backends. Now the Add holds the
    deck (shared) and the delete waits for it: added, then deleted with the deck."""
    deck_id, code = await _shared_deck(services)
    added, deleted = await _held_then(
        services,
        database,
        ADD_ROW,
        deck_sharing.add(services, person=BOB, code=code, now=NOW),
        use.delete(services, person_id=ADA.id, deck_id=deck_id),
    )
    assert added.outcome is Added.ADDED
    assert deleted is not None
    assert deleted.id == deck_id
    assert await _rows(services, DeckRow) == 0
    assert await _rows(services, AddedDeckRow) == 0


async def test_an_add_while_the_delete_is_in_flight_answers_deleted(
    services: Services, database: TestDatabase
) -> None:
    """Ada's delete is held before it deletes the deck's row; Bob presses Add. Before:
    on PostgreSQL the Add went through (answered "Added" for a deck gone a moment
    later), on SQLite it failed on the foreign key. Now it waits and answers DELETED,
    storing nothing: no added row, nothing switched on in Bob's chat."""
    deck_id, code = await _shared_deck(services)
    bob_decks = await _chat_decks(services, BOB.id)
    deleted, added = await _held_then(
        services,
        database,
        DECK_DELETE,
        use.delete(services, person_id=ADA.id, deck_id=deck_id),
        deck_sharing.add(services, person=BOB, code=code, now=NOW),
    )
    assert deleted is not None
    assert added.outcome is Added.DELETED
    assert await _rows(services, AddedDeckRow) == 0
    assert await _chat_decks(services, BOB.id) == bob_decks
    assert deck_key(deck_id) not in bob_decks


async def test_a_replace_while_the_delete_is_in_flight_stores_nothing(
    services: Services, database: TestDatabase
) -> None:
    """Ada's delete is held before it deletes the row; her new version of the deck is
    saved meanwhile (another instance): it finds the deck gone (None: "deleted
    meanwhile; nothing was stored"). This shape had no error before (the replace reads
    the deck FOR UPDATE); the delete locking its row first decides the order: before, on
    PostgreSQL the replace was stored and deleted a moment later. (SQLite answered None
    already: the delete's first statement took the write lock.)"""
    deck_id, _ = await _shared_deck(services)
    deleted, saved = await _held_then(
        services,
        database,
        DECK_DELETE,
        use.delete(services, person_id=ADA.id, deck_id=deck_id),
        _save(services, replaces=deck_id),
    )
    assert deleted is not None
    assert saved is None
    assert await _rows(services, DeckRow) == 0


async def test_a_group_choice_while_the_delete_is_in_flight_answers_gone(
    services: Services, database: TestDatabase
) -> None:
    """Ada's delete is held; Ada (an admin) switches the deck on for her group meanwhile.
    Before: "On" for a deck deleted a moment later (its key stored in the group's
    decks). Now the switch waits for the delete and answers GONE, the decks unchanged."""
    deck_id, _ = await _shared_deck(services)
    await _subscribe(services, ADA, GROUP)
    before = await _chat_decks(services, GROUP)
    deleted, switched = await _held_then(
        services,
        database,
        DECK_DELETE,
        use.delete(services, person_id=ADA.id, deck_id=deck_id),
        group_decks.switch(
            services, group_id=GROUP, person_id=ADA.id, ref=deck_key(deck_id), now=NOW
        ),
    )
    assert deleted is not None
    assert switched.outcome is Switched.GONE
    assert await _chat_decks(services, GROUP) == before


# --- 3. two changes of one chat's settings at once --------------------------------------------


async def test_two_admins_switching_group_decks_at_once_both_count(
    services: Services, database: TestDatabase
) -> None:
    """The group studies ``ml``; one admin switches ``nlp`` on, held before it writes,
    while the other switches her own deck on. Before: the first wrote the decks it had
    read and the second's change was lost, on both backends."""
    await _subscribe(services, ADA)
    await _subscribe(services, ADA, GROUP)
    [own] = await _decks(services, ADA.id, 1)
    await group_decks.switch(services, group_id=GROUP, person_id=ADA.id, ref="nlp", now=NOW)
    assert await _chat_decks(services, GROUP) == ("ml",)
    first, second = await _held_then(
        services,
        database,
        CHAT_WRITE,
        group_decks.switch(services, group_id=GROUP, person_id=BOB.id, ref="nlp", now=NOW),
        group_decks.switch(services, group_id=GROUP, person_id=ADA.id, ref=deck_key(own), now=NOW),
    )
    assert (first.outcome, second.outcome) == (Switched.ON, Switched.ON)
    assert await _chat_decks(services, GROUP) == ("ml", "nlp", deck_key(own))


async def test_a_topics_toggle_and_a_new_deck_at_once_both_count(
    services: Services, database: TestDatabase
) -> None:
    """/topics switches ``nlp`` on in Ada's chat (held before it writes) while a deck she
    uploads (in her group, another chat, so not queued behind it) is switched on in the
    same chat: both stay on. Before: each wrote the decks it had read, and the new
    deck's key was lost, on both backends. (Two changes of different columns, /topics
    and /pause, were never lost: the ORM writes only the columns that changed.)"""
    await _subscribe(services, ADA)
    await study_settings.change_settings(
        services,
        chat_id=ADA.id,
        private=True,
        change=lambda s: replace(s, decks=("ml",)),
        now=NOW,
    )
    topics = study_settings.change_settings(
        services,
        chat_id=ADA.id,
        private=True,
        change=lambda s: replace(s, decks=(*s.decks, "nlp")),
        now=NOW,
    )
    toggled, saved = await _held_then(services, database, CHAT_WRITE, topics, _save(services))
    assert toggled is not None
    assert isinstance(saved, use.Imported)
    assert await _chat_decks(services, ADA.id) == ("ml", "nlp", deck_key(saved.deck.id))


async def test_a_group_topics_toggle_and_a_deck_switch_at_once_both_count(
    services: Services, database: TestDatabase
) -> None:
    """In a group studying ``ml``, one admin's /topics switches ``nlp`` on (held before it
    writes) while another switches her own deck on in /decks: both stay on. Before: the
    held one wrote the decks it had read and the other's deck was lost, on both
    backends. (Only the chat's row is shared here: what change_settings locks.)"""
    await _subscribe(services, ADA)
    await _subscribe(services, ADA, GROUP)
    [own] = await _decks(services, ADA.id, 1)
    await group_decks.switch(services, group_id=GROUP, person_id=ADA.id, ref="nlp", now=NOW)
    topics = study_settings.change_settings(
        services,
        chat_id=GROUP,
        private=False,
        change=lambda s: replace(s, decks=(*s.decks, "nlp")),
        now=NOW,
    )
    switch = group_decks.switch(
        services, group_id=GROUP, person_id=ADA.id, ref=deck_key(own), now=NOW
    )
    toggled, switched = await _held_then(services, database, CHAT_WRITE, topics, switch)
    assert toggled is not None
    assert switched.outcome is Switched.ON
    assert await _chat_decks(services, GROUP) == ("ml", "nlp", deck_key(own))


# --- 4. the limit on added decks -------------------------------------------------------------


async def test_a_hundred_added_decks_is_the_most(services: Services) -> None:
    await _subscribe(services, ADA)
    await _subscribe(services, BOB)
    decks = await _decks(services, ADA.id, deck_sharing.MAX_ADDED + 1)
    async with services.sessions() as session, session.begin():
        for deck_id in decks[:-1]:
            await deck_store.add_deck(BOB.id, deck_id, session=session, now=NOW)
    codes = []
    for deck_id in (decks[0], decks[-1]):
        deck = await deck_sharing.share(services, person_id=ADA.id, deck_id=deck_id, revoke=False)
        assert deck is not None
        assert deck.share_code is not None
        codes.append(deck.share_code)
    bob_decks = await _chat_decks(services, BOB.id)

    refused = await deck_sharing.add(services, person=BOB, code=codes[1], now=NOW)
    assert refused.outcome is Added.TOO_MANY
    assert await _rows(services, AddedDeckRow) == deck_sharing.MAX_ADDED
    assert await _chat_decks(services, BOB.id) == bob_decks
    # One he has already is still "already added", not refused.
    again = await deck_sharing.add(services, person=BOB, code=codes[0], now=NOW)
    assert again.outcome is Added.ALREADY
    # The owner's own decks do not count: Ada adds nothing, she owns them.
    own = await deck_sharing.add(services, person=ADA, code=codes[1], now=NOW)
    assert own.outcome is Added.OWN
    # Removing one makes room.
    assert await deck_sharing.remove(services, person_id=BOB.id, deck_id=decks[0], now=NOW)
    added = await deck_sharing.add(services, person=BOB, code=codes[1], now=NOW)
    assert added.outcome is Added.ADDED
    assert await _rows(services, AddedDeckRow) == deck_sharing.MAX_ADDED


# --- 5. /forget vs an upload --------------------------------------------------------------


async def test_forget_while_an_upload_is_saved_deletes_everything_without_a_deadlock(
    services: Services, database: TestDatabase
) -> None:
    """An upload holds Ada's row (and will switch the deck on in her chat) when she
    /forgets. Before, /forget deleted her chat's row, then waited for her person row; the
    upload, let go, waited for the chat's row: a deadlock on PostgreSQL, the generic
    apology for one of them. Now /forget locks her row first (person, deck, chat, as
    everything else), waits for the upload, then deletes it with the rest. (SQLite was
    already safe: one writer.)"""
    await _subscribe(services, ADA)
    saved, owed = await _held_then(
        services,
        database,
        NEW_DECK,
        _save(services),
        subscription.forget(services, person_id=ADA.id),
    )
    assert isinstance(saved, use.Imported)
    assert owed == 0
    assert await _rows(services, DeckRow) == 0
    assert await _rows(services, ChatRow) == 0
