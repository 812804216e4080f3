"""/decks and deck files in a private chat: parse the update, call bot/study/decks.py,
render with bot/rendering/decks_texts.py.

A file is downloaded from the Bot API server the bot talks to (getFile, then
``<TELEGRAM_API_URL>/file/bot<token>/<file_path>``: the Bot's ``base_file_url``, set
in bot/app.py), parsed and checked by bot/content/imports, and stored only when it has
no problem at all.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import Update
from telegram.error import TelegramError

from bot.handlers.common import Turn, edit_or_ignore, reply, toast, turn_of
from bot.jobs import notices
from bot.rendering import deck_sharing_texts as sharing_say
from bot.rendering import decks_texts as say
from bot.rendering.text import escape_html
from bot.service.context import BotContext
from bot.service.deck_parser import Busy
from bot.study import deck_sharing
from bot.study import decks as use
from bot.study.people import Person
from bot.telegram import keyboards
from bot.telegram.callbacks import ManageDeck

if TYPE_CHECKING:
    from bot.content.imports import DeckUpload

log = logging.getLogger(__name__)


async def decks_command(update: Update, context: BotContext) -> None:
    """/decks in a private chat: how to upload, and the person's decks with buttons."""
    turn = turn_of(update, context)
    if turn is None or turn.user is None:
        return
    decks = await use.my_decks(turn.services, person_id=turn.user.id)
    # Decks shared with the person (bot/study/deck_sharing.py), each with Remove.
    added = await deck_sharing.added_decks(turn.services, person_id=turn.user.id)
    await reply(
        update,
        say.decks_text(decks) + sharing_say.added_listing(added),
        reply_markup=keyboards.own_decks_keyboard(
            [(deck.id, deck.title) for deck in decks], [(deck.id, deck.title) for deck in added]
        ),
    )


async def document_message(update: Update, context: BotContext) -> None:
    """A file in a private chat: import it as the sender's deck (or the next version of
    the deck they chose to replace)."""
    turn = turn_of(update, context)
    message = update.effective_message
    if turn is None or turn.user is None or message is None or message.document is None:
        return
    user = turn.user
    person = Person(user.id, user.first_name or "", user.username)
    plan = await use.plan_upload(turn.services, person_id=user.id, now=turn.now)
    if plan.refused is use.Refused.TOO_MANY_UPLOADS:
        await reply(update, say.TOO_MANY_UPLOADS)
        return
    if plan.refused is use.Refused.TOO_MANY_DECKS:
        await reply(update, say.TOO_MANY_DECKS)
        return
    # A caption names the deck (else the file does: a YAML title, or the file's name).
    caption = (message.caption or "").strip()
    title = caption[:64] if caption and not caption.startswith("/") else None
    upload = await read_deck_file(update, turn, person, title=title)
    if upload is None or upload.deck is None:
        return
    imported = upload.deck
    replaces = plan.replaces
    saved = await use.save_upload(
        turn.services,
        person=person,
        # A new version keeps the deck's title unless the caption gives one (a CSV's
        # would be its file name).
        title=replaces.title if replaces is not None and title is None else imported.title,
        questions=imported.questions,
        replaces=replaces.id if replaces is not None else None,
        now=turn.now,
    )
    if saved is None:
        await reply(update, say.REPLACE_GONE)
    elif saved is use.Refused.TOO_MANY_DECKS:
        await reply(update, say.TOO_MANY_DECKS)
    elif saved is use.Refused.TOO_MANY_UPLOADS:  # another upload of theirs reached it meanwhile
        await reply(update, say.TOO_MANY_UPLOADS)
    elif isinstance(saved, use.Imported):
        await reply(update, say.imported_text(saved.deck, saved.changes, upload.dropped_media))


async def read_deck_file(
    update: Update, turn: Turn, person: Person, *, title: str | None
) -> DeckUpload | None:
    """Download the message's file and read it as a checked deck. None, or an upload
    without a deck: refused, and the sender was told why (a refused file counts
    against the hourly limit). Used for private uploads and for a group's
    (bot/handlers/group_decks.py)."""
    # The readers (YAML, CSV, Anki) are imported on the first file, not at start-up.
    from bot.content.imports import problems_message, size_refusal

    message = update.effective_message
    if message is None or message.document is None:
        return None
    document = message.document
    file_name = document.file_name or ""
    too_big = size_refusal(document.file_size) if document.file_size is not None else None
    if too_big is not None:
        # Not downloaded at all: the size Telegram reports is enough to refuse it.
        await use.count_upload(turn.services, person=person, now=turn.now)
        await reply(update, escape_html(too_big))
        return None
    # Read in a worker process, one file per person at a time (bot/service/deck_parser.py).
    with turn.services.deck_parser.turn(person.id) as busy:
        if busy is not None:
            await reply(update, say.STILL_READING if busy is Busy.YOURS else say.READERS_BUSY)
            return None
        try:
            telegram_file = await document.get_file()
            data = bytes(await telegram_file.download_as_bytearray())
        except TelegramError as error:
            log.warning("could not download an uploaded deck: %s", error)
            await reply(update, say.DOWNLOAD_FAILED)
            return None
        upload = await turn.services.deck_parser.parse(file_name, data, title=title)
    if upload is None:
        # The reader died (logged by the parser): counted, as a refused file is.
        await use.count_upload(turn.services, person=person, now=turn.now)
        await reply(update, say.READER_FAILED)
        return None
    if upload.deck is None or upload.problems:
        await use.count_upload(turn.services, person=person, now=turn.now)
        await reply(update, escape_html(problems_message(upload)))
        return None
    return upload


async def group_document(update: Update, context: BotContext) -> None:
    """A file sent in a group with /decks as its caption: decks are uploaded in private."""
    await reply(update, say.GROUP_FILES)


async def manage_button(update: Update, context: BotContext, action: ManageDeck) -> None:
    """Replace, Delete and its confirmation, for one's own decks only."""
    turn = turn_of(update, context)
    query = update.callback_query
    if turn is None or turn.user is None or query is None:
        return
    services, person_id = turn.services, turn.user.id
    message = query.message
    if action.step == "replace":
        deck = await use.ask_replace(
            services, person_id=person_id, deck_id=action.deck_id, now=turn.now
        )
        await toast(update, "" if deck is not None else say.NOT_YOURS)
        if deck is not None:
            await reply(update, say.replace_prompt(deck))
        return
    if action.step == "delete-no":
        await toast(update, say.DELETE_KEPT)
        if message is not None and hasattr(message, "text"):
            await edit_or_ignore(message, say.DELETE_KEPT)  # type: ignore[arg-type]
        return
    if action.step == "delete":
        deck = await use.own_deck(services, person_id=person_id, deck_id=action.deck_id)
        await toast(update, "" if deck is not None else say.NOT_YOURS)
        if deck is not None:
            await reply(
                update,
                say.delete_prompt(deck),
                reply_markup=keyboards.delete_deck_keyboard(deck.id),
            )
        return
    deck = await use.delete(services, person_id=person_id, deck_id=action.deck_id)
    await toast(update, "Deleted." if deck is not None else say.NOT_YOURS)
    if deck is not None and message is not None and hasattr(message, "text"):
        await edit_or_ignore(message, say.deleted_text(deck))  # type: ignore[arg-type]
    if deck is not None:
        # Those who added it are owed a notice (the outbox): sent now, after the reply.
        context.application.create_task(notices.kick(context.bot, services))
