"""The bot's own membership in a chat: blocked and unblocked in private, added and removed
in groups.

For a private chat Telegram sends ``my_chat_member`` exactly when the person blocks
(status ``kicked``) or unblocks (``member``) the bot, and a person must unblock
before writing again. So that update, not a database read on every update, is what
wakes up a chat that had been deactivated (by that update or by a 403 on send).
"""

from __future__ import annotations

from dataclasses import replace

from telegram import ChatMember, Update
from telegram.constants import ChatType

from bot.handlers import groups
from bot.handlers.common import now_of
from bot.service.context import BotContext
from bot.storage import chats as chat_store
from bot.storage.locks import lock_row
from bot.storage.models import ChatRow


async def bot_membership_changed(update: Update, context: BotContext) -> None:
    """Route ``my_chat_member``: private chats here, groups to the group handler."""
    change = update.my_chat_member
    if change is None:
        return
    if change.chat.type != ChatType.PRIVATE:
        await groups.bot_membership_changed(update, context)
        return
    blocked = change.new_chat_member.status == ChatMember.BANNED
    now = now_of(context)
    async with context.services.sessions() as session, session.begin():
        await lock_row(session, ChatRow, change.chat.id)  # a read-modify-write of the chat
        settings = await chat_store.get_chat(change.chat.id, session=session)
        if settings is None or settings.active == (not blocked):
            return
        updated = replace(settings, active=not blocked)
        await chat_store.save_chat(
            updated.rescheduled(now=now) if not blocked else updated, session=session, now=now
        )
