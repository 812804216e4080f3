"""One budget of Telegram's flood limits, shared by two traffic classes: replies first.

Telegram allows about 30 messages a second overall (1,000 with paid broadcasts),
20 a minute in one group and about one a second in one private chat. PTB's
``AIORateLimiter`` keeps those limits first come, first served, so at 09:00 a
reply to a tap waits behind minutes of daily questions. This limiter keeps the
same limits but has two queues:

* **interactive**: anything sent because of an update (the default: a request
  without ``rate_limit_args``);
* **broadcast**: scheduled sends (the dispatcher passes ``Traffic.BROADCAST``).

Whenever the overall budget has room, the oldest waiting interactive request
that its own chat's limit allows goes first; broadcast requests get what the
replies leave. Within one chat requests keep their order, whatever their class.

Why not ``aiolimiter``: its leaky bucket has no notion of priority, and it lets
a full bucket's worth through in a burst on top of the steady rate, so a window
of one second can see twice the rate (a 429 from Telegram). Here every limit is
a sliding window (a deque per key): at most ``n`` sends in any ``period``
seconds, each send counted until ``period`` after its response came back, so
however late a request reaches Telegram the bot itself provokes no 429s.
``RetryAfter`` still pauses every request for as long as Telegram says and is
retried up to ``max_retries`` times: this is the one place that retries it
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
import enum
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram.limits import (
    GROUP_MESSAGES_PER_MINUTE,
    PAID_MESSAGES_PER_SECOND,
    PRIVATE_BURST,
    PRIVATE_MESSAGES_PER_SECOND,
)
from bot.telegram.send_budget import (
    BLOCK,
    FALLBACK_SHARE,
    OVERALL_KEY,
    PAID_BLOCK,
    PAID_KEY,
    SHARE_OF_LIMIT,
    SLOT_GRACE_SECONDS,
    Denied,
    Lease,
    SharedBudget,
)

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]

# A private chat: a burst of PRIVATE_BURST, and as many per PRIVATE_BURST seconds on
# average (Telegram's "about one a second", bot/telegram/limits.py).
PRIVATE_PERIOD_SECONDS = PRIVATE_BURST / PRIVATE_MESSAGES_PER_SECOND
# A send holds its place in a window until ``period`` after its response (see
# SlidingWindow); 1 % on top covers clock rounding between here and Telegram.
JITTER_MARGIN = 1.01
PRUNE_EVERY_SECONDS = 5.0
# Free broadcast sends may go this many at once; then one per 1/rate seconds.
BROADCAST_BURST = 3
# A denied broadcast lease asks again after at least this long.
MIN_RETRY_SECONDS = 0.005


class Traffic(enum.StrEnum):
    """Which queue a request waits in; pass it as ``rate_limit_args``."""

    INTERACTIVE = "interactive"
    BROADCAST = "broadcast"


class Slot:
    """One send in a window: in flight (``at`` is infinite) until its response came."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = math.inf


class SlidingWindow:
    """At most ``limit`` sends in any ``period`` seconds, counted as Telegram counts them.

    Telegram counts a message when it arrives, which is some time after the
    limiter lets it go (more under load) and before its response comes back.
    So a send occupies its place in the window until ``period`` after its
    response: never sooner than it could have arrived. Network jitter then
    cannot squeeze one message too many into Telegram's window.
    """

    __slots__ = ("_slots", "period")

    def __init__(self, limit: int, period: float) -> None:
        self._slots: deque[Slot] = deque(maxlen=limit)
        self.period = period

    def free_at(self, now: float) -> float:
        """The earliest instant (>= now) at which one more send fits; infinite while
        the oldest send of a full window is still in flight."""
        slots = self._slots
        if len(slots) < (slots.maxlen or 0):
            return now
        return max(now, slots[0].at + self.period)

    def take(self) -> Slot:
        slot = Slot()
        self._slots.append(slot)
        return slot

    def idle_since(self, now: float) -> bool:
        """Nothing sent within the last period: the window can be forgotten."""
        return not self._slots or self._slots[-1].at + self.period <= now


class TokenBucket:
    """``capacity`` sends at once, refilled at ``rate`` per second."""

    __slots__ = ("_at", "_tokens", "capacity", "rate")

    def __init__(self, *, capacity: int, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self._tokens = float(capacity)
        self._at = -math.inf

    def _level(self, now: float) -> float:
        if self._at == -math.inf:
            return self._tokens
        return min(self.capacity, self._tokens + (now - self._at) * self.rate)

    def ready_at(self, now: float) -> float:
        """The earliest instant (>= now) with a whole token."""
        level = self._level(now)
        return now if level >= 1 else now + (1 - level) / self.rate

    def take(self, now: float) -> None:
        self._tokens = self._level(now) - 1
        self._at = now


@dataclass(eq=False)
class _Waiter:
    seq: int
    traffic: Traffic
    chat: int | str | None
    paid: bool
    future: asyncio.Future[None] = field(repr=False)
    slots: tuple[Slot, ...] = ()
    lifted: bool = False  # a broadcast send let go in the interactive turn (_choose)


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
        # A fractional rate (say 0.5/s) becomes 1 message per 2 s.
        per_window = max(1, round(overall_rate)) if self.enabled else 1
        self._overall = SlidingWindow(
            per_window, JITTER_MARGIN * per_window / max(overall_rate, 1e-9)
        )
        self._paid = SlidingWindow(paid_rate, JITTER_MARGIN)
        # Free broadcast sends are paced (a token bucket: a burst of a few, then
        # one per 1/rate s) rather than let go in a block of the window's size: a
        # block holds every place until a period after its responses, so a reply
        # arriving meanwhile waited for the whole block to age out (half a second
        # on average at 30/s). Paced, a place frees every 1/rate s and a waiting
        # reply takes the next one. (Paid sends: 1,000/s, a block lasts 1 ms.)
        self._pace = TokenBucket(
            capacity=min(per_window, BROADCAST_BURST), rate=per_window / self._overall.period
        )
        self._group_limit = group_per_minute
        self._group_period = 60.0 * JITTER_MARGIN
        self._private_limit = private_burst
        self._private_period = private_period * JITTER_MARGIN
        self._chats: dict[int | str, SlidingWindow] = {}
        self._queues: dict[Traffic, deque[_Waiter]] = {t: deque() for t in Traffic}
        self._paused_until = 0.0
        self._seq = 0
        self._timer: asyncio.TimerHandle | None = None
        self._last_prune = 0.0
        self._max_retries = max_retries
        self._on_wait_change = on_wait_change
        self._on_retry_after = on_retry_after
        self.retry_after_count = 0
        # The shared budget (several instances): instants leased from the database,
        # per pool (free, paid), and the task leasing more for each.
        self._shared = shared if self.enabled else None
        self._interval = self._overall.period / per_window
        self._paid_interval = self._paid.period / paid_rate
        if shared is not None:
            self._interval /= SHARE_OF_LIMIT
            self._paid_interval /= SHARE_OF_LIMIT
        self._leased: dict[bool, deque[float]] = {False: deque(), True: deque()}
        self._leasing: dict[bool, asyncio.Task[None]] = {}
        self._fallback_at = {False: 0.0, True: 0.0}
        self._reply_arrived: asyncio.Event | None = None

    async def initialize(self) -> None:
        """Nothing to open: the windows live in memory (the shared budget connects on use)."""

    async def shutdown(self) -> None:
        """Cancel the wake-up timer and leases; waiters still queued get ``CancelledError``."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        tasks = list(self._leasing.values())
        self._leasing.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for queue in self._queues.values():
            while queue:
                queue.popleft().future.cancel()
        if self._shared is not None:
            await self._shared.close()

    def waiting(self, traffic: Traffic | None = None) -> int:
        """How many requests wait for their turn (of one class, or of both)."""
        if traffic is not None:
            return len(self._queues[traffic])
        return sum(len(queue) for queue in self._queues.values())

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
        seconds = _seconds(error)
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
        self._seq += 1
        waiter = _Waiter(self._seq, traffic, chat, paid, loop.create_future())
        self._queues[traffic].append(waiter)
        self._notify(traffic)
        if traffic is Traffic.INTERACTIVE and self._reply_arrived is not None:
            self._reply_arrived.set()
        self._grant(loop.time())
        try:
            await waiter.future
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):  # already let go: nothing to undo
                self._queues[traffic].remove(waiter)
                self._notify(traffic)
            if waiter.slots:
                self._answered(waiter.slots)
            raise
        return waiter.slots

    def _answered(self, slots: tuple[Slot, ...]) -> None:
        """A request's response came: its places now date from this instant."""
        now = asyncio.get_running_loop().time()
        for slot in slots:
            slot.at = now
        if self.waiting():
            self._grant(now)

    def _grant(self, now: float) -> None:
        """Let every request go that may go now; arm a timer for the next one."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if now - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._prune(now)
        while True:
            chosen, earliest = self._choose(now)
            if chosen is None:
                break
            self._queues[chosen.traffic].remove(chosen)
            self._notify(chosen.traffic)
            if chosen.future.done():  # its task was cancelled while it waited
                continue
            if chosen.chat is not None and self._shared is not None:
                self._leased[chosen.paid].popleft()
                chosen.slots = (self._chat_window(chosen.chat).take(),)
            elif chosen.chat is not None:
                budget = self._paid if chosen.paid else self._overall
                chosen.slots = (budget.take(), self._chat_window(chosen.chat).take())
            if self._paced(chosen):
                self._pace.take(now)
            chosen.future.set_result(None)
        if earliest is not None and earliest != math.inf:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(earliest, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._grant(asyncio.get_running_loop().time())

    def _choose(self, now: float) -> tuple[_Waiter | None, float | None]:
        """The request to let go now (interactive first), else when the next one can.

        Only the oldest waiting request of each chat may go, so a chat's messages
        keep their order whatever their class. If a reply waits behind its own
        chat's broadcast message, that message is lifted into the interactive
        turn (rather than overtaken), so the reply is not kept waiting either.
        """
        heads: dict[int | str, _Waiter] = {}
        urgent: set[int | str] = set()
        for traffic in (Traffic.INTERACTIVE, Traffic.BROADCAST):
            for waiter in self._queues[traffic]:
                if waiter.chat is None:
                    continue
                head = heads.get(waiter.chat)
                if head is None or waiter.seq < head.seq:
                    heads[waiter.chat] = waiter
                if traffic is Traffic.INTERACTIVE:
                    urgent.add(waiter.chat)
        first: list[_Waiter] = []
        rest: list[_Waiter] = []
        for traffic in (Traffic.INTERACTIVE, Traffic.BROADCAST):
            for waiter in self._queues[traffic]:
                if waiter.chat is not None and heads[waiter.chat] is not waiter:
                    continue
                lifted = waiter.chat is not None and waiter.chat in urgent
                waiter.lifted = lifted and traffic is Traffic.BROADCAST
                (first if traffic is Traffic.INTERACTIVE or lifted else rest).append(waiter)
        first.sort(key=lambda waiter: waiter.seq)
        earliest: float | None = None
        for waiter in (*first, *rest):
            at = self._free_at(waiter, now)
            if at <= now:
                return waiter, None
            earliest = at if earliest is None else min(earliest, at)
        return None, earliest

    def _free_at(self, waiter: _Waiter, now: float) -> float:
        at = max(now, self._paused_until)
        if waiter.chat is None:
            return at
        if self._shared is not None:
            if at > now:
                return at  # paused: instants leased now would be stale when it ends
            at = max(at, self._leased_at(waiter.paid, now))
        else:
            budget = self._paid if waiter.paid else self._overall
            at = max(at, budget.free_at(now))
        if self._paced(waiter):
            at = max(at, self._pace.ready_at(now))
        window = self._chats.get(waiter.chat)
        return at if window is None else max(at, window.free_at(now))

    def _paced(self, waiter: _Waiter) -> bool:
        """A free broadcast send, unless lifted ahead for a reply waiting behind it
        (with a shared budget the leased instants are the pace)."""
        return (
            self._shared is None
            and waiter.traffic is Traffic.BROADCAST
            and not waiter.paid
            and not waiter.lifted
        )

    # -- the shared budget (several instances) -----------------------------------------------

    def _leased_at(self, paid: bool, now: float) -> float:
        """The next leased instant of the pool (infinite while none). A lease is started
        when the pool is about to run dry, so the next block is booked before it does."""
        instants = self._fresh(paid, now)
        if len(instants) <= 1 and paid not in self._leasing:
            self._leasing[paid] = asyncio.get_running_loop().create_task(
                self._lease(paid), name="send-budget-lease"
            )
        return instants[0] if instants else math.inf

    def _fresh(self, paid: bool, now: float) -> deque[float]:
        instants = self._leased[paid]
        while instants and instants[0] < now - SLOT_GRACE_SECONDS:
            instants.popleft()  # not used in time: lost capacity, not a later burst
        return instants

    def _waiting_for(self, paid: bool) -> tuple[int, int]:
        """How many chat requests wait for the pool, and how many of them are replies."""
        count = replies = 0
        for traffic, queue in self._queues.items():
            for waiter in queue:
                if waiter.chat is not None and waiter.paid == paid:
                    count += 1
                    replies += traffic is Traffic.INTERACTIVE or waiter.lifted
        return count, replies

    async def _lease(self, paid: bool) -> None:
        """Lease instants while more requests wait than the pool holds."""
        assert self._shared is not None
        loop = asyncio.get_running_loop()
        key, block = (PAID_KEY, PAID_BLOCK) if paid else (OVERALL_KEY, BLOCK)
        interval = self._paid_interval if paid else self._interval
        if self._reply_arrived is None:
            self._reply_arrived = asyncio.Event()
        try:
            while True:
                count, replies = self._waiting_for(paid)
                pool = self._fresh(paid, loop.time())
                if count <= len(pool):
                    return
                # Replies the pool cannot serve lease for themselves only (always granted);
                # otherwise a block for broadcast (granted while the schedule has room).
                interactive = replies > len(pool)
                count = min(block, (replies if interactive else count) - len(pool))
                self._reply_arrived.clear()
                # The instants are "seconds from the database's now()": counted from when
                # the statement was sent, not from when its answer was read (which a busy
                # event loop may do late, and which would shift the block into the next).
                asked = loop.time()
                result = await self._shared.lease(key, count, interval, interactive=interactive)
                if isinstance(result, Lease):
                    pool.extend(result.instants(asked))
                elif isinstance(result, Denied):
                    # The shared schedule is full of broadcast for now: ask again when it
                    # has room, or at once when a reply arrives.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._reply_arrived.wait(), max(MIN_RETRY_SECONDS, result.retry_in)
                        )
                else:
                    # The database failed: a conservative share of the budget, locally.
                    step = interval / FALLBACK_SHARE
                    start = max(loop.time(), self._fallback_at[paid], pool[-1] if pool else 0.0)
                    self._fallback_at[paid] = start + count * step
                    pool.extend(start + i * step for i in range(count))
                if len(pool) and self.waiting():
                    self._grant(loop.time())
        finally:
            self._leasing.pop(paid, None)
            if self.waiting():
                self._grant(loop.time())

    def _chat_window(self, chat: int | str) -> SlidingWindow:
        window = self._chats.get(chat)
        if window is None:
            group = isinstance(chat, str) or chat < 0
            window = (
                SlidingWindow(self._group_limit, self._group_period)
                if group
                else SlidingWindow(self._private_limit, self._private_period)
            )
            self._chats[chat] = window
        return window

    def _prune(self, now: float) -> None:
        """Forget chats that sent nothing within their window (a broadcast touches many)."""
        self._last_prune = now
        idle = [chat for chat, window in self._chats.items() if window.idle_since(now)]
        for chat in idle:
            del self._chats[chat]

    def _pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        for instants in self._leased.values():
            instants.clear()  # leased before the pause: the shared schedule moves past it

    def _notify(self, traffic: Traffic) -> None:
        if self._on_wait_change is not None:
            self._on_wait_change(traffic, len(self._queues[traffic]))


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


def _seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return float(value if isinstance(value, int | float) else value.total_seconds())
