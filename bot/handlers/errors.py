"""The error handler: log first, then tell the person something went wrong, briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.handlers.common import toast
from bot.service import db_outage
from bot.service.context import BotContext

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."


async def error_handler(update: object, context: BotContext) -> None:
    """Log the exception with the update's ids; never show a traceback to a user."""
    error = context.error
    if db_outage.is_unavailable(error):
        await _database_unavailable(update, context, error)
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
            await toast(update, APOLOGY, alert=True)  # unless the handler answered it
        elif update.effective_message is not None:
            await update.effective_message.reply_text(APOLOGY)
    except TelegramError as reply_error:
        log.warning("could not tell the user about the error: %s", reply_error)


async def _database_unavailable(update: object, context: BotContext, error: object) -> None:
    """An outage: one log line for all of it (DatabaseStatus), a short 'try again' here.

    Raising ApplicationHandlerStop keeps later handler groups from failing on the same
    outage and answering a second time.
    """
    services = context.bot_data.services
    if services is not None and isinstance(error, BaseException):
        db_outage.status_of(services.engine).failed(error)
    if isinstance(update, Update):
        try:
            if update.callback_query is not None:
                await toast(update, db_outage.UNAVAILABLE_BUTTON, alert=True)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(db_outage.UNAVAILABLE)
        except TelegramError as reply_error:
            log.warning("could not tell the user the database is unreachable: %s", reply_error)
    raise ApplicationHandlerStop
