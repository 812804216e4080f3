"""A chat's settings as the use cases read them, and a new chat's defaults."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.chats import ChatSettings, ordered_decks
from bot.domain.own_decks import deck_id_of_key, deck_key
from bot.domain.schedule import Schedule
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import decks as deck_store


def default_settings(services: Services, chat_id: int, kind: str) -> ChatSettings:
    config = services.settings
    return ChatSettings(
        chat_id=chat_id,
        kind=kind,
        schedule=Schedule(
            local_time=config.default_delivery_time,
            timezone=config.default_timezone,
            days=frozenset(range(7)),
        ),
        decks=services.bank.deck_ids,
    )


async def new_chat_settings(
    services: Services, chat_id: int, kind: str, *, session: AsyncSession
) -> ChatSettings:
    """The settings of a chat seen for the first time: the defaults, and in a private
    chat the person's own and added decks switched on too (decks uploaded or added
    before the chat existed), as an upload or an added deck switches itself on in a
    chat that exists (bot/study/decks.py, bot/study/deck_sharing.py). A private
    chat's id is its person's."""
    settings = default_settings(services, chat_id, kind)
    if chat_id <= 0:
        return settings
    visible = await deck_store.visible_decks(chat_id, session=session)
    if not visible:
        return settings
    return replace(settings, decks=(*settings.decks, *(deck_key(d.id) for d in visible)))


async def load_chat(
    chat_id: int, *, session: AsyncSession, services: Services
) -> ChatSettings | None:
    """The chat's settings with built-in decks that left the bank dropped (never none
    selected). Decks of its own (``u<id>``) are kept, after the built-in ones: whether
    they still exist is for the chat's bank to say (bot/study/banks.py)."""
    settings = await chat_store.get_chat(chat_id, session=session)
    if settings is None:
        return None
    own = tuple(deck for deck in settings.decks if deck_id_of_key(deck) is not None)
    builtin = ordered_decks(settings.decks, services.bank.deck_ids)
    decks = (builtin + own) or services.bank.deck_ids
    if decks != settings.decks:
        settings = replace(settings, decks=decks)
    return settings
