"""A study group's decks: an admin chooses among the built-in decks and the decks they
own or added, or imports a file as one; the group's daily question and /quiz then come
from the decks that are on.

A group's decks are its settings' deck ids (``u<id>`` for a person's deck), as a
private chat's are: the dispatcher and /question read them through
bot/study/banks.py. A group deck imported from a file is owned by the admin who sent it
(the one who can replace or delete it, from their /decks). Whether the sender is an
admin is the handler's question (bot/handlers/groups.py), asked before these run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from bot.domain.chats import ChatSettings, ordered_decks
from bot.domain.content import Bank
from bot.domain.own_decks import deck_id_of_key, deck_key, own_deck_ids
from bot.domain.topics import topic_ref
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deck_shares
from bot.storage import decks as deck_store
from bot.storage.locks import lock_row
from bot.storage.models import ChatRow, DeckRow
from bot.study.banks import bank_for_chat
from bot.study.chats import load_chat


@dataclass(frozen=True)
class GroupChoice:
    key: str  # the bank's deck id: a built-in deck's, or u<id>
    title: str
    on: bool


async def choices(services: Services, *, group_id: int, person_id: int) -> list[GroupChoice] | None:
    """What an admin can switch for the group: the built-in decks, the admin's own and
    added decks, and any other person's deck the group has on (to switch it off).
    None: the group is not subscribed."""
    async with services.autocommit() as session:
        settings = await load_chat(group_id, session=session, services=services)
        if settings is None:
            return None
        visible = await deck_store.visible_decks(person_id, session=session)
        others = own_deck_ids(settings.decks) - {deck.id for deck in visible}
        loaded = await deck_store.load_decks(others, with_questions=(), session=session)
    on = set(settings.decks)
    found = [GroupChoice(d.id, d.title, d.id in on) for d in services.bank.builtin.decks]
    decks = sorted([*visible, *(content.deck for content in loaded.values())], key=lambda d: d.id)
    found += [GroupChoice(deck_key(d.id), d.title, deck_key(d.id) in on) for d in decks]
    return found


class Switched(Enum):
    ON = "on"
    OFF = "off"
    LAST = "last"  # the only deck on stays on
    NOT_ALLOWED = "not allowed"  # a deck the admin neither owns nor added
    GONE = "gone"  # no such deck (deleted, or a forged button)
    NOT_SUBSCRIBED = "not subscribed"


@dataclass(frozen=True)
class SwitchResult:
    outcome: Switched
    title: str = ""


def _with_decks(
    settings: ChatSettings, keys: set[str], builtin_order: tuple[str, ...]
) -> ChatSettings:
    own = sorted(own_deck_ids(keys))
    return replace(
        settings, decks=ordered_decks(keys, builtin_order) + tuple(deck_key(d) for d in own)
    )


async def switch(
    services: Services, *, group_id: int, person_id: int, ref: str, now: datetime
) -> SwitchResult:
    """Switch one deck on or off for the group (``ref``: a button's deck reference).

    A read-modify-write of the group's decks with the chat's row locked (and a person's
    deck's row, shared, before it: its owner's delete waits, or has happened and the
    answer is GONE), so two admins switching at once both get their change.
    """
    builtin = services.bank.builtin
    own = deck_id_of_key(ref)
    async with services.sessions() as session, session.begin():
        if own is not None:
            await lock_row(session, DeckRow, own, shared=True)
        await lock_row(session, ChatRow, group_id)
        settings = await load_chat(group_id, session=session, services=services)
        if settings is None:
            return SwitchResult(Switched.NOT_SUBSCRIBED)
        chosen = set(settings.decks)
        if own is None:
            deck = next((d for d in builtin.decks if topic_ref(d.id) == ref), None)
            if deck is None:
                return SwitchResult(Switched.GONE)
            key, title = deck.id, deck.title
        else:
            stored = await deck_store.get_deck(own, session=session)
            if stored is None:
                return SwitchResult(Switched.GONE)
            key, title = deck_key(own), stored.title
            if key not in chosen and own not in await deck_shares.visible_among(
                person_id, [own], session=session
            ):
                return SwitchResult(Switched.NOT_ALLOWED)  # its title is not theirs to see
        turning_on = key not in chosen
        after = chosen ^ {key}
        if not turning_on:
            still = [k for k in after if deck_id_of_key(k) is None and builtin.deck(k)]
            existing = await deck_store.load_decks(
                own_deck_ids(after), with_questions=(), session=session
            )
            if not still and not existing:
                return SwitchResult(Switched.LAST, title)
        await chat_store.save_chat(
            _with_decks(settings, after, builtin.deck_ids), session=session, now=now
        )
    return SwitchResult(Switched.ON if turning_on else Switched.OFF, title)


async def use_in_group(services: Services, *, group_id: int, deck_id: int, now: datetime) -> bool:
    """Switch a freshly imported deck on for the group; False: the group is not subscribed."""
    async with services.sessions() as session, session.begin():
        await lock_row(session, ChatRow, group_id)
        settings = await load_chat(group_id, session=session, services=services)
        if settings is None:
            return False
        keys = {*settings.decks, deck_key(deck_id)}
        await chat_store.save_chat(
            _with_decks(settings, keys, services.bank.builtin.deck_ids), session=session, now=now
        )
    return True


async def quiz_bank(services: Services, *, chat_id: int) -> Bank:
    """What /quiz offers in a chat: in a group, only the decks the group has on (so a
    group that studies its own deck quizzes on it); elsewhere the chat's whole bank."""
    async with services.autocommit() as session:
        bank = await bank_for_chat(services, chat_id, session=session)
        if chat_id > 0:
            return bank
        settings = await load_chat(chat_id, session=session, services=services)
    if settings is None:
        return bank
    chosen = tuple(deck for deck in bank.decks if deck.id in settings.decks)
    return Bank(chosen) if chosen and len(chosen) < len(bank.decks) else bank
