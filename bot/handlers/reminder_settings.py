"""/remind and the reminder row of /settings: when the streak reminder may come, or off."""

from __future__ import annotations

from datetime import time

from telegram import Message, Update

from bot.domain.chats import ChatSettings, format_hhmm
from bot.domain.schedule import ScheduleInputError
from bot.domain.streak_reminders import parse_remind_args
from bot.handlers.common import NOT_SUBSCRIBED, edit_or_ignore, load_chat, now_of, reply, toast
from bot.rendering import escape_html
from bot.service.context import BotContext
from bot.storage import reminder_candidates as reminder_store
from bot.storage.reminder_candidates import Reminder
from bot.telegram import keyboards
from bot.telegram.callbacks import SetReminder

REMIND_HELP = (
    "If you have a streak of 2 days or more and haven't studied by your reminder time, I send "
    "one nudge. Change it with <code>/remind 21:30</code>, or <code>/remind off</code>."
)


def _label(reminder: Reminder) -> str:
    return format_hhmm(reminder.at) if reminder.enabled else "off"


def settings_line(label: str | None) -> str:
    """The reminder's line in the /settings text (private chats only)."""
    return f"\nStreak reminder: <b>{label}</b>" if label else ""


async def reminder_label(context: BotContext, settings: ChatSettings) -> str | None:
    """``20:00`` or ``off`` for a private chat's /settings; None in groups."""
    if settings.is_group:
        return None
    services = context.services
    async with services.sessions() as session, session.begin():
        reminder = await reminder_store.ensure_reminder(
            settings.chat_id, settings.schedule.timezone, session=session, now=now_of(context)
        )
    return _label(reminder)


def _status(reminder: Reminder, settings: ChatSettings) -> str:
    zone = escape_html(settings.schedule.timezone)
    if not reminder.enabled:
        return "Streak reminders are <b>off</b>. <code>/remind 20:00</code> turns them on."
    return f"Streak reminder: <b>{format_hhmm(reminder.at)}</b> your time ({zone})."


async def remind_command(update: Update, context: BotContext) -> None:
    """/remind [HH:MM | off | on]: the streak reminder's time."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    now = now_of(context)
    text = " ".join(context.args or [])
    request = None
    if text:
        try:
            request = parse_remind_args(text)
        except ScheduleInputError as error:
            await reply(update, f"{escape_html(str(error))}\n{REMIND_HELP}")
            return
    async with services.sessions() as session, session.begin():
        settings = await load_chat(chat.id, session=session, services=services)
        if settings is None:
            await reply(update, NOT_SUBSCRIBED)
            return
        zone = settings.schedule.timezone
        if request is None:
            reminder = await reminder_store.ensure_reminder(chat.id, zone, session=session, now=now)
        else:
            reminder = await reminder_store.set_reminder(
                chat.id, zone, session=session, now=now, enabled=request.enabled, at=request.at
            )
    if request is None:
        await reply(
            update,
            f"{_status(reminder, settings)}\n{REMIND_HELP}",
            reply_markup=keyboards.reminder_keyboard(back=False),
        )
        return
    await reply(update, _status(reminder, settings))


async def edit_reminder_menu(context: BotContext, message: Message, settings: ChatSettings) -> None:
    """The /settings › Reminder page."""
    async with context.services.sessions() as session, session.begin():
        reminder = await reminder_store.ensure_reminder(
            settings.chat_id, settings.schedule.timezone, session=session, now=now_of(context)
        )
    await edit_or_ignore(
        message,
        f"{_status(reminder, settings)}\n{REMIND_HELP}",
        reply_markup=keyboards.reminder_keyboard(),
    )


async def set_reminder_button(update: Update, context: BotContext, action: SetReminder) -> None:
    """A reminder preset (or Off) tapped under /remind or in /settings."""
    chat, query = update.effective_chat, update.callback_query
    if chat is None or query is None:
        return
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        settings = await load_chat(chat.id, session=session, services=services)
        if settings is None or settings.is_group:
            await toast(update, NOT_SUBSCRIBED, alert=True)
            return
        at = None if action.hour is None else time(action.hour, action.minute)
        reminder = await reminder_store.set_reminder(
            chat.id,
            settings.schedule.timezone,
            session=session,
            now=now,
            enabled=at is not None,
            at=at,
        )
    await toast(update, f"Reminder: {_label(reminder)}")
    if isinstance(query.message, Message):
        markup = query.message.reply_markup
        rows = markup.inline_keyboard if markup is not None else ()
        back = any(button.text.startswith("«") for row in rows for button in row)
        await edit_or_ignore(
            query.message,
            f"{_status(reminder, settings)}\n{REMIND_HELP}",
            reply_markup=keyboards.reminder_keyboard(back=back),
        )
