"""Group study chats: joining and leaving, supergroup migration, admins, leaderboard."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.domain.chats import ChatSettings
from bot.domain.leaderboard import MemberStats, rank
from bot.domain.schedule import local_date_of
from bot.domain.streaks import compute_streak_of_history
from bot.handlers import stats_picture as progress
from bot.handlers.common import default_settings, load_chat, now_of, reply, tell
from bot.rendering import escape_html, texts
from bot.service.context import BotContext
from bot.storage import chats as chat_store
from bot.storage import groups as group_store
from bot.study.streaks import keep_checkpoints

log = logging.getLogger(__name__)

GROUP_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP}
ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}
ONLY_ADMINS = "Only this group's admins can change its settings."


def is_group(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type in GROUP_TYPES


async def is_admin(update: Update, context: BotContext) -> bool:
    """Whether the sender administers the group (anonymous admins post as the group)."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or chat.type not in GROUP_TYPES:
        return True
    if (
        message is not None
        and message.sender_chat is not None
        and message.sender_chat.id == chat.id
    ):
        return True
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as error:
        log.warning("getChatMember failed in %s: %s", chat.id, error)
        return False
    return member.status in ADMIN_STATUSES


async def require_admin(update: Update, context: BotContext) -> bool:
    """True in private chats and for group admins; otherwise a polite refusal."""
    if await is_admin(update, context):
        return True
    await tell(update, ONLY_ADMINS, alert=True)
    return False


def _joined(change: ChatMemberUpdated) -> bool | None:
    """True when the bot was added, False when removed, None for other changes."""
    inside = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED}
    was = change.old_chat_member.status in inside
    now = change.new_chat_member.status in inside
    if was == now:
        return None
    return now


def greeting(settings: ChatSettings) -> str:
    return (
        "Hi! I post <b>one machine-learning interview question a day</b> here, at "
        f"{texts.schedule_line(settings)}: tap <b>Show answer</b> for the model answer (under a "
        "spoiler) and grade yourselves; /top shows the leaderboard, /quiz starts a group quiz.\n"
        "Admins change the schedule with /time, /timezone, /days and /topics (or /settings)."
    )


async def bot_membership_changed(update: Update, context: BotContext) -> None:
    """Added to a group: subscribe it with defaults and greet once. Removed: deactivate."""
    change = update.my_chat_member
    if change is None or change.chat.type not in GROUP_TYPES:
        return
    joined = _joined(change)
    if joined is None:
        return
    chat = change.chat
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        settings = await load_chat(chat.id, session=session, services=services)
        if not joined:
            if settings is not None:
                await chat_store.set_active(chat.id, False, session=session, now=now)
            log.info("removed from group %s: deactivated", chat.id)
            return
        settings = settings or default_settings(services, chat.id, chat.type)
        settings = replace(settings, kind=chat.type, active=True).rescheduled(now=now)
        await chat_store.save_chat(settings, session=session, now=now, title=chat.title)
    await context.bot.send_message(chat.id, greeting(settings))


async def chat_migrated(update: Update, context: BotContext) -> None:
    """A group became a supergroup: its settings and history follow the new id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    now = now_of(context)
    async with context.services.sessions() as session, session.begin():
        await chat_store.migrate_chat(
            message.chat.id, message.migrate_to_chat_id, session=session, now=now
        )
    log.info("group %s migrated to %s", message.chat.id, message.migrate_to_chat_id)


async def group_start(update: Update, context: BotContext) -> None:
    """/start in a group: explain, and make sure the group is subscribed."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        settings = await load_chat(chat.id, session=session, services=services)
        if settings is None:
            settings = default_settings(services, chat.id, chat.type).rescheduled(now=now)
            await chat_store.save_chat(settings, session=session, now=now, title=chat.title)
    await reply(update, greeting(settings))


async def group_streak_of(context: BotContext, settings: ChatSettings) -> int:
    now = now_of(context)
    zone = settings.schedule.timezone
    async with context.services.sessions() as session:
        return await group_store.group_streak_on(
            settings.chat_id, zone=zone, today=local_date_of(now, zone), session=session
        )


DAYS = group_store.LEADERBOARD_DAYS


async def _recent_activity(
    chat_id: int, *, session: AsyncSession, now: datetime
) -> list[tuple[int, str, int, int]]:
    """Members' grades here in the last 7 and the last ``DAYS`` days (/top, /stats): a
    window, so that a year-old group's board reads a month of reviews, not all of them."""
    return await group_store.recent_member_activity(
        chat_id,
        session=session,
        week_start=now - timedelta(days=7),
        since=now - timedelta(days=DAYS),
    )


async def top_command(update: Update, context: BotContext) -> None:
    """/top: the group's leaderboard, top 10 plus the caller's own place."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    now = now_of(context)
    async with context.services.sessions() as session:
        activity = await _recent_activity(chat.id, session=session, now=now)
        histories = await group_store.histories_for_people(
            [row[0] for row in activity], session=session
        )
        settings = await load_chat(chat.id, session=session, services=context.services)
    zone = settings.schedule.timezone if settings else "UTC"
    today = local_date_of(now, zone)
    members = [
        MemberStats(
            person,
            name,
            compute_streak_of_history(histories[person], today=today).current,
            week,
            total,
        )
        for person, name, week, total in activity
    ]
    if not members:
        await reply(
            update,
            f"No grades here in the last {DAYS} days. Grade today's question to get on the board!",
        )
        return
    lines = [f"<b>Leaderboard</b> (graded: last 7 days / last {DAYS} days · 🔥 streak)"]
    for placed in rank(members, caller=user.id if user else None):
        member = placed.member
        me = " ← you" if user is not None and member.person_id == user.id else ""
        lines.append(
            f"{placed.place}. {escape_html(member.name)}: {member.this_week} / {member.recent}"
            f" · 🔥 {member.streak}{me}"
        )
    await reply(update, "\n".join(lines))
    await keep_checkpoints(context.services, histories, now=now)


async def group_stats(update: Update, context: BotContext) -> None:
    """/stats in a group: the group streak and how much the group graded."""
    chat = update.effective_chat
    if chat is None:
        return
    now = now_of(context)
    async with context.services.sessions() as session:
        settings = await load_chat(chat.id, session=session, services=context.services)
        activity = await _recent_activity(chat.id, session=session, now=now)
    if settings is None:
        await reply(update, "This group is not subscribed yet. Send /start.")
        return
    streak = await group_streak_of(context, settings)
    week = sum(row[2] for row in activity)
    total = sum(row[3] for row in activity)
    caption = (
        "<b>Group progress</b>\n"
        f"🔥 Group streak: <b>{streak}</b> day{'s' if streak != 1 else ''}\n"
        f"👥 Members who graded here in the last {DAYS} days: <b>{len(activity)}</b>\n"
        f"✍️ Grades: <b>{week}</b> in the last 7 days, <b>{total}</b> in the last {DAYS}\n"
        f"{texts.next_due_line(settings, now)}\n"
        "Your own streak and cards: /stats in a private chat with me."
    )
    await progress.send_group_stats(
        update, context, settings=settings, streak=streak, caption=caption
    )


Handler = TypeVar("Handler", bound=Callable[..., Awaitable[None]])


def admin_only(handler: Handler) -> Handler:
    """In groups, let only admins through (others get a polite refusal); private chats pass."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext, *args: object) -> None:
        if await require_admin(update, context):
            await handler(update, context, *args)

    return guarded  # type: ignore[return-value]
