"""Take a deck with you: any deck a person can study, built-in or their own (or added),
as an Anki package or as YAML in the bank's format.

Own decks are exported with the ids their questions have in the file (not the bank's
``u<deck>-`` ids), so sending the YAML back to the bot, or re-importing the package into
Anki, keeps the same questions. The files are built off the event loop (genanki and
PyYAML are CPU work: up to 2,000 questions), and imported on the first download.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from bot.domain.content import Deck, slugify
from bot.domain.own_decks import OWN_SOURCE, deck_id_of_key, deck_key
from bot.domain.topics import topic_ref
from bot.service.context import Services
from bot.storage import deck_shares
from bot.storage import decks as deck_store

Kind = Literal["apkg", "yaml"]


@dataclass(frozen=True)
class DownloadChoice:
    key: str  # the bank's deck id: a built-in deck's, or u<id>
    title: str


@dataclass(frozen=True)
class DeckDownload:
    file_name: str
    data: bytes
    title: str


async def choices(services: Services, *, person_id: int) -> list[DownloadChoice]:
    """The decks a person can download: the built-in ones, then those they own or added."""
    async with services.autocommit() as session:
        visible = await deck_store.visible_decks(person_id, session=session)
    builtin = [DownloadChoice(deck.id, deck.title) for deck in services.bank.builtin.decks]
    return builtin + [DownloadChoice(deck_key(deck.id), deck.title) for deck in visible]


async def _deck(services: Services, *, person_id: int, ref: str) -> Deck | None:
    own = deck_id_of_key(ref)
    if own is None:
        return next(
            (deck for deck in services.bank.builtin.decks if topic_ref(deck.id) == ref), None
        )
    async with services.autocommit() as session:
        if own not in await deck_shares.visible_among(person_id, [own], session=session):
            return None
        contents = await deck_store.load_decks([own], with_questions=[own], session=session)
    content = contents.get(own)
    if content is None or not content.questions:
        return None
    title = content.deck.title
    return Deck.model_construct(
        id=slugify(title) or "deck",
        title=title,
        description=title,
        source=OWN_SOURCE,
        notes=None,
        questions=content.questions,
    )


def _file(deck: Deck, kind: Kind) -> DeckDownload:
    # Imported when first needed: genanki and PyYAML stay out of the start-up
    # (tests/domain/test_answer_check.py checks what ``import bot.app`` loads).
    from bot.content.exports import deck_to_apkg, deck_to_yaml

    name = slugify(deck.title) or "deck"
    if kind == "apkg":
        return DeckDownload(f"{name}.apkg", deck_to_apkg(deck), deck.title)
    return DeckDownload(f"{name}.yaml", deck_to_yaml(deck).encode(), deck.title)


async def download(
    services: Services, *, person_id: int, ref: str, kind: Kind
) -> DeckDownload | None:
    """The deck behind a button's ``ref`` as a file; None: no such deck, or one the
    person neither owns nor added (a stale or forged button)."""
    deck = await _deck(services, person_id=person_id, ref=ref)
    if deck is None:
        return None
    return await asyncio.to_thread(_file, deck, kind)
