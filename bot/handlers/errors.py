"""The error handler: log first, then tell the person something went wrong, briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.context import BotContext

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."


async def error_handler(update: object, context: BotContext) -> None:
    """Log the exception with the update's ids; never show a traceback to a user."""
    error = context.error
    summary = ""
    if isinstance(update, Update):
        chat = update.effective_chat
        summary = f" (update {update.update_id}, chat {chat.id if chat else '-'})"
    if isinstance(error, Forbidden):
        log.info("Telegram refused%s: %s", summary, error)
        return
    log.error("Unhandled error%s", summary, exc_info=error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(APOLOGY, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(APOLOGY)
    except TelegramError as reply_error:
        log.warning("could not tell the user about the error: %s", reply_error)
