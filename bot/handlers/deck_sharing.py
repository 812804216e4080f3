"""Sharing decks and taking them along, in a private chat: Share and Revoke link under
/decks, a shared link opened (``/start d-<code>``) and its Add button, and "Take a deck
with you" (a deck sent as .apkg or YAML). Parse, call bot/study/deck_sharing.py or
bot/study/deck_exports.py, render with bot/rendering/deck_sharing_texts.py."""

from __future__ import annotations

from telegram import InputFile, Message, Update

from bot.handlers.common import edit_or_ignore, reply, toast, turn_of
from bot.rendering import deck_sharing_texts as say
from bot.rendering import decks_texts
from bot.service.context import BotContext
from bot.study import deck_exports, deck_sharing
from bot.study import decks as own_decks
from bot.study.deck_sharing import Added, Relation
from bot.telegram import keyboards
from bot.telegram.callbacks import (
    AddSharedDeck,
    DeckMenu,
    DownloadDeck,
    DownloadDecks,
    RemoveAddedDeck,
    ShareDeck,
)


async def share_button(update: Update, context: BotContext, action: ShareDeck) -> None:
    """Share (the deck's link) or Revoke link (a new one): the owner only."""
    turn = turn_of(update, context)
    query = update.callback_query
    if turn is None or turn.user is None or query is None:
        return
    deck = await deck_sharing.share(
        turn.services, person_id=turn.user.id, deck_id=action.deck_id, revoke=action.revoke
    )
    if deck is None or deck.share_code is None:
        await toast(update, say.NOT_YOURS)
        return
    url = deck_sharing.link(context.bot.username, deck.share_code)
    markup = keyboards.share_keyboard(deck.id)
    if action.revoke:
        await toast(update, "A new link; the old one no longer works.")
        if isinstance(query.message, Message):
            await edit_or_ignore(query.message, say.revoked_text(deck, url), reply_markup=markup)
        return
    await toast(update, "")
    await reply(update, say.share_text(deck, url), reply_markup=markup)


async def deck_menu_button(update: Update, context: BotContext, action: DeckMenu) -> None:
    """One deck's Replace, Share and Delete (/decks lists many decks with one button each)."""
    turn = turn_of(update, context)
    if turn is None or turn.user is None:
        return
    deck = await own_decks.own_deck(turn.services, person_id=turn.user.id, deck_id=action.deck_id)
    if deck is None:
        await toast(update, say.NOT_YOURS)
        return
    await toast(update, "")
    await reply(
        update,
        decks_texts.deck_line(deck),
        reply_markup=keyboards.own_deck_keyboard(deck.id, deck.title),
    )


async def remove_button(update: Update, context: BotContext, action: RemoveAddedDeck) -> None:
    """Remove: a deck shared with the person leaves their decks."""
    turn = turn_of(update, context)
    if turn is None or turn.user is None:
        return
    deck = await deck_sharing.remove(
        turn.services, person_id=turn.user.id, deck_id=action.deck_id, now=turn.now
    )
    if deck is None:
        await toast(update, say.NOT_ADDED)
        return
    await toast(update, "Removed.")
    await reply(update, say.removed_text(deck))


async def start_with_link(update: Update, context: BotContext) -> None:
    """``/start d-<code>``: a shared deck's title, size and owner, with Add."""
    turn = turn_of(update, context)
    if turn is None or turn.user is None:
        return
    payload = (context.args or [""])[0]
    code = deck_sharing.code_of_payload(payload)
    view = (
        await deck_sharing.open_link(turn.services, code=code, person_id=turn.user.id)
        if code is not None
        else None
    )
    if code is None or view is None:
        await reply(update, say.LINK_GONE if code is not None else say.NOT_A_LINK)
        return
    shared = view.shared
    text = say.link_text(
        shared.deck,
        shared.owner_first_name,
        own=view.relation is Relation.OWNER,
        added=view.relation is Relation.ADDED,
    )
    markup = keyboards.add_shared_keyboard(code) if view.relation is Relation.STRANGER else None
    await reply(update, text, reply_markup=markup)


async def add_button(update: Update, context: BotContext, action: AddSharedDeck) -> None:
    """Add: the link's deck joins the person's decks (if the link still works)."""
    turn = turn_of(update, context)
    person = turn.person if turn is not None else None
    query = update.callback_query
    if turn is None or person is None or query is None:
        return
    result = await deck_sharing.add(turn.services, person=person, code=action.code, now=turn.now)
    if result.outcome is Added.GONE or result.deck is None:
        await toast(update, say.LINK_GONE, alert=True)
        return
    if result.outcome in (Added.DELETED, Added.TOO_MANY):
        text = say.DECK_DELETED if result.outcome is Added.DELETED else say.TOO_MANY_ADDED
        await toast(update, text, alert=True)
        if isinstance(query.message, Message):
            await edit_or_ignore(query.message, text)
        return
    texts = {
        Added.ADDED: say.added_text,
        Added.ALREADY: say.already_text,
        Added.OWN: say.own_text,
    }
    await toast(update, "Added." if result.outcome is Added.ADDED else "")
    if isinstance(query.message, Message):
        await edit_or_ignore(query.message, texts[result.outcome](result.deck))


async def downloads_button(update: Update, context: BotContext, action: DownloadDecks) -> None:
    """ "Take a deck with you": every deck the person can study, two formats each."""
    turn = turn_of(update, context)
    if turn is None or turn.user is None:
        return
    found = await deck_exports.choices(turn.services, person_id=turn.user.id)
    await toast(update, "")
    await reply(
        update,
        say.download_pick(len(found), keyboards.DOWNLOADS_SHOWN),
        reply_markup=keyboards.downloads_keyboard([(c.key, c.title) for c in found]),
    )


async def download_button(update: Update, context: BotContext, action: DownloadDeck) -> None:
    """Send one deck as a file (sendDocument)."""
    turn = turn_of(update, context)
    if turn is None or turn.user is None:
        return
    made = await deck_exports.download(
        turn.services, person_id=turn.user.id, ref=action.key, kind=action.kind
    )
    if made is None:
        await toast(update, say.NOT_YOURS)
        return
    await toast(update, "")
    kind = "an Anki package" if action.kind == "apkg" else "YAML"
    await context.bot.send_document(
        turn.chat.id,
        InputFile(made.data, filename=made.file_name),
        caption=say.download_caption(made.title, kind),
        parse_mode="HTML",
    )
