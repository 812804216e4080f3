"""A study group's decks: /decks and /topics in a group (admins; one menu, as is the
Topics button of the group's /settings), its switches, and a deck file sent with
``/decks`` as its caption. Admins only, with the same one-line refusal as every other
group setting (bot/handlers/groups.py ``admin_only``). Parse, call
bot/study/group_decks.py (and bot/study/decks.py for a file), render."""

from __future__ import annotations

import re

from telegram import InlineKeyboardMarkup, Message, Update

from bot.handlers import decks as deck_files
from bot.handlers.common import edit_or_ignore, reply, toast, turn_of
from bot.handlers.groups import admin_only
from bot.rendering import deck_sharing_texts as say
from bot.rendering import decks_texts
from bot.service.context import BotContext
from bot.study import decks as deck_use
from bot.study import group_decks as use
from bot.study.group_decks import Switched
from bot.telegram import keyboards
from bot.telegram.callbacks import GroupDeck

CAPTION = re.compile(r"^/decks(?:@\w+)?(?:\s+(?P<title>.*))?$", re.DOTALL)
"""A caption that makes a file in a group its deck; what follows names the deck."""


async def _menu(
    update: Update, context: BotContext, *, back: bool = False
) -> tuple[str, InlineKeyboardMarkup] | None:
    """The menu for the admin of this update (the decks they own or added are theirs to
    switch on); ``back``: with the /settings « Back row. None: not subscribed."""
    turn = turn_of(update, context)
    if turn is None or turn.user is None:
        return None
    found = await use.choices(turn.services, group_id=turn.chat.id, person_id=turn.user.id)
    if found is None:
        return None
    markup = keyboards.group_decks_keyboard([(c.key, c.title, c.on) for c in found], back=back)
    return say.GROUP_HOW_TO, markup


async def edit_into_menu(update: Update, context: BotContext) -> None:
    """The group's /settings Topics button: the same menu as /decks, with « Back."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    menu = await _menu(update, context, back=True)
    if menu is not None:
        text, markup = menu
        await edit_or_ignore(query.message, text, reply_markup=markup)


@admin_only
async def group_decks_command(update: Update, context: BotContext) -> None:
    """/decks and /topics in a group: the decks the group can study, switched by admins."""
    menu = await _menu(update, context)
    if menu is None:
        await reply(update, say.GROUP_NOT_SUBSCRIBED)
        return
    text, markup = menu
    await reply(update, text, reply_markup=markup)


@admin_only
async def group_deck_button(update: Update, context: BotContext, action: GroupDeck) -> None:
    """Switch one deck on or off for the group."""
    await switch_deck(update, context, action.key)


async def switch_deck(update: Update, context: BotContext, ref: str) -> None:
    """Switch the deck a button names (its ``topic_ref``) for the group, and redraw the
    menu; also a group's /topics button from before /topics showed this menu
    (bot/handlers/settings.py). The caller checked that the presser is an admin."""
    turn = turn_of(update, context)
    query = update.callback_query
    if turn is None or turn.user is None or query is None:
        return
    result = await use.switch(
        turn.services, group_id=turn.chat.id, person_id=turn.user.id, ref=ref, now=turn.now
    )
    notes = {
        Switched.ON: f"On: {result.title}",
        Switched.OFF: f"Off: {result.title}",
        Switched.LAST: "At least one deck stays on.",
        Switched.NOT_ALLOWED: "Only decks you own or added can be switched on.",
        Switched.GONE: "That deck no longer exists.",
        Switched.NOT_SUBSCRIBED: say.GROUP_NOT_SUBSCRIBED,
    }
    await toast(update, notes[result.outcome][:200])
    if result.outcome in (Switched.ON, Switched.OFF) and isinstance(query.message, Message):
        back = keyboards.has_back_row(query.message.reply_markup)
        menu = await _menu(update, context, back=back)
        if menu is not None:
            text, markup = menu
            await edit_or_ignore(query.message, text, reply_markup=markup)


@admin_only
async def group_document(update: Update, context: BotContext) -> None:
    """A file with ``/decks`` as its caption, from an admin: a deck for the group (owned
    by that admin, who can replace or delete it from their /decks)."""
    turn = turn_of(update, context)
    person = turn.person if turn is not None else None
    message = update.effective_message
    if turn is None or person is None or message is None:
        return
    if message.sender_chat is not None and message.sender_chat.id == turn.chat.id:
        # An anonymous admin posts as the group: the deck would have no owner to manage it.
        await reply(update, say.ANONYMOUS_UPLOAD)
        return
    match = CAPTION.match((message.caption or "").strip())
    named = (match.group("title") or "").strip() if match is not None else ""
    title = named[:64] or None
    plan = await deck_use.plan_upload(turn.services, person_id=person.id, now=turn.now)
    if plan.refused is deck_use.Refused.TOO_MANY_UPLOADS:
        await reply(update, decks_texts.TOO_MANY_UPLOADS)
        return
    if plan.refused is deck_use.Refused.TOO_MANY_DECKS:
        await reply(update, decks_texts.TOO_MANY_DECKS)
        return
    upload = await deck_files.read_deck_file(update, turn, person, title=title)
    if upload is None or upload.deck is None:
        return
    saved = await deck_use.save_upload(
        turn.services,
        person=person,
        title=upload.deck.title,
        questions=upload.deck.questions,
        replaces=None,
        now=turn.now,
    )
    if not isinstance(saved, deck_use.Imported):
        refused = saved is deck_use.Refused.TOO_MANY_UPLOADS
        await reply(update, decks_texts.TOO_MANY_UPLOADS if refused else decks_texts.TOO_MANY_DECKS)
        return
    if not await use.use_in_group(
        turn.services, group_id=turn.chat.id, deck_id=saved.deck.id, now=turn.now
    ):
        await reply(update, say.GROUP_NOT_SUBSCRIBED)
        return
    await reply(update, say.group_deck_imported(saved.deck, upload.dropped_media))
