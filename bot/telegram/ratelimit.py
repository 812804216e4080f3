"""One budget of Telegram's flood limits, shared by two traffic classes: replies first.

Telegram allows about 30 messages a second overall (1,000 with paid broadcasts),
20 a minute in one group and about one a second in one private chat
(bot/telegram/limits.py). PTB's ``AIORateLimiter`` keeps those limits first
come, first served, so at 09:00 a reply to a tap waits behind minutes of daily
questions. This limiter keeps the same limits with two queues, interactive
before broadcast. It is PTB's ``BaseRateLimiter`` adapter and the clock: the
arithmetic of the limits is bot/telegram/flood_windows.py (pure, ``now`` passed
in), which waiter goes next is bot/telegram/send_queue.py; here requests are
queued, woken at the instant those two say, and their responses timed.

``RetryAfter`` pauses every request for as long as Telegram says and is retried
up to ``max_retries`` times: this is the one place that retries it
(bot/telegram/sending.py does not), also with the limits off.

With several instances on one PostgreSQL database (``shared``, bot/telegram/send_budget.py)
the order stays here, in memory (replies first, each chat in order), but the
overall budget is not this process's own: a request may go only at an instant
leased from the shared schedule, each chat's pacing is reserved in the shared
table too, and a ``RetryAfter`` pauses every instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram.flood_windows import (
    BROADCAST_BURST,
    JITTER_MARGIN,
    PRIVATE_PERIOD_SECONDS,
    ChatWindows,
    SlidingWindow,
    Slot,
    TokenBucket,
    overall_window,
)
from bot.telegram.leased_instants import LeasedInstants
from bot.telegram.limits import (
    GROUP_MESSAGES_PER_MINUTE,
    PAID_MESSAGES_PER_SECOND,
    PRIVATE_BURST,
)
from bot.telegram.send_budget import OVERALL_KEY, PAID_KEY, SharedBudget
from bot.telegram.send_queue import SendQueue, Traffic, Waiter

# Traffic is part of this limiter's interface (``rate_limit_args``): callers import it from here.
__all__ = ["PriorityRateLimiter", "Traffic", "retry_after_seconds"]

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]


@dataclass(eq=False)
class _Request(Waiter):
    """A waiter of this limiter: woken through ``future``, holding its places in the
    windows (``slots``) once let go."""

    future: asyncio.Future[None] = field(repr=False, kw_only=True)
    slots: tuple[Slot, ...] = ()


class PriorityRateLimiter(BaseRateLimiter[Traffic]):
    """Telegram's flood limits for the whole bot, interactive requests before broadcast.

    ``overall_rate`` messages per second (``0`` turns every limit off, for a
    self-hosted Bot API server or a benchmark). ``on_wait_change`` is told the
    number of waiting requests whenever it changes, and ``on_retry_after`` each
    time Telegram answers 429 (metrics hooks; no-ops by default).
    """

    def __init__(
        self,
        overall_rate: float,
        *,
        group_per_minute: int = GROUP_MESSAGES_PER_MINUTE,
        private_burst: int = PRIVATE_BURST,
        private_period: float = PRIVATE_PERIOD_SECONDS,
        paid_rate: int = PAID_MESSAGES_PER_SECOND,
        max_retries: int = 3,
        on_wait_change: Callable[[Traffic, int], None] | None = None,
        on_retry_after: Callable[[float], None] | None = None,
        shared: SharedBudget | None = None,
    ) -> None:
        self.enabled = overall_rate > 0
        self._overall = overall_window(overall_rate)
        per_window = self._overall.limit
        self._paid = SlidingWindow(paid_rate, JITTER_MARGIN)
        # Free broadcast sends are paced (TokenBucket: a burst of a few, then one per
        # 1/rate s) so that a reply waits for one place, not a whole block. (Paid
        # sends: 1,000/s, a block lasts 1 ms.)
        self._pace = TokenBucket(
            capacity=min(per_window, BROADCAST_BURST), rate=per_window / self._overall.period
        )
        self._chats = ChatWindows(
            group_limit=group_per_minute,
            group_period=60.0 * JITTER_MARGIN,
            private_limit=private_burst,
            private_period=private_period * JITTER_MARGIN,
        )
        # Read directly on the hot path (_free_at runs for every candidate at every grant).
        self._chat_windows = self._chats.windows
        self._queue: SendQueue[_Request] = SendQueue(on_wait_change)
        self._paused_until = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._max_retries = max_retries
        self._on_retry_after = on_retry_after
        self.retry_after_count = 0
        # The shared budget (several instances): instants leased from the database,
        # per pool (free, paid), and the task leasing more for each.
        self._shared = shared if self.enabled else None
        self._leases = (
            None
            if self._shared is None
            else LeasedInstants(
                self._shared,
                interval=self._overall.period / per_window,
                paid_interval=self._paid.period / paid_rate,
                queue=self._queue,
                wake=self._grant,
            )
        )

    async def initialize(self) -> None:
        """Nothing to open: the windows live in memory (the shared budget connects on use)."""

    async def shutdown(self) -> None:
        """Cancel the wake-up timer and leases; waiters still queued get ``CancelledError``."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._leases is not None:
            await self._leases.close()
        for request in self._queue.drain():
            request.future.cancel()
        if self._shared is not None:
            await self._shared.close()

    def waiting(self, traffic: Traffic | None = None) -> int:
        """How many requests wait for their turn (of one class, or of both)."""
        return self._queue.waiting(traffic)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Traffic | None,
    ) -> JSON:
        if not self.enabled:
            return await self._unlimited(callback, args, kwargs)
        traffic = rate_limit_args or Traffic.INTERACTIVE
        chat = _chat_key(data.get("chat_id"))
        paid = bool(data.get("allow_paid_broadcast"))
        attempt = 0
        while True:
            slots: tuple[Slot, ...] = ()
            if chat is not None and self._shared is not None:
                # The chat's pacing across instances: wait for this chat's next instant.
                delay = await self._shared.reserve_chat(chat)
                if delay > 0:
                    await asyncio.sleep(delay)
            if chat is not None:
                # Only requests addressed to a chat count against the flood limits
                # (answerCallbackQuery, getMe, setMyCommands... do not).
                slots = await self._turn(traffic, chat, paid)
            elif self._paused_until > asyncio.get_running_loop().time():
                await self._turn(traffic, None, paid)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = self._counted_retry_after(error, attempt)
                attempt += 1
                log.info("Telegram flood limit: pausing every send for %.1f s", seconds)
                self._pause(seconds + 0.1)
                if self._shared is not None:
                    for key in (OVERALL_KEY, PAID_KEY):
                        await self._shared.pause(key, seconds + 0.1)
            finally:
                if slots:
                    self._answered(slots)

    async def _unlimited(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> JSON:
        """Limits off (a self-hosted Bot API server): a 429 is still waited out and retried."""
        attempt = 0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = self._counted_retry_after(error, attempt)
                attempt += 1
                await asyncio.sleep(seconds)

    def _counted_retry_after(self, error: RetryAfter, attempt: int) -> float:
        """Count a 429 and report it; the seconds to wait, or ``error`` raised again once
        ``attempt`` has used up the retries (the one place RetryAfter is retried)."""
        self.retry_after_count += 1
        seconds = retry_after_seconds(error)
        if self._on_retry_after is not None:
            self._on_retry_after(seconds)
        if attempt >= self._max_retries:
            log.warning("Telegram flood limit: giving up after %d retries", attempt)
            raise error
        return seconds

    # -- the queue ---------------------------------------------------------------------------

    async def _turn(self, traffic: Traffic, chat: int | str | None, paid: bool) -> tuple[Slot, ...]:
        """Wait until this request may go; returns its places in its windows."""
        loop = asyncio.get_running_loop()
        waiter = self._queue.add(_Request(traffic, chat, paid, future=loop.create_future()))
        if traffic is Traffic.INTERACTIVE and self._leases is not None:
            self._leases.reply_arrived()
        self._grant(loop.time())
        try:
            await waiter.future
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):  # already let go: nothing to undo
                self._queue.remove(waiter)
            if waiter.slots:
                self._answered(waiter.slots)
            raise
        return waiter.slots

    def _answered(self, slots: tuple[Slot, ...]) -> None:
        """A request's response came: its places now date from this instant."""
        now = asyncio.get_running_loop().time()
        for slot in slots:
            slot.responded_at = now
        if self.waiting():
            self._grant(now)

    def _grant(self, now: float) -> None:
        """Let every request go that may go now; arm a timer for the next one."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._chats.prune(now)
        while True:
            chosen, earliest = self._queue.next_to_go(now, self._free_at)
            if chosen is None:
                break
            self._queue.remove(chosen)
            if chosen.future.done():  # its task was cancelled while it waited
                continue
            if chosen.chat is not None and self._leases is not None:
                self._leases.use(chosen.paid)
                chosen.slots = (self._chats.take(chosen.chat),)
            elif chosen.chat is not None:
                budget = self._paid if chosen.paid else self._overall
                chosen.slots = (budget.take(), self._chats.take(chosen.chat))
            if self._paced(chosen):
                self._pace.take(now)
            chosen.future.set_result(None)
        if earliest is not None and earliest != math.inf:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(earliest, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._grant(asyncio.get_running_loop().time())

    def _free_at(self, waiter: _Request, now: float) -> float:
        """When every limit on ``waiter`` lets it go (>= now): a RetryAfter pause, the
        overall or paid budget (or the next leased instant), the pace, its chat."""
        at = max(now, self._paused_until)
        if waiter.chat is None:
            return at
        if self._leases is not None:
            if at > now:
                return at  # paused: instants leased now would be stale when it ends
            at = max(at, self._leases.next_at(waiter.paid, now))
        else:
            budget = self._paid if waiter.paid else self._overall
            at = max(at, budget.free_at(now))
        if self._paced(waiter):
            at = max(at, self._pace.ready_at(now))
        window = self._chat_windows.get(waiter.chat)
        return at if window is None else max(at, window.free_at(now))

    def _paced(self, waiter: _Request) -> bool:
        """A free broadcast send, unless lifted ahead for a reply waiting behind it
        (with a shared budget the leased instants are the pace)."""
        return (
            self._leases is None
            and waiter.traffic is Traffic.BROADCAST
            and not waiter.paid
            and not waiter.lifted
        )

    def _pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        if self._leases is not None:
            self._leases.forget()


def _chat_key(chat_id: object) -> int | str | None:
    """Chat ids arrive as ints or strings (``"-100..."``, ``"@channel"``)."""
    if chat_id is None:
        return None
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id)
    with contextlib.suppress(ValueError):
        return int(text)
    return text


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds (PTB's ``retry_after`` is an int
    or a timedelta, depending on its settings)."""
    value = error.retry_after
    return float(value if isinstance(value, int | float) else value.total_seconds())
