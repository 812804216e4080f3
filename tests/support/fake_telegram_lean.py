"""The lean answers of ``FakeTelegram(validate=False)``, the benchmarks' mode.

A benchmark measures the bot, so the fake must answer a request for less CPU than the
bot spent making it. Here nothing is checked against the spec and no simulated world is
kept: ``sendMessage`` and message edits get a well-formed ``Message`` built from the
request (a new message id from one counter for sends), ``getChat`` and ``getChatMember``
a plausible chat and an administrator, anything else ``True``. The methods that carry
the state a benchmark depends on (``WORLD_METHODS``: polling, the webhook, ``getMe``)
still go through the validating handlers, which are cheap and rarely called.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support.fake_telegram_world import UserInfo

__all__ = ["WORLD_METHODS", "LeanAnswers"]

JSONDict = dict[str, Any]

WORLD_METHODS = frozenset(
    {"getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "logOut", "close"}
)
_MESSAGE_METHODS = frozenset(
    {"sendMessage", "sendRichMessage", "editMessageText", "editMessageReplyMarkup"}
)
_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}


class LeanAnswers:
    """Results for the methods outside ``WORLD_METHODS``, from the raw parameters."""

    def __init__(self, bot_user: UserInfo) -> None:
        self.bot = bot_user.payload()
        self.next_message_id = 1_000_000

    def answer(self, method: str, raw: JSONDict) -> Any:
        chat_id = _int_or(raw.get("chat_id"), 1)
        if method in _MESSAGE_METHODS:
            return self._message(method, chat_id, raw)
        if method == "getChatMember":
            user = {"id": _int_or(raw.get("user_id"), 1), "is_bot": False, "first_name": "A"}
            return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
        if method == "getChat":
            return {**_chat(chat_id), "accent_color_id": 0, "max_reaction_count": 11}
        return True

    def _message(self, method: str, chat_id: int, raw: JSONDict) -> JSONDict:
        if method.startswith("send"):
            self.next_message_id += 1
            message_id = self.next_message_id
        else:
            message_id = _int_or(raw.get("message_id"), 1)
        now = int(time.time())
        message: JSONDict = {
            "message_id": message_id,
            "date": now,
            "chat": _chat(chat_id),
            "from": self.bot,
        }
        if method == "sendRichMessage" or "rich_message" in raw:
            message["rich_message"] = {"blocks": [{"type": "paragraph", "text": "…"}]}
        else:
            message["text"] = str(raw.get("text", "")) or "…"
        markup = raw.get("reply_markup")
        if markup:
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        if not method.startswith("send"):
            message["edit_date"] = now
        return message


def _int_or(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _chat(chat_id: int) -> JSONDict:
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Bench group"}
    return {"id": chat_id, "type": "private", "first_name": "B"}
