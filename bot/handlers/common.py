"""Small helpers every handler shares: the chat's settings, replying, the person."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from telegram import Chat, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.domain.content import Bank
from bot.rendering.tags import visible_text
from bot.service.context import BotContext, Services
from bot.study.banks import bank_for_chat

# Re-exported: the handlers read a chat's settings as the use cases do.
from bot.study.chats import default_settings as default_settings
from bot.study.chats import load_chat as load_chat
from bot.study.people import Person
from bot.telegram.sending import send_message_id

log = logging.getLogger(__name__)

NOT_SUBSCRIBED = "You are not subscribed yet. Send /start to begin."


async def reply(
    update: Update, text: str, *, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Reply (HTML) in the chat the update came from: quoting the message in groups, in its
    topic in a forum, as PTB's ``Message.reply_text`` does by default.

    Through ``send_message_id`` (``do_api_request``), as edits are: nobody reads the
    reply's ``Message``, and building one from Telegram's answer (the whole text again,
    its entities, the buttons) was about a tenth of a /stats (py-spy, BENCHMARKS.md).
    """
    message = update.effective_message
    if message is None:
        return
    params: dict[str, object] = {"chat_id": message.chat_id, "text": text, "parse_mode": "HTML"}
    if message.chat.type != ChatType.PRIVATE:
        params["reply_parameters"] = {"message_id": message.message_id}
    if message.is_topic_message and message.message_thread_id is not None:
        params["message_thread_id"] = message.message_thread_id
    if message.business_connection_id is not None:
        params["business_connection_id"] = message.business_connection_id
    if reply_markup is not None:
        params["reply_markup"] = reply_markup
    await send_message_id(message.get_bot(), params)


# The callback query the current update's handlers answered (None: none yet). A
# ContextVar: each update is handled in a task of its own, and its handlers, the error
# handler and the last-resort answer (bot/handlers/buttons.py) run in that task, one
# after another, so they all see what the others did.
_ANSWERED: ContextVar[str | None] = ContextVar("answered_callback_query", default=None)
MAX_TOAST = 200


def answered(update: Update) -> bool:
    """Whether this update's callback query has been answered (or the answer tried)."""
    query = update.callback_query
    return query is not None and _ANSWERED.get() == query.id


async def toast(update: Update, text: str, *, alert: bool = False) -> None:
    """Answer the button press, once: Telegram refuses a second answer, so a later
    toast for the same press is dropped. An empty ``text`` answers without a
    notification.

    An empty text is sent as no text at all: PTB 22's defaults handling takes an
    empty string for an empty sequence of poll options and sends ``[]``.
    """
    query = update.callback_query
    if query is None or answered(update):
        return
    _ANSWERED.set(query.id)  # before the call: a failed answer is not tried again
    await query.answer(text[:MAX_TOAST] or None, show_alert=alert)


def _ignorable(error: BadRequest, message: Message) -> bool:
    """An edit that need not happen: "not modified" (a button pressed twice puts the
    text it already has), or the message is gone or too old to edit (one log line)."""
    reason = error.message.lower()
    if "not modified" in reason:
        return True
    if "message to edit not found" in reason or "can't be edited" in reason:
        log.info("message %s in %s not edited: %s", message.message_id, message.chat_id, error)
        return True
    return False


def _same_markup(message: Message, markup: InlineKeyboardMarkup | None) -> bool:
    current = message.reply_markup
    if current is not None and not current.inline_keyboard:
        current = None
    if markup is not None and not markup.inline_keyboard:
        markup = None
    return current == markup


def _unchanged(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """The message (as the button press brought it) already shows this text and these
    buttons: editing it would only get "message is not modified" back.

    The visible text is compared, not the formatting: the bot never changes only the
    formatting of a message, and Telegram's entities do not map back to the exact
    HTML sent. A False is safe: the edit is sent, and "not modified" is ignored.
    """
    if message.text is None or not _same_markup(message, markup):
        return False
    return message.text == visible_text(text).strip()


async def edit_or_ignore(
    message: Message,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    rich_html: str | None = None,
) -> None:
    """Edit a message's HTML text (no markup: no buttons); "not modified" is no error,
    and an edit that would change nothing is not sent. ``rich_html``: the message is a
    rich one (bot/telegram/rich_messages.py), edited with ``rich_message`` instead.

    Through ``do_api_request``: the reply would repeat the whole message with its
    entities, and building a ``Message`` from it is most of an edit's cost.
    """
    params: dict[str, object] = {"chat_id": message.chat_id, "message_id": message.message_id}
    if rich_html is not None:
        params["rich_message"] = {"html": rich_html}
    else:
        params["text"] = text
        params["parse_mode"] = "HTML"
    if reply_markup is not None:
        params["reply_markup"] = reply_markup
    if _unchanged(message, text, reply_markup):
        return
    try:
        await message.get_bot().do_api_request("editmessagetext", api_kwargs=params)
    except BadRequest as error:
        if not _ignorable(error, message):
            raise


async def edit_markup_or_ignore(message: Message, reply_markup: InlineKeyboardMarkup) -> None:
    """Replace a message's buttons, ignoring "not modified" (as ``edit_or_ignore``:
    through ``do_api_request``, without building a ``Message`` from the reply)."""
    params: dict[str, object] = {
        "chat_id": message.chat_id,
        "message_id": message.message_id,
        "reply_markup": reply_markup,
    }
    if _same_markup(message, reply_markup):
        return
    try:
        await message.get_bot().do_api_request("editmessagereplymarkup", api_kwargs=params)
    except BadRequest as error:
        if not _ignorable(error, message):
            raise


async def tell(update: Update, text: str, *, alert: bool = False) -> None:
    """Answer a button press with a toast, or a command with a reply."""
    if update.callback_query is not None:
        await toast(update, text, alert=alert)
    else:
        await reply(update, text)


def now_of(context: BotContext) -> datetime:
    return context.services.clock()


@dataclass(frozen=True)
class Turn:
    """The prologue every handler repeated, written once: the chat the update came
    from, who sent it, the services and the clock's reading for this update."""

    chat: Chat
    user: User | None
    services: Services
    now: datetime

    @property
    def group(self) -> bool:
        return self.chat.type != ChatType.PRIVATE

    @property
    def person(self) -> Person | None:
        """The sender as the use cases (bot/study) know a person."""
        user = self.user
        if user is None:
            return None
        return Person(user.id, first_name=user.first_name or "", username=user.username)


def turn_of(update: Update, context: BotContext) -> Turn | None:
    """The update's :class:`Turn`; None for an update without a chat (nothing to answer)."""
    chat = update.effective_chat
    if chat is None:
        return None
    services = context.services
    return Turn(chat, update.effective_user, services, services.clock())


async def chat_bank(context: BotContext, chat_id: int) -> Bank:
    """The decks this chat chooses among: the built-in ones and, in a private chat, its
    person's own and added ones (bot/study/banks.py)."""
    services = context.services
    async with services.autocommit() as session:
        return await bank_for_chat(services, chat_id, session=session)
