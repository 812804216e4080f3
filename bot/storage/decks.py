"""Decks people upload: rows ⇄ frozen values.

The storage API of own decks, for this module's callers and for sharing:

- :class:`StoredDeck` is a deck's header (owner, title, version, size, share code);
  questions are domain :class:`~bot.domain.content.Question` values under the id they
  have in the file. Namespacing them for the bank (``u<deck>-<id>``) is
  bot/domain/own_decks.py's job, not storage's.
- Only the current version is stored, its questions as one JSON document in the deck's
  row (bot/domain/own_decks.py ``encode_questions``): a deck is written and read whole.
  :func:`replace_deck` rewrites it and bumps ``version``; :func:`load_decks` reads a
  version's header and document from one row, so they always match.
- Who studies a deck: its owner (``decks.owner_id``) and the people who added it
  (``added_decks``: :func:`add_deck`, :func:`remove_added`). Deleting a deck (or its
  owner) deletes its questions and those links.
- Uploads are logged per person for the per-hour limit (:func:`record_upload`,
  :func:`uploads_since`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, insert, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.content import Question
from bot.domain.own_decks import (
    DeckChanges,
    compare_versions,
    decode_questions,
    encode_questions,
)
from bot.storage.locks import lock_row
from bot.storage.models import AddedDeckRow, DeckRow, DeckUploadRow


@dataclass(frozen=True)
class StoredDeck:
    """A deck's header: what lists, limits and the cache key read."""

    id: int
    owner_id: int
    title: str
    version: int
    question_count: int
    share_code: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DeckContent:
    """A deck's version with its questions' document (None: not read)."""

    deck: StoredDeck
    document: str | None

    @property
    def questions(self) -> tuple[Question, ...]:
        """The questions, ids as in the file, file order (decoded on each call)."""
        return decode_questions(self.document) if self.document is not None else ()


_HEADER = (
    DeckRow.id,
    DeckRow.owner_id,
    DeckRow.title,
    DeckRow.version,
    DeckRow.question_count,
    DeckRow.share_code,
    DeckRow.created_at,
    DeckRow.updated_at,
)


def _stored(row: Any) -> StoredDeck:
    return StoredDeck(
        id=row.id,
        owner_id=row.owner_id,
        title=row.title,
        version=row.version,
        question_count=row.question_count,
        share_code=row.share_code,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def get_deck(deck_id: int, *, session: AsyncSession) -> StoredDeck | None:
    row = (await session.execute(select(*_HEADER).where(DeckRow.id == deck_id))).first()
    return _stored(row) if row is not None else None


async def owned_decks(person_id: int, *, session: AsyncSession) -> list[StoredDeck]:
    """The person's own decks, oldest first."""
    rows = await session.execute(
        select(*_HEADER).where(DeckRow.owner_id == person_id).order_by(DeckRow.id)
    )
    return [_stored(row) for row in rows]


async def count_owned(person_id: int, *, session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(DeckRow).where(DeckRow.owner_id == person_id)
        )
        or 0
    )


async def visible_decks(person_id: int, *, session: AsyncSession) -> list[StoredDeck]:
    """The decks a person studies: their own and the ones they added, oldest first.

    One statement through two indexes (``decks.owner_id`` and the ``added_decks``
    primary key): cheap, and empty for most people.
    """
    added = select(AddedDeckRow.deck_id).where(AddedDeckRow.person_id == person_id)
    rows = await session.execute(
        select(*_HEADER)
        .where(or_(DeckRow.owner_id == person_id, DeckRow.id.in_(added)))
        .order_by(DeckRow.id)
    )
    return [_stored(row) for row in rows]


async def load_decks(
    deck_ids: Collection[int], *, with_questions: Collection[int], session: AsyncSession
) -> dict[int, DeckContent]:
    """The current version of each existing deck of ``deck_ids``, in one statement.

    The questions' document is read only for the decks in ``with_questions`` (those a
    cache does not hold); the others come back with their header (their version) only.
    Deleted decks are absent.
    """
    if not deck_ids:
        return {}
    wanted = sorted(with_questions)
    document: Any = (
        case((DeckRow.id.in_(wanted), DeckRow.questions), else_=null()) if wanted else null()
    )
    rows = await session.execute(
        select(*_HEADER, document.label("document")).where(DeckRow.id.in_(sorted(deck_ids)))
    )
    return {row.id: DeckContent(_stored(row), row.document) for row in rows}


async def deck_questions(deck_id: int, *, session: AsyncSession) -> dict[str, Question]:
    """The current questions of a deck by their id in the file."""
    document = await session.scalar(select(DeckRow.questions).where(DeckRow.id == deck_id))
    return {q.id: q for q in decode_questions(document)} if document is not None else {}


async def create_deck(
    owner_id: int,
    title: str,
    questions: Sequence[Question],
    *,
    session: AsyncSession,
    now: datetime,
) -> StoredDeck:
    """A new deck at version 1 (the owner's person row must exist)."""
    deck_id = await session.scalar(
        insert(DeckRow)
        .values(
            owner_id=owner_id,
            title=title,
            version=1,
            question_count=len(questions),
            questions=encode_questions(questions),
            created_at=now,
            updated_at=now,
        )
        .returning(DeckRow.id)
    )
    assert deck_id is not None
    deck = await get_deck(deck_id, session=session)
    assert deck is not None
    return deck


async def replace_deck(
    deck_id: int,
    questions: Sequence[Question],
    *,
    session: AsyncSession,
    now: datetime,
    title: str | None = None,
) -> tuple[StoredDeck, DeckChanges] | None:
    """The deck's next version: its questions rewritten, ``version`` bumped, the title
    changed when given. None when the deck no longer exists.

    The old version is read ``FOR UPDATE`` (a row lock on PostgreSQL; SQLite has one
    writer), so two replaces of one deck run one after the other and each compares with
    the one before.
    """
    old_document = await session.scalar(
        select(DeckRow.questions).where(DeckRow.id == deck_id).with_for_update()
    )
    if old_document is None:
        return None
    changes = compare_versions({q.id: q for q in decode_questions(old_document)}, questions)
    values: dict[str, Any] = {
        "version": DeckRow.version + 1,
        "replace_requested_at": None,
        "question_count": len(questions),
        "questions": encode_questions(questions),
        "updated_at": now,
    }
    if title is not None:
        values["title"] = title
    await session.execute(update(DeckRow).where(DeckRow.id == deck_id).values(**values))
    deck = await get_deck(deck_id, session=session)
    assert deck is not None
    return deck, changes


async def delete_deck(deck_id: int, *, session: AsyncSession) -> bool:
    """Delete a deck and who added it. False if it was already gone.

    The deck's row is locked first (bot/storage/locks.py): an Add of it in flight (which
    holds it shared) finishes first and its row is then deleted with the others, or the
    Add waits and finds the deck gone. Progress on its questions (cards, reviews) stays:
    it is the studier's history.
    """
    await lock_row(session, DeckRow, deck_id)
    await session.execute(delete(AddedDeckRow).where(AddedDeckRow.deck_id == deck_id))
    result = await session.execute(delete(DeckRow).where(DeckRow.id == deck_id))
    return bool(getattr(result, "rowcount", 0))


async def forget_owner(person_id: int, *, session: AsyncSession) -> list[int]:
    """Delete a person's own decks, the decks they added and their upload log (/forget).

    Returns the ids of the deleted own decks.
    """
    owned = list(
        (await session.scalars(select(DeckRow.id).where(DeckRow.owner_id == person_id))).all()
    )
    for deck_id in owned:
        await delete_deck(deck_id, session=session)
    await session.execute(delete(AddedDeckRow).where(AddedDeckRow.person_id == person_id))
    await session.execute(delete(DeckUploadRow).where(DeckUploadRow.person_id == person_id))
    return owned


async def add_deck(person_id: int, deck_id: int, *, session: AsyncSession, now: datetime) -> bool:
    """Record that a person added a deck; False if they had it already."""
    exists = await session.scalar(
        select(AddedDeckRow.deck_id).where(
            AddedDeckRow.person_id == person_id, AddedDeckRow.deck_id == deck_id
        )
    )
    if exists is not None:
        return False
    await session.execute(
        insert(AddedDeckRow).values(person_id=person_id, deck_id=deck_id, added_at=now)
    )
    return True


async def count_added(person_id: int, *, session: AsyncSession) -> int:
    """How many decks of others the person added."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(AddedDeckRow)
            .where(AddedDeckRow.person_id == person_id)
        )
        or 0
    )


async def remove_added(person_id: int, deck_id: int, *, session: AsyncSession) -> bool:
    result = await session.execute(
        delete(AddedDeckRow).where(
            AddedDeckRow.person_id == person_id, AddedDeckRow.deck_id == deck_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def adders_of(deck_id: int, *, session: AsyncSession) -> list[int]:
    """The people who added a deck (not its owner)."""
    rows = await session.scalars(
        select(AddedDeckRow.person_id).where(AddedDeckRow.deck_id == deck_id)
    )
    return sorted(rows.all())


UPLOAD_WINDOW = timedelta(hours=1)


async def uploads_since(person_id: int, since: datetime, *, session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(DeckUploadRow)
            .where(DeckUploadRow.person_id == person_id, DeckUploadRow.uploaded_at > since)
        )
        or 0
    )


async def record_upload(person_id: int, *, session: AsyncSession, now: datetime) -> None:
    """Log an upload, and prune the person's entries older than the window."""
    await session.execute(
        delete(DeckUploadRow).where(
            DeckUploadRow.person_id == person_id,
            DeckUploadRow.uploaded_at <= now - UPLOAD_WINDOW,
        )
    )
    await session.execute(insert(DeckUploadRow).values(person_id=person_id, uploaded_at=now))


REPLACE_WINDOW = timedelta(hours=1)


async def request_replace(
    deck_id: int, owner_id: int, *, session: AsyncSession, now: datetime
) -> bool:
    """Mark the owner's deck as the one their next file replaces (and no other of theirs).
    False: not their deck, or gone."""
    await session.execute(
        update(DeckRow)
        .where(DeckRow.owner_id == owner_id, DeckRow.replace_requested_at.is_not(None))
        .values(replace_requested_at=None)
    )
    result = await session.execute(
        update(DeckRow)
        .where(DeckRow.id == deck_id, DeckRow.owner_id == owner_id)
        .values(replace_requested_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def replace_target(owner_id: int, *, session: AsyncSession, now: datetime) -> int | None:
    """The owner's deck their next file replaces (Replace pressed within the hour), if any."""
    return await session.scalar(
        select(DeckRow.id).where(
            DeckRow.owner_id == owner_id,
            DeckRow.replace_requested_at > now - REPLACE_WINDOW,
        )
    )
