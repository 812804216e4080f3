"""Rich message or today's HTML: the one place that decides, sends and falls back.

Bot API 10.1 added ``sendRichMessage``: formulas, tables, headings and code in one message
of up to 32,768 characters. Model answers, and questions with a formula or code, go that
way; everything else stays an ordinary HTML ``sendMessage``. ``RICH_MESSAGES``
(bot/service/config.py) chooses:

- ``auto`` (default): rich, until the first ``404 Not Found: method not found`` (an older
  or self-hosted Bot API server) switches the whole process to HTML, with one log line
  however many sends got the 404 at once; the message that got it still goes, as HTML;
- ``on``: rich whatever the server answers (a 404 sends that message as HTML, logged as an
  error once, but never switches the process);
- ``off``: today's HTML, exactly (no rich request is ever made).

In ``auto`` and ``on`` a 400 about one message's content sends that message as HTML
instead, logs its question once and counts it in ``interview_bot_rich_fallbacks_total``
(a 404 counts there too). A fallback is never silent and never loses the message.

PTB v22 has no ``sendRichMessage``: it goes through ``Bot.do_api_request``
(bot.telegram.sending.send_message_id), so the rate limiter's queues and limits, the
transport and the retries see it exactly as a ``sendMessage``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, EndPointNotFound, InvalidToken, TelegramError

from bot.service import metrics
from bot.telegram.ratelimit import Traffic
from bot.telegram.sending import call_with_retries, send_message_id

__all__ = ["Content", "RichMessages", "RichMode", "edit_text", "is_rich", "send_content"]

log = logging.getLogger(__name__)

# 400s about the chat rather than about one message's content: HTML would fail the same.
_CHAT_PROBLEMS = (
    "chat not found",
    "not enough rights",
    "have no rights",
    "need administrator rights",
    "chat_write_forbidden",
    "bot was kicked",
    "user is deactivated",
    "message thread not found",
    "topic_closed",
    "message to edit not found",
    "message can't be edited",
    "message is not modified",
)


class RichMode(StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


@dataclass
class RichMessages:
    """Whether this process sends rich messages: the setting and what the server said.

    One per running bot (bot.service.context.Services), shared by the handlers and the
    dispatcher, so the first 404 switches them all.
    """

    mode: RichMode = RichMode.AUTO
    server_lacks_them: bool = False
    _reported: set[str] = field(default_factory=set, repr=False)

    @property
    def on(self) -> bool:
        """Send rich messages now."""
        return self.mode is not RichMode.OFF and not self.server_lacks_them

    def method_not_found(self) -> None:
        """The server answered 404 to sendRichMessage: an older Bot API server."""
        metrics.rich_fallback("method_not_found")
        if self.mode is RichMode.ON:
            if self._first("404"):
                log.error(
                    "the Bot API server has no sendRichMessage (404) although RICH_MESSAGES=on: "
                    "such messages are sent as HTML"
                )
            return
        if not self.server_lacks_them:
            self.server_lacks_them = True
            log.warning(
                "the Bot API server has no sendRichMessage (404 method not found, a server "
                "before Bot API 10.1): answers and questions are sent as HTML from now on"
            )

    def rejected(self, what: str, error: TelegramError) -> None:
        """Telegram refused one message's rich content: logged once per ``what``."""
        metrics.rich_fallback("rejected")
        if self._first(what):
            log.warning("rich message of %s refused (%s); sent as HTML", what, error.message)

    def _first(self, key: str) -> bool:
        if key in self._reported:
            return False
        self._reported.add(key)
        return True


@dataclass(frozen=True)
class Content:
    """One message's content both ways (rendering is the caller's; both are memoised).

    ``rich``: the rich HTML bodies (almost always one), or None when the content is plain
    and goes as HTML anyway; ``html``: today's HTML parts. ``what`` names it in the logs
    (``question <id>``).
    """

    what: str
    html: Callable[[], Sequence[str]]
    rich: Callable[[], Sequence[str] | None]


def _method_not_found(error: TelegramError) -> bool:
    """PTB reports a 404 of do_api_request as EndPointNotFound (as InvalidToken before the
    bot is initialized); a 401 (revoked token) looks the same but for the cause's text."""
    if not isinstance(error, EndPointNotFound | InvalidToken):
        return False
    cause = error.__cause__ if isinstance(error.__cause__, TelegramError) else error
    return "not found" in cause.message.lower()


def _about_content(error: BadRequest) -> bool:
    reason = error.message.lower()
    return not any(problem in reason for problem in _CHAT_PROBLEMS)


async def send_content(
    bot: Bot,
    rich: RichMessages,
    content: Content,
    *,
    chat_id: int,
    reply_to: int | None = None,
    markup: InlineKeyboardMarkup | dict[str, object] | None = None,
    traffic: Traffic = Traffic.INTERACTIVE,
    extra: dict[str, object] | None = None,
) -> int:
    """Send ``content`` as rich messages when they are on and it has a rich form, else (and
    as the fallback) as HTML messages; the id of the last one, which carries ``markup``.
    The first replies to ``reply_to``. Telegram's errors other than the fallbacks' are
    raised as usual (BadRequest, Forbidden, ChatMigrated, NetworkError...).

    A content split into several rich parts (none in today's bank: tests/e2e/test_rich_bank.py)
    whose later part is refused is sent again whole as HTML: a duplicate part, not a lost one.
    """
    if rich.on:
        bodies = content.rich()
        if bodies:
            try:
                return await _send_parts(
                    bot, bodies, True, chat_id, reply_to, markup, traffic, extra
                )
            except (EndPointNotFound, InvalidToken) as error:
                if not _method_not_found(error):
                    raise
                rich.method_not_found()
            except BadRequest as error:
                if not _about_content(error):
                    raise
                rich.rejected(content.what, error)
    return await _send_parts(bot, content.html(), False, chat_id, reply_to, markup, traffic, extra)


async def _send_parts(
    bot: Bot,
    parts: Sequence[str],
    rich: bool,
    chat_id: int,
    reply_to: int | None,
    markup: InlineKeyboardMarkup | dict[str, object] | None,
    traffic: Traffic,
    extra: dict[str, object] | None,
) -> int:
    last = 0
    method = "sendRichMessage" if rich else "sendmessage"
    for index, part in enumerate(parts):
        params: dict[str, object] = {"chat_id": chat_id}
        if rich:
            params["rich_message"] = {"html": part}
        else:
            params["text"] = part
            params["parse_mode"] = "HTML"
        if index == 0 and reply_to:
            params["reply_parameters"] = {
                "message_id": reply_to,
                "allow_sending_without_reply": True,
            }
        if index == len(parts) - 1 and markup is not None:
            params["reply_markup"] = markup
        if extra:
            params.update(extra)

        async def call(params: dict[str, object] = params) -> int:
            return await send_message_id(bot, params, traffic=traffic, method=method)

        last = await call_with_retries(call)
    return last


def is_rich(message: Message) -> bool:
    """Whether a message (as an update brought it) is a rich message. PTB 22 predates
    Bot API 10.1 and keeps the field among ``api_kwargs``."""
    return "rich_message" in message.api_kwargs


async def edit_text(
    bot: Bot,
    *,
    chat_id: int,
    message_id: int,
    html: str,
    rich_html: str | None,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace a message's text: ``editMessageText`` with ``rich_message`` when the message
    is a rich one (``rich_html`` given), else with HTML ``text``. Errors are raised."""
    params: dict[str, object] = {"chat_id": chat_id, "message_id": message_id}
    if rich_html is not None:
        params["rich_message"] = {"html": rich_html}
    else:
        params["text"] = html
        params["parse_mode"] = "HTML"
    if markup is not None:
        params["reply_markup"] = markup
    await bot.do_api_request("editmessagetext", api_kwargs=params)
