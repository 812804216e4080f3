"""/start, /help and /forget: subscribing, explaining, and deleting a person's data."""

from __future__ import annotations

from dataclasses import replace

from telegram import MaybeInaccessibleMessage, Message, Update

from bot.handlers.common import (
    default_settings,
    edit_or_ignore,
    ensure_person,
    load_chat,
    now_of,
    reply,
    toast,
)
from bot.rendering import texts
from bot.service.context import BotContext
from bot.storage import chats as chat_store
from bot.storage import people
from bot.storage import reminder_candidates as reminder_store
from bot.telegram import keyboards
from bot.telegram.callbacks import Forget


async def start_command(update: Update, context: BotContext) -> None:
    """/start: subscribe this private chat (or wake it up) and explain the bot."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        settings = await load_chat(chat.id, session=session, services=services)
        if settings is None:
            settings = default_settings(services, chat.id, chat.type)
        settings = replace(settings, active=True, paused=False).rescheduled(now=now)
        await ensure_person(
            user, session=session, services=services, now=now, timezone=settings.schedule.timezone
        )
        await chat_store.save_chat(settings, session=session, now=now)
        await reminder_store.ensure_reminder(
            chat.id, settings.schedule.timezone, session=session, now=now
        )
    await reply(
        update,
        texts.welcome(user.first_name or "there", settings, now, len(services.bank)),
        reply_markup=keyboards.first_question_keyboard(),
    )


async def help_command(update: Update, context: BotContext) -> None:
    """/help: what the bot does and every command."""
    await reply(update, texts.HELP)


async def forget_command(update: Update, context: BotContext) -> None:
    """/forget: ask for confirmation before deleting everything about the person."""
    await reply(
        update,
        "This deletes your schedule, cards, reviews and streaks for good. Are you sure?",
        reply_markup=keyboards.forget_keyboard(),
    )


async def forget_button(update: Update, context: BotContext, action: Forget) -> None:
    """The confirmation of /forget."""
    user, query = update.effective_user, update.callback_query
    if user is None or query is None:
        return
    if not action.confirmed:
        await toast(update, "Nothing was deleted.")
        await _settle(query.message, "Nothing was deleted.")
        return
    async with context.services.sessions() as session, session.begin():
        await people.forget_person(user.id, session=session)
    await toast(update, "Deleted.")
    await _settle(
        query.message, "Done: everything stored about you is deleted. Send /start to begin again."
    )


async def _settle(message: MaybeInaccessibleMessage | None, text: str) -> None:
    """Put the outcome in the question's place (a second press puts the same text:
    "not modified", no error; a deleted message is left alone)."""
    if isinstance(message, Message):
        await edit_or_ignore(message, text)
