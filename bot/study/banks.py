"""The bank as a chat sees it: the built-in bank, plus the decks of its own it needs.

Every place that reads a question, a deck or its counts asks here instead of
``services.bank``. A chat with no deck of its own (the common case) gets the built-in
bank itself, with no query; otherwise one query reads the decks' versions (and the
questions of those the process's cache does not hold: bot/content/deck_cache.py), and
the result is ``services.bank.extended(...)`` (microseconds, bot/domain/content.py).

Three ways to say which own decks are needed, each the cheapest for its callers:

- :func:`bank_for_settings` (and :func:`banks_for_settings` for a dispatcher batch,
  one query for the whole batch): the decks chosen in the chat's settings
  (``u<id>`` deck ids). The daily question, /question, /next, a group's question.
- :func:`bank_for_questions`: the decks these question ids belong to (read off the
  ids). Showing an answer, grading, typed answers, quizzes, re-sending a delivery.
- :func:`bank_for_person`: every deck the person owns or added (one indexed query).
  /topics, the quiz picker, /stats, /weak, /export.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.chats import ChatSettings
from bot.domain.content import Bank, Deck
from bot.domain.own_decks import (
    as_bank_deck,
    decks_of_questions,
    decode_questions,
    own_deck_ids,
)
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import decks as deck_store


async def own_decks(
    services: Services, deck_ids: Collection[int], *, session: AsyncSession
) -> dict[int, Deck]:
    """The existing decks among ``deck_ids`` at their current version, as bank decks.

    One statement: the headers of all, the questions of those the cache does not hold.
    A deck replaced since it was cached (another version) is read again (a second
    statement, only then). Deleted decks are absent.
    """
    if not deck_ids:
        return {}
    cache = services.own_decks
    missing = [deck_id for deck_id in deck_ids if not cache.has(deck_id)]
    contents = await deck_store.load_decks(deck_ids, with_questions=missing, session=session)
    found: dict[int, Deck] = {}
    stale: list[int] = []
    for deck_id, content in contents.items():
        deck = cache.get(deck_id, content.deck.version)
        if deck is None and content.document is not None:
            deck = _bank_deck(content)
            cache.put(deck_id, content.deck.version, deck)
        if deck is None:
            stale.append(deck_id)
        else:
            found[deck_id] = deck
    if stale:
        again = await deck_store.load_decks(stale, with_questions=stale, session=session)
        for deck_id, content in again.items():
            deck = _bank_deck(content)
            cache.put(deck_id, content.deck.version, deck)
            found[deck_id] = deck
    return found


def _bank_deck(content: deck_store.DeckContent) -> Deck:
    """A loaded deck as the bank holds it: its questions under their bank-wide ids."""
    header = content.deck
    questions = decode_questions(content.document or "[]", deck_id=header.id)
    return as_bank_deck(header.id, header.title, questions)


def _extended(services: Services, decks: Iterable[Deck]) -> Bank:
    chosen = sorted((deck for deck in decks if deck.questions), key=lambda deck: deck.id)
    if not chosen:
        return services.bank
    return services.bank.extended(chosen, key=tuple(deck.id for deck in chosen))


async def bank_for_settings(
    services: Services, settings: ChatSettings, *, session: AsyncSession
) -> Bank:
    """The built-in bank plus the own decks chosen in the chat's settings."""
    wanted = own_deck_ids(settings.decks)
    if not wanted:
        return services.bank
    return _extended(services, (await own_decks(services, wanted, session=session)).values())


async def banks_for_settings(
    services: Services, settings_of: Mapping[int, ChatSettings], *, session: AsyncSession
) -> dict[int, Bank]:
    """:func:`bank_for_settings` for a batch of chats, by chat id: no query when none of
    them chose a deck of their own, one otherwise."""
    wanted = {chat_id: own_deck_ids(settings.decks) for chat_id, settings in settings_of.items()}
    needed = set().union(*wanted.values()) if wanted else set()
    if not needed:
        return dict.fromkeys(settings_of, services.bank)
    decks = await own_decks(services, needed, session=session)
    return {
        chat_id: _extended(services, (decks[d] for d in ids if d in decks))
        if ids
        else services.bank
        for chat_id, ids in wanted.items()
    }


async def bank_for_questions(
    services: Services, question_ids: Iterable[str], *, session: AsyncSession
) -> Bank:
    """The built-in bank plus the own decks these question ids belong to."""
    wanted = decks_of_questions(question_ids)
    if not wanted:
        return services.bank
    return _extended(services, (await own_decks(services, wanted, session=session)).values())


async def bank_for_person(services: Services, person_id: int, *, session: AsyncSession) -> Bank:
    """The built-in bank plus every deck the person owns or added."""
    visible = await deck_store.visible_decks(person_id, session=session)
    if not visible:
        return services.bank
    decks = await own_decks(services, [deck.id for deck in visible], session=session)
    return _extended(services, decks.values())


async def bank_for_chat(services: Services, chat_id: int, *, session: AsyncSession) -> Bank:
    """The decks a chat can choose among: a private chat's person's (:func:`bank_for_person`,
    its id is the person's); a group's, the built-in decks and the people's decks it has
    on (an admin switches others on in the group's /decks: bot/study/group_decks.py)."""
    if chat_id > 0:
        return await bank_for_person(services, chat_id, session=session)
    settings = await chat_store.get_chat(chat_id, session=session)
    if settings is None:
        return services.bank
    return await bank_for_settings(services, settings, session=session)
