"""Runs before every other handler: a blocked chat that writes again is reactivated."""

from __future__ import annotations

from dataclasses import replace

from telegram import Update

from bot.context import BotContext
from bot.handlers.common import now_of
from bot.storage import chats as chat_store


async def reactivate_on_activity(update: Update, context: BotContext) -> None:
    """A user who unblocked the bot and writes again gets daily questions again."""
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    now = now_of(context)
    async with context.services.sessions() as session, session.begin():
        settings = await chat_store.get_chat(chat.id, session=session)
        if settings is not None and not settings.active:
            await chat_store.save_chat(
                replace(settings, active=True).rescheduled(now=now), session=session, now=now
            )
