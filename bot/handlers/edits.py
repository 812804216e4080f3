"""Edited messages: never run again, at most one short line saying so.

Telegram sends an edit of a message as a new update carrying the whole message. Were
it read like a new message, an edited /next would send another question and an edited
/export the files again; an edited typed answer would be checked twice. So edits run
nothing: an edited text gets one line (in groups only an edited command, so that
ordinary talk being corrected stays unanswered), and anything else edited (a live
location moving, a caption) gets no reply at all.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.rendering import texts
from bot.service.context import BotContext


async def edited_message(update: Update, context: BotContext) -> None:
    """Any edited message: run nothing; one line for an edited text (see the module)."""
    message = update.edited_message
    if message is None or not message.text:
        return
    if message.chat.type != ChatType.PRIVATE and not _command_for_me(
        message.text, context.bot.username
    ):
        return
    await message.reply_text(texts.EDITS_NOT_READ)


def _command_for_me(text: str, username: str) -> bool:
    """A /command, not addressed to another bot (``/quiz@OtherBot``)."""
    if not text.startswith("/"):
        return False
    _, at, addressee = text.split(maxsplit=1)[0].partition("@")
    return not at or addressee.lower() == username.lower()
