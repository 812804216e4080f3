"""The simulated Telegram world behind the fake Bot API: users, chats, messages, updates.

Kept apart from the HTTP layer so method handlers and the test-facing simulation API share
one source of truth, and so everything runs on the test's event loop without locks.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from tests.support.fake_telegram_spec import ApiError, bad_request, spec
from tests.support.telegram_html import visible_text
from tests.support.telegram_rich import parse_rich_html

__all__ = [
    "ANONYMOUS_ADMIN",
    "BOT_USER",
    "RICH_HTML",
    "CallbackAnswer",
    "ChatInfo",
    "Fault",
    "MessageEdit",
    "RecordedRequest",
    "SentMessage",
    "StoredFile",
    "StoredMessage",
    "UploadedFile",
    "UserInfo",
    "World",
    "member_payload",
]

JSONDict = dict[str, Any]

# The ``parse_mode`` a ``SentMessage`` or ``MessageEdit`` of a rich message carries: its
# ``text`` is then the ``rich_message.html`` sent (sendRichMessage, editMessageText).
RICH_HTML = "rich-html"
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})
# Update kinds Telegram leaves out unless a client asks for them explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass(frozen=True)
class UserInfo:
    """A Telegram user (or bot) as the world knows it."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def payload(self) -> JSONDict:
        """The ``User`` object, with absent optional fields left out as Telegram does."""
        out: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        optional = {
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


BOT_USER = UserInfo(id=999000, first_name="Interview Bot", username="InterviewTestBot", is_bot=True)
ANONYMOUS_ADMIN = UserInfo(
    id=1087968824, first_name="Group", username="GroupAnonymousBot", is_bot=True
)


@dataclass
class ChatInfo:
    """A chat: private (``id`` equals the user's id) or a (super)group (negative ``id``).

    ``seen`` turns true with the first update from the chat: Telegram answers "chat not found"
    to a bot that writes to a chat it has never heard from.
    """

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    user: UserInfo | None = None
    seen: bool = False
    blocked: bool = False
    migrated_to: int | None = None
    members: dict[int, str] = field(default_factory=dict)
    next_message_id: int = 1

    @property
    def is_group(self) -> bool:
        return self.type in {"group", "supergroup"}

    def payload(self) -> JSONDict:
        """The ``Chat`` object as embedded in messages and updates."""
        user = self.user
        optional = {
            "title": self.title,
            "username": self.username if user is None else user.username,
            "first_name": None if user is None else user.first_name,
            "last_name": None if user is None else user.last_name,
        }
        out: JSONDict = {"id": self.id, "type": self.type}
        out.update({k: v for k, v in optional.items() if v is not None})
        return out

    def status_of(self, user_id: int) -> str:
        """Membership status of ``user_id``; Telegram's default for a chat participant."""
        return self.members.get(user_id, "member")


@dataclass
class StoredMessage:
    """Any message in the world: ``payload`` is the ``Message`` object as currently known."""

    payload: JSONDict
    by_bot: bool
    deleted: bool = False


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, kept whole so tests can open what the bot sent."""

    filename: str | None
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"<file {self.filename} {self.content_type} {len(self.data)} bytes>"


@dataclass(frozen=True)
class StoredFile:
    """A file on the fake's "servers": what ``file_id`` stands for in later calls."""

    file_id: str
    file_unique_id: str
    filename: str | None
    mime_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"<stored file {self.file_id} {self.filename} {len(self.data)} bytes>"


@dataclass
class MessageEdit:
    """One successful edit, holding the content after it."""

    method: str
    text: str | None
    parse_mode: str | None
    reply_markup: JSONDict | None


@dataclass
class SentMessage:
    """A message the bot sent, for assertions; ``text``/``reply_markup`` are current.

    ``text`` is the source as sent (HTML included when ``parse_mode`` is HTML; a rich
    message's html, with ``parse_mode`` ``RICH_HTML``); ``plain_text`` is what the user sees.
    """

    message_id: int
    chat_id: int
    text: str | None
    parse_mode: str | None
    reply_markup: JSONDict | None
    reply_to_message_id: int | None
    method: str
    params: JSONDict = field(default_factory=dict)
    edits: list[MessageEdit] = field(default_factory=list)
    deleted: bool = False
    file: StoredFile | None = None

    @property
    def plain_text(self) -> str | None:
        if self.text is None:
            return None
        if (self.parse_mode or "").lower() == "html":
            return visible_text(self.text).strip()
        if self.parse_mode == RICH_HTML:
            return parse_rich_html(self.text).text.strip()
        return self.text.strip()

    @property
    def rich(self) -> bool:
        """Whether the message is (now) a rich message."""
        return self.parse_mode == RICH_HTML

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons flattened row by row as ``(text, callback_data)``."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [(b.get("text", ""), b.get("callback_data")) for row in rows for b in row]


class CallbackAnswer(NamedTuple):
    """An ``answerCallbackQuery`` call; compares equal to a plain 3-tuple."""

    query_id: str
    text: str | None
    show_alert: bool


@dataclass
class RecordedRequest:
    """One HTTP call the bot made, successful or not."""

    method: str
    params: JSONDict
    status: int
    description: str | None = None
    http_method: str = "POST"
    content_type: str = ""
    # When the request arrived (time.monotonic(), shared by the machine's processes).
    at: float = field(default=0.0, compare=False, repr=False)


@dataclass
class Fault:
    """A failure armed by ``fail_next``; consumed one call at a time."""

    method: str
    status: int
    description: str
    remaining: int
    chat_id: int | None = None
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.remaining <= 0 or self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def error(self) -> ApiError:
        parameters: JSONDict = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        return ApiError(self.status, self.description, parameters)


_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


def member_payload(user: UserInfo, status: str) -> JSONDict:
    """A ``ChatMember`` of the subtype ``status`` selects, with its required fields."""
    out: JSONDict = {"status": status, "user": user.payload()}
    if status == "creator":
        out["is_anonymous"] = False
    elif status == "administrator":
        out.update(can_be_edited=False, is_anonymous=False, can_promote_members=False)
        out.update(dict.fromkeys(_ADMIN_RIGHTS, True))
    elif status == "kicked":
        out["until_date"] = 0
    return out


def _update_kinds() -> frozenset[str]:
    fields = spec()["types"]["Update"]["fields"]
    return frozenset(f["name"] for f in fields if f["name"] != "update_id")


class World:
    """All mutable state of the fake; the HTTP server and the tests both act on it."""

    def __init__(self, bot_user: UserInfo = BOT_USER) -> None:
        self.bot_user = bot_user
        self.users: dict[int, UserInfo] = {bot_user.id: bot_user}
        self.chats: dict[int, ChatInfo] = {}
        self.requests: list[RecordedRequest] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[str, list[JSONDict]] = {}
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.callback_queries: dict[str, bool] = {}
        self._messages: dict[tuple[int, int], StoredMessage] = {}
        self._sent: list[SentMessage] = []
        self._sent_by_key: dict[tuple[int, int], SentMessage] = {}
        self._updates: list[JSONDict] = []
        # Per update id: when it was first handed to the bot (time.monotonic()) and, for a
        # webhook, the endpoint that took it (None: getUpdates).
        self.served: dict[int, tuple[float, str | None]] = {}
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(4_200_000_000_000_001)
        self._all_kinds = _update_kinds()
        self._allowed_updates = self._all_kinds - _OPT_IN_UPDATES
        self._faults: list[Fault] = []
        self.files: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        # getFile's ``file_path`` of each file asked for (file id -> path), and back: what
        # the download endpoint ``/file/bot<token>/<file_path>`` serves.
        self.file_paths: dict[str, str] = {}
        self.downloads: dict[str, StoredFile] = {}
        # setWebhook's parameters while a webhook is set (getUpdates then answers 409).
        self.webhook: JSONDict | None = None
        # False: an older (or self-hosted) Bot API server, before 10.1: sendRichMessage
        # answers "404 Not Found: method not found" and editMessageText ignores rich_message.
        self.rich_messages = True
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._closing = False

    # -- users and chats ------------------------------------------------------------------

    def ensure_user(self, user_id: int, first_name: str | None = None) -> UserInfo:
        """The known user ``user_id``, invented with a plain name if the test never set one."""
        if user_id not in self.users:
            self.users[user_id] = UserInfo(id=user_id, first_name=first_name or f"User{user_id}")
        return self.users[user_id]

    def chat(self, chat_id: int) -> ChatInfo:
        """A chat the test created; a helpful error for a typo rather than a silent default."""
        try:
            return self.chats[chat_id]
        except KeyError:
            raise ValueError(f"FakeTelegram: unknown chat {chat_id}; create it first") from None

    def resolve_chat(self, value: int | str, *, write: bool) -> ChatInfo:
        """Find the chat a Bot API call names, failing exactly as Telegram would."""
        chat = self._lookup_chat(value)
        if chat is None or not chat.seen:
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=chat.migrated_to,
            )
        self._check_access(chat, write=write)
        return chat

    def _lookup_chat(self, value: int | str) -> ChatInfo | None:
        if isinstance(value, int):
            return self.chats.get(value)
        if not value.startswith("@"):
            return None
        wanted = value[1:].lower()
        return next((c for c in self.chats.values() if (c.username or "").lower() == wanted), None)

    def _check_access(self, chat: ChatInfo, *, write: bool) -> None:
        """403s for blocked users and for groups the bot is not (or no longer) in."""
        if not chat.is_group:
            if write and chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            return
        kind = "group chat" if chat.type == "group" else "supergroup chat"
        status = chat.status_of(self.bot_user.id)
        if chat.blocked or status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
        if status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")

    # -- messages -------------------------------------------------------------------------

    def new_message(self, chat: ChatInfo, sender: UserInfo, **content: Any) -> JSONDict:
        """Allocate the next message id of ``chat`` and store the message."""
        payload: JSONDict = {
            "message_id": chat.next_message_id,
            "from": sender.payload(),
            "chat": chat.payload(),
            "date": int(time.time()),
            **content,
        }
        chat.next_message_id += 1
        self._messages[(chat.id, payload["message_id"])] = StoredMessage(
            payload, by_bot=sender.id == self.bot_user.id
        )
        return payload

    def stored(
        self, chat_id: int, message_id: int, *, include_deleted: bool = False
    ) -> StoredMessage | None:
        """The message if it exists (and, unless asked otherwise, was not deleted)."""
        message = self._messages.get((chat_id, message_id))
        if message is None or (message.deleted and not include_deleted):
            return None
        return message

    def all_messages(self, chat_id: int) -> list[StoredMessage]:
        return [m for (c, _), m in self._messages.items() if c == chat_id and not m.deleted]

    def record_sent(self, sent: SentMessage) -> None:
        self._sent.append(sent)
        self._sent_by_key[(sent.chat_id, sent.message_id)] = sent

    def sent_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        return self._sent_by_key.get((chat_id, message_id))

    def sent_messages(self) -> list[SentMessage]:
        return list(self._sent)

    def delete_message(self, chat_id: int, message_id: int) -> None:
        self._messages[(chat_id, message_id)].deleted = True
        sent = self._sent_by_key.get((chat_id, message_id))
        if sent is not None:
            sent.deleted = True

    def store_file(self, upload: UploadedFile, *, kind: str) -> StoredFile:
        """Keep an uploaded file under a new file id, as Telegram's servers do."""
        number = next(self._file_numbers)
        stored = StoredFile(
            file_id=f"{kind}-file-{number:06d}-AgACAgIAAxkBAAI",
            file_unique_id=f"AQAD{number:08d}",
            filename=upload.filename,
            mime_type=upload.content_type,
            data=upload.data,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_path(self, stored: StoredFile) -> str:
        """The ``file_path`` getFile gives for a file: one per file, like Telegram's
        ``documents/file_3.csv``, under which the download endpoint serves its bytes."""
        path = self.file_paths.get(stored.file_id)
        if path is None:
            folder = stored.file_id.split("-", 1)[0] + "s"
            suffix = PurePosixPath(stored.filename or "").suffix
            path = f"{folder}/file_{len(self.file_paths)}{suffix}"
            self.file_paths[stored.file_id] = path
            self.downloads[path] = stored
        return path

    def new_callback_query_id(self) -> str:
        query_id = str(next(self._query_ids))
        self.callback_queries[query_id] = False
        return query_id

    # -- updates and long polling ---------------------------------------------------------

    def queue_update(self, kind: str, payload: JSONDict) -> JSONDict:
        """Append an update and wake a waiting ``getUpdates``."""
        if kind not in self._all_kinds:
            raise ValueError(f"not an Update field: {kind}")
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self._pulse()
        return update

    @property
    def pending_updates(self) -> int:
        """Updates queued but not yet confirmed by a later ``getUpdates`` offset."""
        return len(self._updates)

    def drop_pending(self) -> None:
        self._updates.clear()
        self._pulse()

    async def poll_updates(
        self, *, offset: int | None, limit: int, wait_seconds: float, allowed: list[str] | None
    ) -> list[JSONDict]:
        """``getUpdates``: confirm by offset, then return at once or wait up to ``wait_seconds``.

        A newer call ends an older one still waiting with 409, as Telegram does when two
        bot instances poll the same token.
        """
        if self.webhook is not None:
            raise ApiError(409, _WEBHOOK_ACTIVE)
        if allowed is not None:
            self._set_allowed(allowed)
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._pulse()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT)
            batch = self._deliverable(limit)
            if batch:
                now = time.monotonic()
                for update in batch:
                    self.served.setdefault(update["update_id"], (now, None))
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return batch
            await self._wait_changed(remaining)

    def set_allowed_updates(self, allowed: list[str]) -> None:
        """``allowed_updates`` of getUpdates or setWebhook; ``[]`` means the default set."""
        self._set_allowed(allowed)

    def _set_allowed(self, allowed: list[str]) -> None:
        unknown = [k for k in allowed if k not in self._all_kinds]
        if unknown or not all(isinstance(k, str) for k in allowed):
            raise bad_request(f"unknown update types in allowed_updates: {unknown}")
        self._allowed_updates = frozenset(allowed) or (self._all_kinds - _OPT_IN_UPDATES)

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._pulse()

    def deliverable(self, limit: int) -> list[JSONDict]:
        """The next ``limit`` updates of the kinds the bot asked for (the webhook's view)."""
        return self._deliverable(limit)

    def pending(self) -> list[JSONDict]:
        """Every queued, unconfirmed update (the list itself: do not change it)."""
        return self._updates

    def confirm_update(self, update_id: int) -> None:
        """The webhook answered 2xx: this update is delivered."""
        self._updates = [u for u in self._updates if u["update_id"] != update_id]
        self._pulse()

    async def wait_changed(self, seconds: float) -> None:
        await self._wait_changed(seconds)

    def pulse(self) -> None:
        self._pulse()

    def _deliverable(self, limit: int) -> list[JSONDict]:
        """Drop updates of kinds the bot did not ask for, then take the first ``limit``."""
        self._updates = [u for u in self._updates if _kind(u) in self._allowed_updates]
        return [dict(u) for u in self._updates[:limit]]

    async def _wait_changed(self, seconds: float) -> None:
        changed = self._changed
        try:
            async with asyncio.timeout(seconds):
                await changed.wait()
        except TimeoutError:
            return

    def _pulse(self) -> None:
        """Wake every waiter once: each waits on the event current when it started."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def close_polls(self) -> None:
        """Let pending long polls return now so server shutdown does not wait for them."""
        self._closing = True
        self._pulse()

    # -- fault injection ------------------------------------------------------------------

    def arm_fault(self, fault: Fault) -> None:
        self._faults.append(fault)

    def take_fault(self, method: str, chat_id: int | None) -> Fault | None:
        """The first armed fault for this call, spending one of its repetitions."""
        for fault in self._faults:
            if fault.matches(method, chat_id):
                fault.remaining -= 1
                return fault
        return None


def _kind(update: JSONDict) -> str:
    return next(k for k in update if k != "update_id")
