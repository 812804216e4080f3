"""Which waiting send goes next: replies before broadcast, each chat in its order.

The rate limiter (bot/telegram/ratelimit.py) keeps Telegram's limits; this module
is its queue policy, with no clock and no asyncio of its own: it is asked with the
instant each waiter's limits would let it go (``free_at``) and answers the one to
let go now, or the earliest instant one can. Two classes of traffic share one
budget:

* **interactive**: anything sent because of an update (the default: a request
  without ``rate_limit_args``);
* **broadcast**: scheduled sends (the dispatcher passes ``Traffic.BROADCAST``).

Whenever the budget has room, the oldest waiting interactive request that its
own chat's limit allows goes first; broadcast requests get what the replies
leave. Within one chat requests keep their order, whatever their class: if a
reply waits behind its own chat's broadcast message, that message is *lifted*
into the interactive turn (rather than overtaken), so the reply is not kept
waiting either.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar


class Traffic(enum.StrEnum):
    """Which queue a request waits in; pass it as ``rate_limit_args``."""

    INTERACTIVE = "interactive"
    BROADCAST = "broadcast"


@dataclass(eq=False)
class Waiter:
    """One request waiting for its turn. ``chat`` is None for requests no flood limit
    counts (answerCallbackQuery, getMe...); ``paid`` draws on the paid budget."""

    traffic: Traffic
    chat: int | str | None
    paid: bool
    # Arrival order, set by SendQueue.add.
    seq: int = field(default=0, init=False)
    # A broadcast send let go in the interactive turn (see SendQueue.next_to_go).
    lifted: bool = field(default=False, init=False)

    @property
    def counts_as_reply(self) -> bool:
        """Goes in the interactive turn: a reply, or a broadcast send lifted ahead of one."""
        return self.traffic is Traffic.INTERACTIVE or self.lifted


W = TypeVar("W", bound=Waiter)


class SendQueue(Generic[W]):
    """The waiting requests of both classes, in arrival order.

    ``on_change`` is told a class's number of waiting requests whenever it changes
    (a metrics hook).
    """

    def __init__(self, on_change: Callable[[Traffic, int], None] | None = None) -> None:
        self._queues: dict[Traffic, deque[W]] = {t: deque() for t in Traffic}
        self._seq = 0
        self._on_change = on_change

    def add(self, waiter: W) -> W:
        """Queue ``waiter`` behind everything that arrived before it."""
        self._seq += 1
        waiter.seq = self._seq
        self._queues[waiter.traffic].append(waiter)
        self._changed(waiter.traffic)
        return waiter

    def remove(self, waiter: W) -> None:
        """Take ``waiter`` out (let go or cancelled); ValueError if it is not queued."""
        self._queues[waiter.traffic].remove(waiter)
        self._changed(waiter.traffic)

    def waiting(self, traffic: Traffic | None = None) -> int:
        """How many requests wait for their turn (of one class, or of both)."""
        if traffic is not None:
            return len(self._queues[traffic])
        return sum(len(queue) for queue in self._queues.values())

    def waiting_for(self, paid: bool) -> tuple[int, int]:
        """How many chat requests wait for one budget (free or paid), and how many of
        them go in the interactive turn."""
        count = replies = 0
        for queue in self._queues.values():
            for waiter in queue:
                if waiter.chat is not None and waiter.paid == paid:
                    count += 1
                    replies += waiter.counts_as_reply
        return count, replies

    def drain(self) -> Iterator[W]:
        """Take every waiter out, oldest class first (shutdown)."""
        for queue in self._queues.values():
            while queue:
                yield queue.popleft()

    def next_to_go(
        self, now: float, free_at: Callable[[W, float], float]
    ) -> tuple[W | None, float | None]:
        """The request to let go now, else (None, the earliest instant one can).

        ``free_at(waiter, now)`` is when the waiter's limits let it go (>= now). Only
        the oldest waiting request of each chat is a candidate, so a chat's
        messages keep their order whatever their class; candidates are asked in
        turn, the interactive ones (replies and lifted broadcast) oldest first,
        then the broadcast ones in their order, and the first that is free goes.
        The earliest instant is None when nothing waits, and may be infinite (a
        send still in flight holds the only place).
        """
        heads: dict[int | str, W] = {}
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
        first: list[W] = []
        rest: list[W] = []
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
            at = free_at(waiter, now)
            if at <= now:
                return waiter, None
            earliest = at if earliest is None else min(earliest, at)
        return None, earliest

    def _changed(self, traffic: Traffic) -> None:
        if self._on_change is not None:
            self._on_change(traffic, len(self._queues[traffic]))
