"""Own decks in the database (bot/storage/decks.py): versions, what a replace changes,
who sees a deck, the upload log, and /forget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.content import Question
from bot.domain.own_decks import DeckChanges
from bot.storage import decks as store
from bot.storage import people
from bot.storage.models import AddedDeckRow, DeckRow, DeckUploadRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ADA, BOB = 1001, 1002


def q(question_id: str, text: str = "What?", answer: str = "That.", **extra: object) -> Question:
    return Question.model_validate({"id": question_id, "question": text, "answer": answer, **extra})


async def _people(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, ADA, now=NOW)
        await add_person_with_private_chat(session, BOB, now=NOW)


async def test_a_deck_is_stored_read_back_and_replaced_with_its_changes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _people(sessions)
    first = [q("a"), q("b", tags=("x", "y"), difficulty="hard"), q("c"), q("d")]
    async with sessions() as session, session.begin():
        deck = await store.create_deck(ADA, "Mine", first, session=session, now=NOW)
    assert (deck.owner_id, deck.title, deck.version, deck.question_count) == (ADA, "Mine", 1, 4)
    assert deck.share_code is None
    async with sessions() as session:
        loaded = await store.load_decks([deck.id], with_questions=[deck.id], session=session)
        headers_only = await store.load_decks([deck.id, 999], with_questions=[], session=session)
    assert loaded[deck.id].questions == tuple(first)
    assert list(headers_only) == [deck.id]
    assert headers_only[deck.id].questions == ()

    second = [q("b", tags=("x", "y"), difficulty="hard"), q("a", answer="Changed."), q("e")]
    later = NOW + timedelta(hours=1)
    async with sessions() as session, session.begin():
        replaced = await store.replace_deck(deck.id, second, session=session, now=later)
        assert await store.replace_deck(999, second, session=session, now=later) is None
    assert replaced is not None
    new_deck, changes = replaced
    assert changes == DeckChanges(new=1, changed=1, removed=2, unchanged=1)
    assert (new_deck.version, new_deck.question_count, new_deck.updated_at) == (2, 3, later)
    async with sessions() as session:
        loaded = await store.load_decks([deck.id], with_questions=[deck.id], session=session)
    assert loaded[deck.id].questions == tuple(second)  # file order kept
    assert loaded[deck.id].deck.version == 2


async def test_who_sees_a_deck_and_deleting_it(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _people(sessions)
    async with sessions() as session, session.begin():
        ada = await store.create_deck(ADA, "Ada's", [q("a")], session=session, now=NOW)
        bob = await store.create_deck(BOB, "Bob's", [q("a")], session=session, now=NOW)
        assert await store.add_deck(BOB, ada.id, session=session, now=NOW)
        assert not await store.add_deck(BOB, ada.id, session=session, now=NOW)
    async with sessions() as session:
        assert [d.id for d in await store.visible_decks(BOB, session=session)] == [ada.id, bob.id]
        assert [d.id for d in await store.visible_decks(ADA, session=session)] == [ada.id]
        assert [d.id for d in await store.owned_decks(BOB, session=session)] == [bob.id]
        assert await store.count_owned(BOB, session=session) == 1
        assert await store.adders_of(ada.id, session=session) == [BOB]
    async with sessions() as session, session.begin():
        assert await store.delete_deck(ada.id, session=session)
        assert not await store.delete_deck(ada.id, session=session)
    async with sessions() as session:
        assert [d.id for d in await store.visible_decks(BOB, session=session)] == [bob.id]
        assert await session.scalar(select(func.count()).select_from(AddedDeckRow)) == 0


async def test_the_upload_log_counts_the_last_hour_and_prunes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _people(sessions)
    for minutes in (0, 30, 59, 61, 90):
        async with sessions() as session, session.begin():
            await store.record_upload(ADA, session=session, now=NOW + timedelta(minutes=minutes))
    async with sessions() as session:
        now = NOW + timedelta(minutes=90)
        assert await store.uploads_since(ADA, now - store.UPLOAD_WINDOW, session=session) == 3
        assert await store.uploads_since(BOB, now - store.UPLOAD_WINDOW, session=session) == 0
        # Entries an hour old or more were pruned by the later uploads.
        assert await session.scalar(select(func.count()).select_from(DeckUploadRow)) == 3


async def test_forget_deletes_own_decks_and_links_but_not_others(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _people(sessions)
    async with sessions() as session, session.begin():
        ada = await store.create_deck(ADA, "Ada's", [q("a"), q("b")], session=session, now=NOW)
        bob = await store.create_deck(BOB, "Bob's", [q("a")], session=session, now=NOW)
        await store.add_deck(ADA, bob.id, session=session, now=NOW)
        await store.add_deck(BOB, ada.id, session=session, now=NOW)
        await store.record_upload(ADA, session=session, now=NOW)
    async with sessions() as session, session.begin():
        await people.forget_person(ADA, session=session)
    async with sessions() as session:
        assert list(await session.scalars(select(DeckRow.id))) == [bob.id]
        assert await session.scalar(select(func.count()).select_from(AddedDeckRow)) == 0
        assert await session.scalar(select(func.count()).select_from(DeckUploadRow)) == 0
