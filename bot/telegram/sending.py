"""Sending to Telegram with the failures Telegram actually produces handled.

Flood limits are the rate limiter's job: bot/telegram/ratelimit.py waits out a
``RetryAfter`` and retries it, for every instance, and is the only place that
does. Here the network failures are retried, and the permanent outcomes (blocked,
migrated, bad request) become values the caller can store, so no exception
escapes into a job or handler unplanned.

A send that failed without an answer may still have arrived: a timeout or a
dropped connection after the request went out, or a 5xx from a proxy in front of
Telegram. Retrying it may post the message twice; not retrying may post it never.
The bot retries such an *ambiguous* send once (at-least-once, with at most one
duplicate), counts it in ``interview_bot_ambiguous_sends_total``, and otherwise
reports it as transient (the dispatcher tries the delivery again on a later tick,
within its attempts). A failure that shows the request never left (``NotSentError``: the
connection could not be made) is retried with the full backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar, cast

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.telegram.ratelimit import Traffic

log = logging.getLogger(__name__)

T = TypeVar("T")
BACKOFF_SECONDS = (0.5, 1.0, 2.0)
# A send that may have reached Telegram is retried at most this many times.
AMBIGUOUS_RETRIES = 1


class NotSentError(NetworkError):
    """The request never left (no connection to the Bot API): retrying cannot duplicate it."""


@dataclass(frozen=True)
class Sent:
    message_id: int


@dataclass(frozen=True)
class Blocked:
    """The user blocked the bot or the bot was removed from the group."""

    reason: str


@dataclass(frozen=True)
class Migrated:
    new_chat_id: int


@dataclass(frozen=True)
class Transient:
    """Still failing after retries (network, 5xx, flood): try again later."""

    reason: str


@dataclass(frozen=True)
class Rejected:
    """Telegram refused the request itself (400): retrying will not help."""

    reason: str


Outcome = Sent | Blocked | Migrated | Transient | Rejected


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    backoff: tuple[float, ...] = BACKOFF_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ambiguous_retries: int = AMBIGUOUS_RETRIES,
) -> T:
    """Run ``call`` (a send), retrying network failures with backoff.

    ``NotSentError`` is retried through the whole backoff schedule; a TimedOut or
    other NetworkError may have been delivered, so it is retried at most
    ``ambiguous_retries`` times (and counted). ``RetryAfter`` is not retried
    here: the rate limiter already waited and retried it. In PTB BadRequest
    subclasses NetworkError, so it is caught first and re-raised at once, with
    Forbidden and ChatMigrated: retrying cannot help.
    """
    attempt = 0
    ambiguous = 0
    while True:
        try:
            return await call()
        except (BadRequest, Forbidden, ChatMigrated, RetryAfter):
            raise
        except NotSentError as error:
            if attempt >= len(backoff):
                raise
            log.warning("Telegram unreachable (%s); retrying in %.1fs", error, backoff[attempt])
        except (NetworkError, TimedOut) as error:
            _ambiguous_send()
            if ambiguous >= ambiguous_retries or attempt >= len(backoff):
                raise
            ambiguous += 1
            log.warning(
                "Telegram send failed and may have arrived (%s); retrying once in %.1fs",
                error,
                backoff[attempt],
            )
        await sleep(backoff[attempt])
        attempt += 1


def _ambiguous_send() -> None:
    # Imported here: bot.service.metrics imports this module (for the outcome types).
    from bot.service import metrics

    metrics.ambiguous_send()


async def deliver(
    call: Callable[[], Awaitable[int]],
    *,
    backoff: tuple[float, ...] = BACKOFF_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Outcome:
    """Send one message (``call`` returns its message id) and classify the outcome."""
    try:
        return Sent(await call_with_retries(call, backoff=backoff, sleep=sleep))
    except ChatMigrated as error:
        return Migrated(int(error.new_chat_id))
    except Forbidden as error:
        return Blocked(error.message)
    except BadRequest as error:
        return Rejected(error.message)
    except (NetworkError, TimedOut, RetryAfter) as error:
        return Transient(str(error))


async def send_message_id(
    bot: Bot,
    params: dict[str, object],
    *,
    traffic: Traffic = Traffic.INTERACTIVE,
    method: str = "sendmessage",
) -> int:
    """sendMessage (or ``method``: sendRichMessage) through ``do_api_request``; the new
    message's id.

    It skips building a ``Message`` from the reply, which repeats the whole text
    with its entities: with thousands of sends a minute that is most of PTB's
    cost per send (benchmarks/dispatch.py: 458 -> 878 deliveries/s). Bot API
    method names are case-insensitive; the lowercase name tells PTB this is
    deliberate (it warns about do_api_request for methods it wraps by name).
    PTB has no method for sendRichMessage (Bot API 10.1) at all, so this is also
    how rich messages go, through the same rate limiter, queues and retries.
    ``traffic`` is the rate limiter's queue (bot/telegram/ratelimit.py).
    """
    if isinstance(bot, ExtBot) and bot.rate_limiter is not None:
        result = await cast("ExtBot[Traffic]", bot).do_api_request(
            method, api_kwargs=params, rate_limit_args=traffic
        )
    else:
        result = await bot.do_api_request(method, api_kwargs=params)
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise NetworkError(f"unexpected {method} result: {str(result)[:100]}")
    return int(result["message_id"])
