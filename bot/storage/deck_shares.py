"""Sharing people's decks: the secret of a deck's link, and who studies whose decks.

A deck's link carries ``decks.share_code`` (NULL: never shared). Revoking a link is
writing a new code: the old one then finds no deck. The code is looked up through the
column's unique index. Who added a deck is ``added_decks`` (bot/storage/decks.py owns
adding and removing; this module only reads it across an owner's decks, for /forget).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.decks import StoredDeck, get_deck
from bot.storage.models import AddedDeckRow, DeckRow, PersonRow


@dataclass(frozen=True)
class SharedDeck:
    """What a link shows before someone adds its deck: the deck, and its owner's name."""

    deck: StoredDeck
    owner_first_name: str


async def set_share_code(
    deck_id: int, owner_id: int, code: str, *, session: AsyncSession
) -> StoredDeck | None:
    """Give the owner's deck this link code (a new one revokes the old); None: the deck
    is gone or not the owner's."""
    result = await session.execute(
        update(DeckRow)
        .where(DeckRow.id == deck_id, DeckRow.owner_id == owner_id)
        .values(share_code=code)
        .returning(DeckRow.id)
    )
    if result.first() is None:
        return None
    return await get_deck(deck_id, session=session)


async def shared_deck(code: str, *, session: AsyncSession) -> SharedDeck | None:
    """The deck a link code opens, with its owner's first name; None: no deck has it
    (never issued, revoked, or the deck deleted)."""
    row = (
        await session.execute(
            select(DeckRow.id, PersonRow.first_name)
            .join(PersonRow, PersonRow.id == DeckRow.owner_id)
            .where(DeckRow.share_code == code)
        )
    ).first()
    if row is None:
        return None
    deck = await get_deck(row.id, session=session)
    return SharedDeck(deck, row.first_name or "") if deck is not None else None


async def adders_of_owner(owner_id: int, *, session: AsyncSession) -> dict[int, list[str]]:
    """Everyone who added one of the owner's decks, with those decks' titles (title
    order), by person: what /forget tells them before the decks go."""
    rows = await session.execute(
        select(AddedDeckRow.person_id, DeckRow.title)
        .join(DeckRow, DeckRow.id == AddedDeckRow.deck_id)
        .where(DeckRow.owner_id == owner_id, AddedDeckRow.person_id != owner_id)
        .order_by(AddedDeckRow.person_id, DeckRow.id)
    )
    found: dict[int, list[str]] = {}
    for person_id, title in rows:
        found.setdefault(person_id, []).append(title)
    return found


async def has_added(person_id: int, deck_id: int, *, session: AsyncSession) -> bool:
    found = await session.scalar(
        select(AddedDeckRow.deck_id).where(
            AddedDeckRow.person_id == person_id, AddedDeckRow.deck_id == deck_id
        )
    )
    return found is not None


async def visible_among(
    person_id: int, deck_ids: Sequence[int], *, session: AsyncSession
) -> set[int]:
    """Which of these decks the person owns or added."""
    if not deck_ids:
        return set()
    added = select(AddedDeckRow.deck_id).where(AddedDeckRow.person_id == person_id)
    rows = await session.scalars(
        select(DeckRow.id).where(
            DeckRow.id.in_(sorted(set(deck_ids))),
            (DeckRow.owner_id == person_id) | DeckRow.id.in_(added),
        )
    )
    return set(rows.all())
