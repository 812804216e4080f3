"""Commands in groups that would otherwise get silence.

``/question`` posts today's group question now (any member may ask; it then
counts as today's) or points to it when it already went out. Commands that
only make sense between a person and the bot (``/next``, ``/answer``,
``/forget``, ``/export``, ``/weak``, ``/remind``) answer in one line, with a
button that opens the private chat through a deep link.
"""

from __future__ import annotations

from telegram import ReplyParameters, Update
from telegram.constants import ChatType

from bot.domain.schedule import local_date_of
from bot.handlers.common import load_chat, now_of, reply
from bot.service.context import BotContext
from bot.storage import deliveries as delivery_store
from bot.storage import groups as group_store
from bot.storage.locks import lock_row
from bot.storage.models import ChatRow, DeliveryRow
from bot.study.banks import bank_for_settings
from bot.study.questions import (
    create_daily,
    group_pool_ids,
    pick_group_question,
    prepare,
    record_outcome,
    send_prepared,
)
from bot.telegram import keyboards
from bot.telegram.sending import Sent

NOT_SUBSCRIBED = "This group is not subscribed yet. Send /start."
NO_QUESTION = "This group's topics have no question right now. Admins can change them: /topics."
SEND_FAILED = "Telegram did not accept the question just now. Please try again in a minute."
PRIVATE_ONLY = {
    "next": "Extra questions",
    "more": "Extra questions",
    "answer": "/answer",
    "forget": "/forget",
    "export": "/export",
    "weak": "/weak",
    "remind": "Streak reminders",
}


def _command(update: Update) -> str:
    """The command's name without the slash and ``@bot`` suffix."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    return text.split(maxsplit=1)[0].lstrip("/").split("@", 1)[0].lower() if text else ""


async def private_only(update: Update, context: BotContext) -> None:
    """One line: this works in a private chat, with a button that opens it."""
    command = _command(update)
    what = PRIVATE_ONLY.get(command, f"/{command}")
    verb = "work" if what.endswith("s") and not what.startswith("/") else "works"
    username = context.bot.username
    await reply(
        update,
        f"{what} {verb} in a private chat with me.",
        reply_markup=keyboards.open_private_keyboard(username, command or "start"),
    )


def message_link(
    chat_id: int, username: str | None, message_id: int, *, supergroup: bool
) -> str | None:
    """A t.me link to a supergroup's message; None for basic groups, which have no links."""
    if not supergroup:
        return None
    if username:
        return f"https://t.me/{username}/{message_id}"
    text = str(chat_id)
    return f"https://t.me/c/{text[4:]}/{message_id}" if text.startswith("-100") else None


async def group_question(update: Update, context: BotContext) -> None:
    """/question in a group: today's question now, or a reply pointing to it."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    now = now_of(context)
    item = None
    existing: DeliveryRow | None = None
    async with services.sessions() as session, session.begin():
        # The chat's row first, as the dispatcher's claim takes it (bot/study/questions.py
        # ``ask``): otherwise today's row and the chat's row can deadlock with a tick.
        await lock_row(session, ChatRow, chat.id)
        settings = await load_chat(chat.id, session=session, services=services)
        if settings is None:
            await reply(update, NOT_SUBSCRIBED)
            return
        zone = settings.schedule.timezone
        today = local_date_of(now, zone)
        existing = await delivery_store.daily_delivery(chat.id, today, session=session)
        if existing is None:
            bank = await bank_for_settings(services, settings, session=session)
            history = await group_store.delivered_at_among(
                chat.id, group_pool_ids(bank, settings), session=session
            )
            question_id = pick_group_question(bank, settings, delivered=history)
            if question_id is None:
                await reply(update, NO_QUESTION)
                return
            delivery = await create_daily(
                settings, session=session, question_id=question_id, local_date=today, now=now
            )
            if delivery is None:  # the dispatcher got there first
                existing = await delivery_store.daily_delivery(chat.id, today, session=session)
            else:
                streak = await group_store.group_streak_on(
                    chat.id, zone=zone, today=today, session=session
                )
                item = prepare(delivery, group=True, group_streak=streak, bank=bank)
    if item is not None:
        outcome = await send_prepared(context.bot, services.bank, item, rich=services.rich)
        async with services.sessions() as session, session.begin():
            await record_outcome(item, outcome, session=session, now=services.clock())
        if not isinstance(outcome, Sent):
            await reply(update, SEND_FAILED)
        return
    await _point_to(update, context, existing)


async def _point_to(update: Update, context: BotContext, delivery: DeliveryRow | None) -> None:
    chat = update.effective_chat
    if chat is None or delivery is None or delivery.message_id is None:
        await reply(update, "Today's question is on its way.")
        return
    link = message_link(
        chat.id, chat.username, delivery.message_id, supergroup=chat.type == ChatType.SUPERGROUP
    )
    text = "Today's question is already here ⬆️" + (f' <a href="{link}">Open it</a>' if link else "")
    await context.bot.send_message(
        chat.id,
        text,
        reply_parameters=ReplyParameters(delivery.message_id, allow_sending_without_reply=True),
    )
