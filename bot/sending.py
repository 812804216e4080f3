"""Sending to Telegram with the failures Telegram actually produces handled.

Flood limits are the rate limiter's job (AIORateLimiter retries RetryAfter);
here we retry transient network errors and 5xx with exponential backoff and
turn the permanent outcomes (blocked, migrated, bad request) into values the
caller can store, so no exception escapes into a job or handler unplanned.
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

from bot.ratelimit import Traffic

log = logging.getLogger(__name__)

T = TypeVar("T")
BACKOFF_SECONDS = (0.5, 1.0, 2.0)


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


def _retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value if isinstance(value, int | float) else value.total_seconds()


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    backoff: tuple[float, ...] = BACKOFF_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``call``, retrying NetworkError/TimedOut/RetryAfter with backoff.

    In PTB BadRequest subclasses NetworkError, so it is caught first and
    re-raised at once, with Forbidden and ChatMigrated: retrying cannot help.
    """
    attempt = 0
    while True:
        try:
            return await call()
        except (BadRequest, Forbidden, ChatMigrated):
            raise
        except RetryAfter as error:
            if attempt >= len(backoff):
                raise
            await sleep(_retry_after_seconds(error))
        except (NetworkError, TimedOut) as error:
            if attempt >= len(backoff):
                raise
            log.warning("Telegram call failed (%s); retrying in %.1fs", error, backoff[attempt])
            await sleep(backoff[attempt])
        attempt += 1


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
    bot: Bot, params: dict[str, object], *, traffic: Traffic = Traffic.INTERACTIVE
) -> int:
    """sendMessage through ``do_api_request``; the new message's id.

    It skips building a ``Message`` from the reply, which repeats the whole text
    with its entities: with thousands of sends a minute that is most of PTB's
    cost per send (benchmarks/dispatch.py: 458 -> 878 deliveries/s). Bot API
    method names are case-insensitive; the lowercase name tells PTB this is
    deliberate (it warns about do_api_request for methods it wraps by name).
    ``traffic`` is the rate limiter's queue (bot/ratelimit.py).
    """
    if isinstance(bot, ExtBot) and bot.rate_limiter is not None:
        result = await cast("ExtBot[Traffic]", bot).do_api_request(
            "sendmessage", api_kwargs=params, rate_limit_args=traffic
        )
    else:
        result = await bot.do_api_request("sendmessage", api_kwargs=params)
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise NetworkError(f"unexpected sendMessage result: {str(result)[:100]}")
    return int(result["message_id"])
