"""/start, /help and /forget: subscribing, explaining, and deleting a person's data."""

from __future__ import annotations

from telegram import MaybeInaccessibleMessage, Message, Update

from bot.handlers.common import edit_or_ignore, reply, toast, turn_of
from bot.jobs import notices
from bot.rendering import texts
from bot.service.context import BotContext
from bot.study import subscription
from bot.telegram import keyboards
from bot.telegram.callbacks import Forget


async def start_command(update: Update, context: BotContext) -> None:
    """/start: subscribe this private chat (or wake it up) and explain the bot."""
    turn = turn_of(update, context)
    person = turn.person if turn is not None else None
    if turn is None or person is None:
        return
    settings = await subscription.subscribe(
        turn.services, chat_id=turn.chat.id, chat_kind=turn.chat.type, person=person, now=turn.now
    )
    await reply(
        update,
        texts.welcome(person.first_name or "there", settings, turn.now, len(turn.services.bank)),
        reply_markup=keyboards.first_question_keyboard(),
    )


async def help_command(update: Update, context: BotContext) -> None:
    """/help: what the bot does and every command."""
    await reply(update, texts.HELP)


async def forget_command(update: Update, context: BotContext) -> None:
    """/forget: ask for confirmation before deleting everything about the person."""
    await reply(
        update,
        "This deletes your schedule, cards, reviews, streaks and your own decks for good. "
        "Are you sure?",
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
    owed = await subscription.forget(context.services, person_id=user.id)
    await toast(update, "Deleted.")
    await _settle(
        query.message, "Done: everything stored about you is deleted. Send /start to begin again."
    )
    if owed:
        # The people who added the person's decks are owed one notice each, in the outbox
        # (written with the delete): sent now, after the reply, as broadcast traffic; what
        # a crash or restart leaves, the periodic job sends (bot/jobs/notices.py).
        context.application.create_task(notices.kick(context.bot, context.services))


async def _settle(message: MaybeInaccessibleMessage | None, text: str) -> None:
    """Put the outcome in the question's place (a second press puts the same text:
    "not modified", no error; a deleted message is left alone)."""
    if isinstance(message, Message):
        await edit_or_ignore(message, text)
