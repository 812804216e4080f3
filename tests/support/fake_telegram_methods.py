"""Bot API method handlers of the fake server, one small function per method.

``HANDLERS`` maps the spec's method name to a coroutine taking the world and the already
spec-checked parameters and returning the ``result`` value; failures raise ``ApiError``.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.fake_telegram_checks import (
    MAX_CALLBACK_ANSWER,
    check_caption,
    check_commands,
    check_reply_markup,
    check_text,
    inline_markup_or_none,
    rendered_source,
)
from tests.support.fake_telegram_spec import ApiError, bad_request
from tests.support.fake_telegram_world import (
    RICH_HTML,
    CallbackAnswer,
    ChatInfo,
    MessageEdit,
    SentMessage,
    StoredFile,
    StoredMessage,
    UploadedFile,
    World,
    member_payload,
)
from tests.support.telegram_rich import parse_rich_html

__all__ = ["HANDLERS", "Handler"]

JSONDict = dict[str, Any]
Handler = Callable[[World, JSONDict], Awaitable[Any]]

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_SCOPES_WITHOUT_CHAT = frozenset(
    {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
)
_SCOPES_WITH_CHAT = frozenset({"chat", "chat_administrators", "chat_member"})
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


# -- bot and connection ---------------------------------------------------------------------


async def get_me(world: World, p: JSONDict) -> Any:
    return world.bot_user.payload() | {
        "can_join_groups": True,
        "can_read_all_group_messages": True,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def get_updates(world: World, p: JSONDict) -> Any:
    return await world.poll_updates(
        offset=p.get("offset"),
        limit=min(max(p.get("limit", 100), 1), 100),
        wait_seconds=max(p.get("timeout", 0), 0),
        allowed=p.get("allowed_updates"),
    )


async def set_webhook(world: World, p: JSONDict) -> Any:
    """Telegram's checks: an https URL (empty removes the webhook) and a well-formed secret."""
    url = p["url"]
    if not url:
        world.webhook = None
        return True
    if not url.startswith("https://"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.get("secret_token")
    if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    if p.get("allowed_updates") is not None:
        world.set_allowed_updates(p["allowed_updates"])
    if p.get("drop_pending_updates"):
        world.drop_pending()
    world.webhook = {
        "url": url,
        "secret_token": secret,
        "allowed_updates": p.get("allowed_updates"),
        "max_connections": p.get("max_connections", 40),
    }
    world.pulse()
    return True


async def delete_webhook(world: World, p: JSONDict) -> Any:
    if p.get("drop_pending_updates"):
        world.drop_pending()
    world.webhook = None
    return True


async def get_webhook_info(world: World, p: JSONDict) -> Any:
    info: JSONDict = {
        "url": world.webhook["url"] if world.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": world.pending_updates,
    }
    if world.webhook:
        info["max_connections"] = world.webhook["max_connections"]
        if world.webhook["allowed_updates"] is not None:
            info["allowed_updates"] = list(world.webhook["allowed_updates"])
    return info


async def always_true(world: World, p: JSONDict) -> Any:
    """``logOut``/``close``: nothing to do for a fake that has no other server to move to."""
    return True


# -- commands and menu ----------------------------------------------------------------------


def _commands_key(world: World, p: JSONDict) -> str:
    """Where ``tg.commands`` files a command list: scope (with chat/user) and language.

    Keys look like ``"default"``, ``"all_private_chats"``, ``"chat:-100123"``,
    ``"chat_member:-100123:42"``, with ``"/<language_code>"`` appended when one is given.
    """
    scope = p.get("scope") or {"type": "default"}
    kind = scope.get("type")
    if kind in _SCOPES_WITHOUT_CHAT:
        key = str(kind)
    elif kind in _SCOPES_WITH_CHAT:
        chat = world.resolve_chat(_chat_id_value(scope.get("chat_id")), write=False)
        key = f"{kind}:{chat.id}"
        if kind == "chat_member":
            key += f":{scope.get('user_id')}"
    else:
        raise bad_request("wrong bot command scope type specified")
    language = p.get("language_code")
    return f"{key}/{language}" if language else key


def _chat_id_value(value: Any) -> int | str:
    if isinstance(value, int | str) and not isinstance(value, bool):
        return value
    raise bad_request("chat not found")


async def set_my_commands(world: World, p: JSONDict) -> Any:
    commands = check_commands(p["commands"])
    world.commands[_commands_key(world, p)] = commands
    return True


async def get_my_commands(world: World, p: JSONDict) -> Any:
    return [dict(c) for c in world.commands.get(_commands_key(world, p), [])]


async def delete_my_commands(world: World, p: JSONDict) -> Any:
    world.commands.pop(_commands_key(world, p), None)
    return True


async def set_chat_menu_button(world: World, p: JSONDict) -> Any:
    chat_id = None
    if "chat_id" in p:
        chat_id = world.resolve_chat(p["chat_id"], write=False).id
    menu = p.get("menu_button") or {"type": "default"}
    if menu.get("type") not in {"commands", "web_app", "default"}:
        raise bad_request("can't parse menu button JSON object")
    world.menu_buttons[chat_id] = menu
    return True


async def get_chat_menu_button(world: World, p: JSONDict) -> Any:
    chat_id = world.resolve_chat(p["chat_id"], write=False).id if "chat_id" in p else None
    return world.menu_buttons.get(chat_id) or world.menu_buttons.get(None) or {"type": "commands"}


# -- messages -------------------------------------------------------------------------------


async def send_message(world: World, p: JSONDict) -> Any:
    chat = world.resolve_chat(p["chat_id"], write=True)
    shown = check_text(p["text"], p.get("parse_mode"))
    markup = p.get("reply_markup")
    if markup is not None:
        check_reply_markup(markup, inline_only=False)
    replied = _reply_target(world, chat, p)
    extra: JSONDict = {"text": shown}
    if (kept := inline_markup_or_none(markup)) is not None:
        extra["reply_markup"] = kept
    if replied is not None:
        extra["reply_to_message"] = {
            k: v for k, v in replied.payload.items() if k != "reply_to_message"
        }
    if p.get("protect_content"):
        extra["has_protected_content"] = True
    if "link_preview_options" in p:
        extra["link_preview_options"] = p["link_preview_options"]
    payload = world.new_message(chat, world.bot_user, **extra)
    world.record_sent(
        SentMessage(
            message_id=payload["message_id"],
            chat_id=chat.id,
            text=p["text"],
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=None if replied is None else replied.payload["message_id"],
            method="sendMessage",
            params=dict(p),
        )
    )
    return payload


# The answer of a Bot API server that predates 10.1 to the methods 10.1 added.
METHOD_NOT_FOUND = "Not Found: method not found"
_RICH_ONLY_METHODS = frozenset({"sendRichMessage", "sendRichMessageDraft"})


def older_server_error(world: World, method: str) -> ApiError | None:
    """404 for the rich-message methods when the world plays an older server."""
    if not world.rich_messages and method in _RICH_ONLY_METHODS:
        return ApiError(404, METHOD_NOT_FOUND)
    return None


def check_rich_message(value: Any) -> tuple[str, JSONDict]:
    """Validate an ``InputRichMessage``; its source and the ``RichMessage`` users see.

    The HTML form is checked fully (tests/support/telegram_rich.py); the Markdown form,
    which the bot never sends, is taken as one paragraph.
    """
    if not isinstance(value, dict):
        raise bad_request("can't parse rich_message JSON object")
    forms = [name for name in ("html", "markdown") if value.get(name) is not None]
    if len(forms) != 1:
        raise bad_request("exactly one of html and markdown must be specified in rich_message")
    source = value[forms[0]]
    if not isinstance(source, str):
        raise bad_request(f'field "{forms[0]}" must be of type String')
    if forms[0] == "markdown":
        if not source.strip():
            raise bad_request("rich message is empty")
        blocks: list[Any] = [{"type": "paragraph", "text": source.strip()}]
    else:
        parsed = parse_rich_html(source)
        if parsed.problems:
            raise _rich_error(parsed.problems[0])
        blocks = list(parsed.blocks)
    rich: JSONDict = {"blocks": blocks}
    if value.get("is_rtl"):
        rich["is_rtl"] = True
    return source, rich


def _rich_error(problem: str) -> ApiError:
    """Telegram names emptiness and the limits; everything else is a parse error."""
    for named in ("rich message is empty", "rich message is too long"):
        if problem.startswith(named):
            return bad_request(named)
    if problem.startswith("too many blocks"):
        return bad_request("too many blocks in the rich message")
    if problem.startswith("nesting too deep"):
        return bad_request("the rich message is nested too deeply")
    return bad_request(f"can't parse rich message: {problem}")


async def send_rich_message(world: World, p: JSONDict) -> Any:
    chat = world.resolve_chat(p["chat_id"], write=True)
    source, rich = check_rich_message(p["rich_message"])
    markup = p.get("reply_markup")
    if markup is not None:
        check_reply_markup(markup, inline_only=False)
    replied = _reply_target(world, chat, p)
    extra: JSONDict = {"rich_message": rich}
    if (kept := inline_markup_or_none(markup)) is not None:
        extra["reply_markup"] = kept
    if replied is not None:
        extra["reply_to_message"] = {
            k: v for k, v in replied.payload.items() if k != "reply_to_message"
        }
    if p.get("protect_content"):
        extra["has_protected_content"] = True
    payload = world.new_message(chat, world.bot_user, **extra)
    world.record_sent(
        SentMessage(
            message_id=payload["message_id"],
            chat_id=chat.id,
            text=source,
            parse_mode=RICH_HTML,
            reply_markup=markup,
            reply_to_message_id=None if replied is None else replied.payload["message_id"],
            method="sendRichMessage",
            params=dict(p),
        )
    )
    return payload


# -- files ------------------------------------------------------------------------------------

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
# getFile on Telegram's own servers: "bots can download files of up to 20MB in size".
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Telegram keeps photos at most 1280 px on their longer side, plus smaller thumbnails.
PHOTO_SIDES = (90, 320, 800, 1280)


def _input_file(world: World, p: JSONDict, name: str, *, kind: str) -> StoredFile:
    """The file a send names: a fresh upload (kept), ``attach://part``, or a known file id."""
    value = p[name]
    if isinstance(value, str) and value.startswith("attach://"):
        value = p.get(f"__upload__{value[len('attach://') :]}")
        if value is None:
            raise bad_request(f"wrong file identifier/HTTP URL specified for {name}")
    if isinstance(value, UploadedFile):
        return world.store_file(value, kind=kind)
    if isinstance(value, str) and value in world.files:
        return world.files[value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        raise bad_request("wrong HTTP URL specified (the fake fetches nothing)")
    raise bad_request("wrong file identifier/HTTP URL specified")


def _photo_sizes(stored: StoredFile) -> list[JSONDict]:
    """``PhotoSize`` objects for an image, checked as Telegram checks photos."""
    from PIL import Image, UnidentifiedImageError

    if len(stored.data) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    try:
        with Image.open(io.BytesIO(stored.data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError):
        raise bad_request("IMAGE_PROCESS_FAILED") from None
    if width + height > 10000 or max(width, height) > 20 * min(width, height):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    sizes = []
    for index, side in enumerate(PHOTO_SIDES):
        scale = min(1.0, side / max(width, height))
        sizes.append(
            {
                "file_id": stored.file_id
                if side == PHOTO_SIDES[-1]
                else f"{stored.file_id}-{index}",
                "file_unique_id": f"{stored.file_unique_id}{index}",
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
                "file_size": len(stored.data),
            }
        )
        if scale == 1.0:
            break
    sizes[-1]["file_id"] = stored.file_id
    return sizes


async def _send_media(
    world: World, p: JSONDict, method: str, media: JSONDict, stored: StoredFile
) -> Any:
    chat = world.resolve_chat(p["chat_id"], write=True)
    caption = p.get("caption")
    extra: JSONDict = dict(media)
    if caption:
        extra["caption"] = check_caption(caption, p.get("parse_mode"))
    markup = p.get("reply_markup")
    if markup is not None:
        check_reply_markup(markup, inline_only=False)
        if (kept := inline_markup_or_none(markup)) is not None:
            extra["reply_markup"] = kept
    replied = _reply_target(world, chat, p)
    if replied is not None:
        extra["reply_to_message"] = {
            k: v for k, v in replied.payload.items() if k != "reply_to_message"
        }
    payload = world.new_message(chat, world.bot_user, **extra)
    world.record_sent(
        SentMessage(
            message_id=payload["message_id"],
            chat_id=chat.id,
            text=caption,
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=None if replied is None else replied.payload["message_id"],
            method=method,
            params={k: v for k, v in p.items() if not k.startswith("__upload__")},
            file=stored,
        )
    )
    return payload


async def send_photo(world: World, p: JSONDict) -> Any:
    world.resolve_chat(p["chat_id"], write=True)
    stored = _input_file(world, p, "photo", kind="photo")
    return await _send_media(world, p, "sendPhoto", {"photo": _photo_sizes(stored)}, stored)


async def send_document(world: World, p: JSONDict) -> Any:
    world.resolve_chat(p["chat_id"], write=True)
    stored = _input_file(world, p, "document", kind="document")
    if len(stored.data) > MAX_DOCUMENT_BYTES:
        raise bad_request("file is too big")
    if not stored.data:
        raise bad_request("file must be non-empty")
    document: JSONDict = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "mime_type": stored.mime_type,
        "file_size": len(stored.data),
    }
    if stored.filename:
        document["file_name"] = stored.filename
    return await _send_media(world, p, "sendDocument", {"document": document}, stored)


async def get_file(world: World, p: JSONDict) -> Any:
    """A ``File`` with the ``file_path`` the download endpoint serves the bytes under."""
    stored = world.files.get(p["file_id"])
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "file_path": world.file_path(stored),
    }


def _reply_target(world: World, chat: ChatInfo, p: JSONDict) -> StoredMessage | None:
    """The message replied to via ``reply_parameters`` or the legacy ``reply_to_message_id``."""
    reply = p.get("reply_parameters")
    if reply is None and "reply_to_message_id" in p:
        reply = {
            "message_id": p["reply_to_message_id"],
            "allow_sending_without_reply": p.get("allow_sending_without_reply", False),
        }
    if reply is None:
        return None
    message_id = reply.get("message_id")
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise bad_request("can't parse reply parameters JSON object")
    target_chat = chat
    if reply.get("chat_id") not in (None, chat.id):
        target_chat = world.resolve_chat(_chat_id_value(reply["chat_id"]), write=False)
    replied = world.stored(target_chat.id, message_id)
    if replied is None and not reply.get("allow_sending_without_reply"):
        raise bad_request("message to be replied not found")
    return replied


def _editable(world: World, p: JSONDict) -> tuple[SentMessage, StoredMessage]:
    """The bot's own, undeleted message an edit names; Telegram's 400s otherwise."""
    if "inline_message_id" in p:
        raise bad_request("MESSAGE_ID_INVALID")
    if "chat_id" not in p:
        raise bad_request("chat_id is empty")
    if "message_id" not in p:
        raise bad_request("message identifier is not specified")
    chat = world.resolve_chat(p["chat_id"], write=True)
    sent = world.sent_message(chat.id, p["message_id"])
    stored = world.stored(chat.id, p["message_id"])
    if sent is None or stored is None:
        raise bad_request("message to edit not found")
    return sent, stored


def _apply_edit(
    sent: SentMessage, stored: StoredMessage, edit: MessageEdit, shown: str | JSONDict | None
) -> JSONDict:
    """``shown``: the new text as users see it, a ``RichMessage`` for a rich edit, or None
    (the content stays)."""
    sent.edits.append(edit)
    sent.text, sent.parse_mode, sent.reply_markup = edit.text, edit.parse_mode, edit.reply_markup
    payload = stored.payload
    if isinstance(shown, dict):
        payload.pop("text", None)
        payload.pop("entities", None)
        payload["rich_message"] = shown
    elif shown is not None:
        payload.pop("rich_message", None)
        payload["text"] = shown
    payload.pop("reply_markup", None)
    if (kept := inline_markup_or_none(edit.reply_markup)) is not None:
        payload["reply_markup"] = kept
    payload["edit_date"] = int(time.time())
    return dict(payload)


async def edit_message_text(world: World, p: JSONDict) -> Any:
    if not world.rich_messages:
        p = {k: v for k, v in p.items() if k != "rich_message"}  # unknown before 10.1
    sent, stored = _editable(world, p)
    if "rich_message" in p:
        return _edit_rich(sent, stored, p)
    if "text" not in p:
        raise bad_request("message text is empty")
    shown = check_text(p["text"], p.get("parse_mode"))
    markup = p.get("reply_markup")
    if markup is not None:
        check_reply_markup(markup, inline_only=True)
    same_text = rendered_source(p["text"], p.get("parse_mode")) == rendered_source(
        sent.text, sent.parse_mode
    )
    if same_text and _same_markup(markup, sent.reply_markup):
        raise bad_request(_NOT_MODIFIED)
    edit = MessageEdit("editMessageText", p["text"], p.get("parse_mode"), markup)
    return _apply_edit(sent, stored, edit, shown)


def _edit_rich(sent: SentMessage, stored: StoredMessage, p: JSONDict) -> JSONDict:
    """``editMessageText`` with ``rich_message``: the message's new rich content."""
    if "text" in p:
        raise bad_request("only one of text and rich_message can be specified")
    source, rich = check_rich_message(p["rich_message"])
    markup = p.get("reply_markup")
    if markup is not None:
        check_reply_markup(markup, inline_only=True)
    same = sent.parse_mode == RICH_HTML and (sent.text or "").strip() == source.strip()
    if same and _same_markup(markup, sent.reply_markup):
        raise bad_request(_NOT_MODIFIED)
    edit = MessageEdit("editMessageText", source, RICH_HTML, markup)
    return _apply_edit(sent, stored, edit, rich)


async def edit_message_reply_markup(world: World, p: JSONDict) -> Any:
    sent, stored = _editable(world, p)
    markup = p.get("reply_markup")
    if markup is not None:
        check_reply_markup(markup, inline_only=True)
    if _same_markup(markup, sent.reply_markup):
        raise bad_request(_NOT_MODIFIED)
    edit = MessageEdit("editMessageReplyMarkup", sent.text, sent.parse_mode, markup)
    return _apply_edit(sent, stored, edit, None)


def _same_markup(new: JSONDict | None, old: JSONDict | None) -> bool:
    """An absent and an empty inline keyboard both mean "no keyboard"."""
    return inline_markup_or_none(new) == inline_markup_or_none(old)


async def delete_message(world: World, p: JSONDict) -> Any:
    chat = world.resolve_chat(p["chat_id"], write=True)
    stored = world.stored(chat.id, p["message_id"])
    if stored is None:
        raise bad_request("message to delete not found")
    bot_is_admin = chat.status_of(world.bot_user.id) in {"creator", "administrator"}
    if chat.is_group and not stored.by_bot and not bot_is_admin:
        raise bad_request("message can't be deleted")
    world.delete_message(chat.id, p["message_id"])
    return True


async def answer_callback_query(world: World, p: JSONDict) -> Any:
    query_id = p["callback_query_id"]
    if world.callback_queries.get(query_id, True):
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = p.get("text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG")
    world.callback_queries[query_id] = True
    world.callback_answers.append(CallbackAnswer(query_id, text, bool(p.get("show_alert"))))
    return True


async def send_chat_action(world: World, p: JSONDict) -> Any:
    world.resolve_chat(p["chat_id"], write=True)
    if p["action"] not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


# -- chats and members ----------------------------------------------------------------------


async def get_chat(world: World, p: JSONDict) -> Any:
    chat = world.resolve_chat(p["chat_id"], write=False)
    gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
    accepted = dict.fromkeys(gifts, True) | {"gifts_from_channels": False}
    return chat.payload() | {
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": accepted,
    }


async def get_chat_member(world: World, p: JSONDict) -> Any:
    chat = world.resolve_chat(p["chat_id"], write=False)
    user = world.users.get(p["user_id"])
    if user is None or (not chat.is_group and user.id not in {chat.id, world.bot_user.id}):
        raise bad_request("user not found")
    return member_payload(user, chat.status_of(user.id))


async def get_chat_administrators(world: World, p: JSONDict) -> Any:
    chat = world.resolve_chat(p["chat_id"], write=False)
    if not chat.is_group:
        raise bad_request("there are no administrators in the private chat")
    admins = [
        (uid, status)
        for uid, status in chat.members.items()
        if status in {"creator", "administrator"}
    ]
    if p.get("return_bots") is False:
        admins = [(uid, s) for uid, s in admins if not world.ensure_user(uid).is_bot]
    return [member_payload(world.ensure_user(uid), status) for uid, status in admins]


async def leave_chat(world: World, p: JSONDict) -> Any:
    chat = world.resolve_chat(p["chat_id"], write=False)
    if not chat.is_group:
        raise bad_request("chat member status can't be changed in private chats")
    old = chat.status_of(world.bot_user.id)
    chat.members[world.bot_user.id] = "left"
    world.queue_update(
        "my_chat_member",
        {
            "chat": chat.payload(),
            "from": world.bot_user.payload(),
            "date": int(time.time()),
            "old_chat_member": member_payload(world.bot_user, old),
            "new_chat_member": member_payload(world.bot_user, "left"),
        },
    )
    return True


HANDLERS: dict[str, Handler] = {
    "getMe": get_me,
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "logOut": always_true,
    "close": always_true,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
    "sendMessage": send_message,
    "sendRichMessage": send_rich_message,
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "getFile": get_file,
    "editMessageText": edit_message_text,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
    "sendChatAction": send_chat_action,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getChatAdministrators": get_chat_administrators,
    "leaveChat": leave_chat,
}
