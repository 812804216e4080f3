"""/settings and friends: time, time zone (typed or by location), days, topics, pause."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType

from bot.domain.chats import ChatSettings, format_hhmm, ordered_decks
from bot.domain.content import Bank
from bot.domain.schedule import (
    ScheduleInputError,
    describe_days,
    parse_days,
    parse_local_time,
    parse_timezone,
)
from bot.domain.topics import topic_ref
from bot.handlers import group_decks
from bot.handlers import reminder_settings as reminders
from bot.handlers.common import (
    NOT_SUBSCRIBED,
    chat_bank,
    edit_or_ignore,
    now_of,
    reply,
    toast,
    turn_of,
)
from bot.handlers.groups import admin_only
from bot.rendering import escape_html, texts
from bot.service.context import BotContext
from bot.storage import people
from bot.study import settings as study_settings
from bot.study.locations import timezone_at
from bot.study.settings import Change
from bot.telegram import keyboards
from bot.telegram.callbacks import OpenSettings, SetDays, SetPaused, SetTime, ToggleDay, ToggleDeck

TIME_HELP = (
    "Send the time like this: <code>/time 9:30</code> (24-hour), or <code>/time 9am</code>, "
    "<code>/time 9:30 pm</code>."
)
TIMEZONE_HELP = (
    "Send your time zone like this: <code>/timezone Europe/Berlin</code>, "
    "<code>/timezone new york</code> or <code>/timezone UTC+5:30</code>. "
    "Or share your location (📎 → Location) and I will work it out."
)
GROUP_TIMEZONE_HELP = (
    "Send the group's time zone like this: <code>/timezone Europe/Berlin</code>, "
    "<code>/timezone new york</code> or <code>/timezone UTC+5:30</code>."
)
GROUP_NOT_SUBSCRIBED = "This group is not subscribed yet. Send /start."


def _in_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


def _timezone_help(update: Update) -> str:
    return GROUP_TIMEZONE_HELP if _in_group(update) else TIMEZONE_HELP


def _zone_is(update: Update, zone: str) -> str:
    whose = "This group's" if _in_group(update) else "Your"
    return f"{whose} time zone is <b>{escape_html(zone)}</b>."


def _not_subscribed(update: Update) -> str:
    return GROUP_NOT_SUBSCRIBED if _in_group(update) else NOT_SUBSCRIBED


DAYS_HELP = (
    "Pick below, or send <code>/days weekdays</code>, <code>/days every day</code>, "
    "<code>/days mon,wed,fri</code>."
)
DAY_PRESETS = {
    "all": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}


async def _change(update: Update, context: BotContext, change: Change) -> ChatSettings | None:
    """The chat's settings changed by ``change`` (bot.study.settings); None: not subscribed."""
    turn = turn_of(update, context)
    if turn is None:
        return None
    return await study_settings.change_settings(
        turn.services, chat_id=turn.chat.id, private=not turn.group, change=change, now=turn.now
    )


async def _show(update: Update, context: BotContext) -> ChatSettings | None:
    chat = update.effective_chat
    if chat is None:
        return None
    return await study_settings.chat_settings(context.services, chat_id=chat.id)


def _with_schedule(settings: ChatSettings, **changes: object) -> ChatSettings:
    return replace(settings, schedule=replace(settings.schedule, **changes))  # type: ignore[arg-type]


async def settings_command(update: Update, context: BotContext) -> None:
    """/settings: every setting, with buttons to change them."""
    settings = await _show(update, context)
    if settings is None:
        await reply(update, _not_subscribed(update))
        return
    reminder = await reminders.reminder_label(context, settings)
    keep = await _keep_typed(update, context)
    await reply(
        update,
        texts.settings_text(
            settings,
            list((await chat_bank(context, settings.chat_id)).decks),
            now_of(context),
            keep_typed=keep,
        )
        + reminders.settings_line(reminder),
        reply_markup=keyboards.settings_keyboard(
            settings.paused, reminder=reminder, keep_typed=keep
        ),
    )


async def _keep_typed(update: Update, context: BotContext) -> bool | None:
    """The person's "Keep my typed answers" switch; None in groups (no typed answers)."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return None
    async with context.services.sessions() as session:
        return await people.keeps_answers(chat.id, session=session)


async def refresh_settings_menu(update: Update, context: BotContext) -> None:
    """Redraw the /settings menu a button belongs to (after a switch changed)."""
    settings = await _show(update, context)
    if settings is not None:
        await _edit_menu(update, context, settings, "menu")


async def _confirm(
    update: Update, context: BotContext, settings: ChatSettings | None, what: str
) -> None:
    if settings is None:
        await reply(update, _not_subscribed(update))
        return
    await reply(update, f"{what}\n{texts.next_due_line(settings, now_of(context))}")


@admin_only
async def time_command(update: Update, context: BotContext) -> None:
    """/time HH:MM: the local delivery time."""
    text = " ".join(context.args or [])
    if not text:
        await reply(update, TIME_HELP, reply_markup=keyboards.time_keyboard())
        return
    try:
        local_time = parse_local_time(text)
    except ScheduleInputError as error:
        await reply(update, f"{escape_html(str(error))}\n{TIME_HELP}")
        return
    settings = await _change(update, context, lambda s: _with_schedule(s, local_time=local_time))
    await _confirm(
        update, context, settings, f"Delivery time set to <b>{format_hhmm(local_time)}</b>."
    )


@admin_only
async def timezone_command(update: Update, context: BotContext) -> None:
    """/timezone <IANA name | UTC±H[:MM]>: the chat's time zone."""
    text = " ".join(context.args or [])
    if not text:
        current = await _show(update, context)
        zone = _zone_is(update, current.schedule.timezone) + " " if current else ""
        await reply(update, zone + _timezone_help(update))
        return
    try:
        timezone = parse_timezone(text)
    except ScheduleInputError as error:
        await reply(update, f"{escape_html(str(error))}\n{_timezone_help(update)}")
        return
    await _set_timezone(update, context, timezone)


async def _set_timezone(update: Update, context: BotContext, timezone: str) -> None:
    settings = await _change(update, context, lambda s: _with_schedule(s, timezone=timezone))
    await _confirm(update, context, settings, f"Time zone set to <b>{escape_html(timezone)}</b>.")


async def location_message(update: Update, context: BotContext) -> None:
    """A shared location sets the time zone, found offline with timezonefinder."""
    message = update.effective_message
    if message is None or message.location is None:
        return
    timezone = timezone_at(message.location.latitude, message.location.longitude)
    if timezone is None:
        await reply(update, "I could not find a time zone for that place. " + TIMEZONE_HELP)
        return
    await _set_timezone(update, context, timezone)


@admin_only
async def days_command(update: Update, context: BotContext) -> None:
    """/days: every day, weekdays, or a custom set."""
    text = " ".join(context.args or [])
    if not text:
        current = await _show(update, context)
        if current is None:
            await reply(update, _not_subscribed(update))
            return
        await reply(
            update,
            f"Questions come on: <b>{describe_days(current.schedule.days)}</b>.\n{DAYS_HELP}",
            reply_markup=keyboards.days_keyboard(current.schedule.days),
        )
        return
    try:
        days = parse_days(text)
    except ScheduleInputError as error:
        await reply(update, f"{escape_html(str(error))}\n{DAYS_HELP}")
        return
    settings = await _change(update, context, lambda s: _with_schedule(s, days=days))
    await _confirm(update, context, settings, f"Days set to <b>{describe_days(days)}</b>.")


@admin_only
async def topics_command(update: Update, context: BotContext) -> None:
    """/topics in a private chat: toggle decks on and off (at least one stays on). In a
    group /topics is the group's /decks menu (bot/handlers/group_decks.py)."""
    current = await _show(update, context)
    if current is None:
        await reply(update, _not_subscribed(update))
        return
    bank = await chat_bank(context, current.chat_id)
    await reply(update, _topics_text(bank), reply_markup=_topics_markup(bank, current))


def _topics_text(bank: Bank) -> str:
    lines = ["<b>Topics</b>: tap to switch a deck on or off (at least one stays on)."]
    for deck in bank.decks:
        title, about = escape_html(deck.title), escape_html(deck.description)
        lines.append(f"• <b>{title}</b> ({len(deck.questions)}): {about}")
    return "\n".join(lines)


def _topics_markup(bank: Bank, settings: ChatSettings) -> InlineKeyboardMarkup:
    return keyboards.topics_keyboard(list(bank.decks), settings.decks)


@admin_only
async def pause_command(update: Update, context: BotContext) -> None:
    """/pause: stop daily questions until /resume."""
    settings = await _change(update, context, lambda s: replace(s, paused=True))
    kept = "Its history is kept." if _in_group(update) else "Your cards and streak are kept."
    await _confirm(update, context, settings, f"Paused. {kept}")


@admin_only
async def resume_command(update: Update, context: BotContext) -> None:
    """/resume: daily questions again."""
    settings = await _change(update, context, lambda s: replace(s, paused=False))
    await _confirm(update, context, settings, "Resumed.")


# --- buttons -----------------------------------------------------------------


async def _edit_menu(
    update: Update, context: BotContext, settings: ChatSettings, section: str
) -> None:
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    now = now_of(context)
    if section == "time":
        await edit_or_ignore(
            query.message,
            f"{texts.schedule_line(settings)}\n{TIME_HELP}",
            reply_markup=keyboards.time_keyboard(),
        )
    elif section == "days":
        await edit_or_ignore(
            query.message,
            f"Questions come on: <b>{describe_days(settings.schedule.days)}</b>.\n{DAYS_HELP}",
            reply_markup=keyboards.days_keyboard(settings.schedule.days),
        )
    elif section == "topics" and settings.is_group:
        # A group's decks are one menu, /decks (its admins' own decks among them).
        await group_decks.edit_into_menu(update, context)
    elif section == "topics":
        bank = await chat_bank(context, settings.chat_id)
        await edit_or_ignore(
            query.message, _topics_text(bank), reply_markup=_topics_markup(bank, settings)
        )
    elif section == "timezone":
        await edit_or_ignore(
            query.message,
            f"{_zone_is(update, settings.schedule.timezone)}\n{_timezone_help(update)}",
            reply_markup=keyboards.timezone_keyboard(),
        )
    elif section == "reminder" and not settings.is_group:
        await reminders.edit_reminder_menu(context, query.message, settings)
    else:
        reminder = await reminders.reminder_label(context, settings)
        keep = await _keep_typed(update, context)
        await edit_or_ignore(
            query.message,
            texts.settings_text(
                settings,
                list((await chat_bank(context, settings.chat_id)).decks),
                now,
                keep_typed=keep,
            )
            + reminders.settings_line(reminder),
            reply_markup=keyboards.settings_keyboard(
                settings.paused, reminder=reminder, keep_typed=keep
            ),
        )


@admin_only
async def open_settings_button(update: Update, context: BotContext, action: OpenSettings) -> None:
    settings = await _show(update, context)
    if settings is None:
        await toast(update, _not_subscribed(update), alert=True)
        return
    await toast(update, "")
    await _edit_menu(update, context, settings, action.section)


async def _button_change(
    update: Update, context: BotContext, change: Change, section: str, note: str
) -> None:
    settings = await _change(update, context, change)
    if settings is None:
        await toast(update, _not_subscribed(update), alert=True)
        return
    await toast(update, note)
    await _edit_menu(update, context, settings, section)


@admin_only
async def set_time_button(update: Update, context: BotContext, action: SetTime) -> None:
    local_time = time(action.hour, action.minute)
    await _button_change(
        update,
        context,
        lambda s: _with_schedule(s, local_time=local_time),
        "menu",
        f"Time set to {format_hhmm(local_time)}",
    )


@admin_only
async def set_days_button(update: Update, context: BotContext, action: SetDays) -> None:
    days = DAY_PRESETS[action.preset]
    await _button_change(
        update, context, lambda s: _with_schedule(s, days=days), "days", describe_days(days)
    )


def _toggle_day(settings: ChatSettings, weekday: int) -> ChatSettings:
    days = settings.schedule.days ^ {weekday}
    return _with_schedule(settings, days=days) if days else settings


@admin_only
async def toggle_day_button(update: Update, context: BotContext, action: ToggleDay) -> None:
    await _button_change(
        update, context, lambda s: _toggle_day(s, action.weekday), "days", "Updated"
    )


def _toggle_deck(settings: ChatSettings, deck_id: str, bank_order: tuple[str, ...]) -> ChatSettings:
    selected = set(settings.decks) ^ {deck_id}
    decks = ordered_decks(selected, bank_order)
    return replace(settings, decks=decks) if decks else settings


@admin_only
async def toggle_deck_button(update: Update, context: BotContext, action: ToggleDeck) -> None:
    chat = update.effective_chat
    if _in_group(update):
        # A /topics menu sent in a group before /topics became the group's /decks menu.
        await group_decks.switch_deck(update, context, action.deck_id)
        return
    bank = await chat_bank(context, chat.id) if chat is not None else context.services.bank
    order = bank.deck_ids
    # The button carries the deck's topic_ref: the id itself unless the id is long.
    deck_id = next((d for d in order if topic_ref(d) == action.deck_id), None)
    if deck_id is None:
        await toast(update, "That topic no longer exists.")
        return
    await _button_change(
        update, context, lambda s: _toggle_deck(s, deck_id, order), "topics", "Updated"
    )


@admin_only
async def set_paused_button(update: Update, context: BotContext, action: SetPaused) -> None:
    note = "Paused" if action.paused else "Resumed"
    await _button_change(update, context, lambda s: replace(s, paused=action.paused), "menu", note)
