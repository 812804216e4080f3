"""The instants this instance may send at, leased from the send budget several instances share.

With several instances on one PostgreSQL database (bot/telegram/send_budget.py) the
overall budget is not one process's own: the rate limiter (bot/telegram/ratelimit.py)
lets a chat request go only at an instant leased here. Each pool (free sends, paid
sends) keeps the instants it leased, in order, and one task per pool leases more
while more requests wait than the pool holds: replies lease for themselves only
(always granted), broadcast leases a block (granted while the shared schedule has
room). When the database fails, a conservative local share stands in.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Callable
from typing import Any

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
from bot.telegram.send_queue import SendQueue

# A denied broadcast lease asks again after at least this long.
MIN_RETRY_SECONDS = 0.005


class LeasedInstants:
    """Per pool (``paid`` False or True), the leased instants not yet used.

    ``interval`` and ``paid_interval`` are the seconds between two sends of the
    whole budget; this instance leases at SHARE_OF_LIMIT of that rate. ``queue`` says
    how many requests wait for a pool; ``wake(now)`` is called when new instants may
    let one go.
    """

    def __init__(
        self,
        shared: SharedBudget,
        *,
        interval: float,
        paid_interval: float,
        queue: SendQueue[Any],
        wake: Callable[[float], None],
    ) -> None:
        self._shared = shared
        self._interval = {False: interval / SHARE_OF_LIMIT, True: paid_interval / SHARE_OF_LIMIT}
        self._queue = queue
        self._wake = wake
        self._instants: dict[bool, deque[float]] = {False: deque(), True: deque()}
        self._leasing: dict[bool, asyncio.Task[None]] = {}
        # Where the next local fallback instant of each pool may start.
        self._fallback_from = {False: 0.0, True: 0.0}
        self._reply_arrived: asyncio.Event | None = None

    def next_at(self, paid: bool, now: float) -> float:
        """The next leased instant of the pool (infinite while none). A lease is started
        when the pool is about to run dry, so the next block is booked before it does."""
        instants = self._usable(paid, now)
        if len(instants) <= 1 and paid not in self._leasing:
            self._leasing[paid] = asyncio.get_running_loop().create_task(
                self._lease(paid), name="send-budget-lease"
            )
        return instants[0] if instants else math.inf

    def use(self, paid: bool) -> None:
        """A request went at the pool's next instant (``next_at`` said it was due)."""
        self._instants[paid].popleft()

    def forget(self) -> None:
        """A RetryAfter pause: instants leased before it are past, the shared schedule
        moves beyond the pause."""
        for instants in self._instants.values():
            instants.clear()

    def reply_arrived(self) -> None:
        """A reply is waiting: a lease denied for broadcast asks again at once."""
        if self._reply_arrived is not None:
            self._reply_arrived.set()

    async def close(self) -> None:
        """Cancel the leasing tasks (the shared budget itself is closed by its owner)."""
        tasks = list(self._leasing.values())
        self._leasing.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _usable(self, paid: bool, now: float) -> deque[float]:
        instants = self._instants[paid]
        while instants and instants[0] < now - SLOT_GRACE_SECONDS:
            instants.popleft()  # not used in time: lost capacity, not a later burst
        return instants

    async def _lease(self, paid: bool) -> None:
        """Lease instants while more requests wait than the pool holds."""
        loop = asyncio.get_running_loop()
        key, block = (PAID_KEY, PAID_BLOCK) if paid else (OVERALL_KEY, BLOCK)
        interval = self._interval[paid]
        if self._reply_arrived is None:
            self._reply_arrived = asyncio.Event()
        try:
            while True:
                count, replies = self._queue.waiting_for(paid)
                pool = self._usable(paid, loop.time())
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
                    start = max(loop.time(), self._fallback_from[paid], pool[-1] if pool else 0.0)
                    self._fallback_from[paid] = start + count * step
                    pool.extend(start + i * step for i in range(count))
                if len(pool) and self._queue.waiting():
                    self._wake(loop.time())
        finally:
            self._leasing.pop(paid, None)
            if self._queue.waiting():
                self._wake(loop.time())
