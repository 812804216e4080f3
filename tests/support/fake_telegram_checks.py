"""Content rules of the fake Bot API: message text, keyboards, bot commands.

These are the checks whose failures only show up in production (a keyboard with 65 bytes of
callback data, an unescaped ``<``), so the fake applies them to every call with Telegram's
error texts.
"""

from __future__ import annotations

import html
import re
from typing import Any

from bot.telegram.limits import MAX_INLINE_BUTTONS
from tests.support.fake_telegram_spec import ApiError, bad_request, utf16_len
from tests.support.telegram_html import telegram_html_problems, visible_text

__all__ = [
    "MAX_CALLBACK_ANSWER",
    "MAX_CAPTION_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "check_caption",
    "check_commands",
    "check_reply_markup",
    "check_text",
    "inline_markup_or_none",
    "rendered_source",
]

JSONDict = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER = 200
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES = ("http://", "https://", "tg://")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_MAX_COMMANDS = 100
_MAX_COMMAND_DESCRIPTION = 256


def check_text(text: str, parse_mode: str | None) -> str:
    """Validate a message text; return what the user sees (stripped, like Telegram).

    Markdown modes are accepted unchecked: the project only sends HTML.
    """
    mode = (parse_mode or "").lower()
    if mode == "html":
        problems = telegram_html_problems(text, limit=MAX_MESSAGE_LENGTH)
        if problems:
            raise _html_error(problems[0])
        shown = visible_text(text)
    elif mode in {"", "markdown", "markdownv2"}:
        shown = text
    else:
        raise bad_request("unsupported parse_mode")
    shown = shown.strip()
    if not shown:
        raise bad_request("message text is empty")
    if utf16_len(shown) > MAX_MESSAGE_LENGTH:
        raise bad_request("message is too long")
    return shown


def check_caption(caption: str, parse_mode: str | None) -> str:
    """Validate a media caption (0-1024 characters after entity parsing); return it as shown."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        problems = [
            p
            for p in telegram_html_problems(caption, limit=MAX_MESSAGE_LENGTH)
            if not p.startswith("message text is empty")
        ]
        if problems:
            raise _html_error(problems[0])
        shown = visible_text(caption)
    elif mode in {"", "markdown", "markdownv2"}:
        shown = caption
    else:
        raise bad_request("unsupported parse_mode")
    shown = shown.strip()
    if utf16_len(shown) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return shown


def _html_error(problem: str) -> ApiError:
    """Telegram reports emptiness and length by name, everything else as a parse error."""
    if problem.startswith("message text is empty"):
        return bad_request("message text is empty")
    if problem.startswith("message is too long"):
        return bad_request("message is too long")
    return bad_request(f"can't parse entities: {problem}")


def rendered_source(text: str | None, parse_mode: str | None) -> str | None:
    """The text as HTML, so equal content compares equal whatever parse_mode carried it.

    Telegram's "message is not modified" compares the parsed text and entities, not the
    request bytes: ``"a"`` plain and ``"a"`` in HTML are the same content.
    """
    if text is None:
        return None
    if (parse_mode or "").lower() == "html":
        return text.strip()
    return html.escape(text, quote=False).strip()


def inline_markup_or_none(markup: JSONDict | None) -> JSONDict | None:
    """Only non-empty inline keyboards are kept on a message (and echoed back by Telegram)."""
    if markup and markup.get("inline_keyboard"):
        return markup
    return None


def check_reply_markup(markup: Any, *, inline_only: bool) -> None:
    """Validate ``reply_markup``: inline keyboards fully, reply keyboards structurally."""
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
        return
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])
    elif not (markup.get("remove_keyboard") is True or markup.get("force_reply") is True):
        raise bad_request("can't parse reply keyboard markup JSON object")


def _rows(keyboard: Any, name: str) -> list[list[Any]]:
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise bad_request(f'field "{name}" must be an Array of Arrays')
    return keyboard


def _check_inline_keyboard(keyboard: Any) -> None:
    rows = _rows(keyboard, "inline_keyboard")
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _check_inline_button(button)


def _check_inline_button(button: Any) -> None:
    """Each button needs text and exactly one action; callback data is 1-64 bytes."""
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    if not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not button["text"]:
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [a for a in _BUTTON_ACTIONS if a in button]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(
            f"can't parse inline keyboard button: more than one action given: {actions}"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(_URL_SCHEMES):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _check_reply_keyboard(keyboard: Any) -> None:
    for row in _rows(keyboard, "keyboard"):
        for button in row:
            text = button if isinstance(button, str) else (button or {}).get("text")
            if not isinstance(text, str) or not text:
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )


def check_commands(commands: list[Any]) -> list[JSONDict]:
    """Validate ``setMyCommands`` input; return normalized ``BotCommand`` objects."""
    if len(commands) > _MAX_COMMANDS:
        raise bad_request("too many commands")
    out: list[JSONDict] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not (
            1 <= len(description.strip()) <= _MAX_COMMAND_DESCRIPTION
        ):
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        out.append({"command": name, "description": description})
    return out
