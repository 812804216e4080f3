"""PriorityRateLimiter driven directly: fake callbacks, no network, order not time.

Each request is a task calling ``process_request`` with a callback that appends
its label to ``ran``; the tests assert the sequence in which callbacks ran and
what waits (``waiting()``), never elapsed time. The per-chat windows take a
short period, so most tests are instant; the overall budget's window is always
about one second (``per_window / overall_rate`` with ``per_window = round(rate)``),
so the one test that needs a budget to refill waits for it once. The windows'
arithmetic at exact instants is tests/telegram/test_flood_windows.py, the queue
policy alone tests/telegram/test_send_queue.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.telegram.ratelimit import PriorityRateLimiter, Traffic
from bot.telegram.send_budget import BLOCK, OVERALL_KEY, PAID_KEY, Denied, Lease, SharedBudget

INTERACTIVE, BROADCAST = Traffic.INTERACTIVE, Traffic.BROADCAST
GROUP = -100123


class Harness:
    """Submits labelled requests to a limiter and records the order callbacks ran in."""

    def __init__(self, limiter: PriorityRateLimiter) -> None:
        self.limiter = limiter
        self.ran: list[str] = []
        self.tasks: dict[str, asyncio.Task[Any]] = {}

    def submit(
        self,
        label: str,
        chat_id: int | str | None,
        traffic: Traffic | None = None,
        *,
        paid: bool = False,
        callback: Callable[..., Coroutine[Any, Any, Any]] | None = None,
    ) -> asyncio.Task[Any]:
        async def record() -> bool:
            self.ran.append(label)
            return True

        data: dict[str, Any] = {"text": label}
        if chat_id is not None:
            data["chat_id"] = chat_id
        if paid:
            data["allow_paid_broadcast"] = True
        task = asyncio.create_task(
            self.limiter.process_request(callback or record, (), {}, "sendMessage", data, traffic),
            name=label,
        )
        self.tasks[label] = task
        return task

    async def settle(self) -> None:
        """Let every task that can run now run (several loop iterations)."""
        for _ in range(10):
            await asyncio.sleep(0)

    async def until(self, condition: Callable[[], bool], what: str, limit: float = 5.0) -> None:
        """Wait for a condition (a bound against hangs, not a timing assertion)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; ran {self.ran}")
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await self.limiter.shutdown()


def chat_of(index: int) -> int:
    return 1000 + index


async def test_interactive_request_goes_before_queued_broadcast() -> None:
    """At the limit, a reply queued behind broadcast sends is the first to go when room comes."""
    harness = Harness(PriorityRateLimiter(2))
    try:
        harness.submit("b1", chat_of(1), BROADCAST)
        harness.submit("b2", chat_of(2), BROADCAST)
        await harness.settle()
        assert harness.ran == ["b1", "b2"], "the budget of 2 per window is used up"
        for index in (3, 4, 5):
            harness.submit(f"b{index}", chat_of(index), BROADCAST)
            await harness.settle()
        harness.submit("reply", chat_of(9))  # no rate_limit_args: interactive
        await harness.settle()
        assert harness.ran == ["b1", "b2"]
        assert harness.limiter.waiting(BROADCAST) == 3
        assert harness.limiter.waiting(INTERACTIVE) == 1
        # The window refills (about a second): two more may go, the reply first.
        await harness.until(lambda: len(harness.ran) >= 4, "the next window")
        assert harness.ran == ["b1", "b2", "reply", "b3"]
        assert harness.limiter.waiting(BROADCAST) == 2
        assert harness.limiter.waiting(INTERACTIVE) == 0
    finally:
        await harness.close()


async def test_one_chats_requests_keep_their_order_across_classes() -> None:
    """A chat's older broadcast message is not overtaken by its newer reply."""
    limiter = PriorityRateLimiter(100, private_burst=1, private_period=0.05)
    harness = Harness(limiter)
    try:
        harness.submit("x-daily-1", chat_of(1), BROADCAST)
        await harness.settle()
        harness.submit("x-daily-2", chat_of(1), BROADCAST)
        await harness.settle()
        harness.submit("x-reply", chat_of(1), INTERACTIVE)
        await harness.settle()
        harness.submit("y-reply", chat_of(2), INTERACTIVE)
        await harness.settle()
        # Chat x is at its limit; chat y is not held up by it.
        assert harness.ran == ["x-daily-1", "y-reply"]
        await harness.until(lambda: len(harness.ran) == 4, "chat x's window to let both go")
        assert harness.ran == ["x-daily-1", "y-reply", "x-daily-2", "x-reply"]
    finally:
        await harness.close()


async def test_a_reply_behind_its_own_chats_broadcast_lifts_it_ahead_of_others() -> None:
    """The reply keeps its chat's order yet does not wait behind other chats' broadcast."""
    harness = Harness(PriorityRateLimiter(2))
    try:
        harness.submit("b1", chat_of(1), BROADCAST)
        harness.submit("b2", chat_of(2), BROADCAST)
        await harness.settle()
        for index in (3, 4):
            harness.submit(f"b{index}", chat_of(index), BROADCAST)
            await harness.settle()
        harness.submit("x-daily", chat_of(9), BROADCAST)
        await harness.settle()
        harness.submit("x-reply", chat_of(9))
        await harness.settle()
        assert harness.ran == ["b1", "b2"]
        # The window refills (about a second) with room for two.
        await harness.until(lambda: len(harness.ran) >= 4, "the next window")
        assert harness.ran == ["b1", "b2", "x-daily", "x-reply"]
        assert harness.limiter.waiting(BROADCAST) == 2
    finally:
        await harness.close()


async def test_one_chats_interactive_requests_keep_their_order() -> None:
    limiter = PriorityRateLimiter(100, private_burst=1, private_period=0.02)
    harness = Harness(limiter)
    try:
        for index in range(5):
            harness.submit(f"r{index}", chat_of(1))
            await harness.settle()
        await harness.until(lambda: len(harness.ran) == 5, "every reply")
        assert harness.ran == [f"r{index}" for index in range(5)]
    finally:
        await harness.close()


async def test_a_group_gets_its_per_minute_limit() -> None:
    """20 a minute in a group: the 21st waits while other chats still go."""
    harness = Harness(PriorityRateLimiter(1000))
    try:
        for index in range(21):
            harness.submit(f"g{index}", GROUP)
        await harness.settle()
        harness.submit("other-group", -200)
        harness.submit("channel", "@somechannel")  # a username counts as a group
        harness.submit("private", chat_of(1))
        await harness.settle()
        assert harness.ran == [f"g{index}" for index in range(20)] + [
            "other-group",
            "channel",
            "private",
        ]
        assert harness.limiter.waiting() == 1
        assert not harness.tasks["g20"].done()
    finally:
        await harness.close()


async def test_a_group_limit_can_be_set() -> None:
    harness = Harness(PriorityRateLimiter(1000, group_per_minute=3))
    try:
        for index in range(5):
            harness.submit(f"g{index}", f"{GROUP}")  # ids may come as strings
        await harness.settle()
        assert harness.ran == ["g0", "g1", "g2"]
        assert harness.limiter.waiting() == 2
    finally:
        await harness.close()


async def test_a_private_chat_gets_a_burst_of_three() -> None:
    limiter = PriorityRateLimiter(1000, private_period=0.1)
    harness = Harness(limiter)
    try:
        for index in range(4):
            harness.submit(f"p{index}", chat_of(1))
        await harness.settle()
        assert harness.ran == ["p0", "p1", "p2"]
        assert limiter.waiting() == 1
        harness.submit("someone-else", chat_of(2))
        await harness.settle()
        assert harness.ran == ["p0", "p1", "p2", "someone-else"]
        await harness.until(lambda: len(harness.ran) == 5, "the fourth after the window")
        assert harness.ran[-1] == "p3"
    finally:
        await harness.close()


async def test_paid_broadcasts_use_their_own_budget() -> None:
    """allow_paid_broadcast: the paid budget, leaving the free one to replies."""
    harness = Harness(PriorityRateLimiter(1))  # one free message per window
    try:
        for index in range(5):
            harness.submit(f"paid{index}", chat_of(index), BROADCAST, paid=True)
        await harness.settle()
        harness.submit("reply", chat_of(10))
        await harness.settle()
        assert harness.ran == [f"paid{index}" for index in range(5)] + ["reply"], (
            "paid sends did not use the free budget"
        )
        harness.submit("free-daily", chat_of(11), BROADCAST)
        harness.submit("paid5", chat_of(12), BROADCAST, paid=True)
        await harness.settle()
        assert harness.ran[-1] == "paid5", "the free budget is full; the paid one is not"
        assert "free-daily" not in harness.ran
        assert harness.limiter.waiting(BROADCAST) == 1
    finally:
        await harness.close()


async def test_a_paid_send_does_not_overtake_its_chats_waiting_free_one() -> None:
    harness = Harness(PriorityRateLimiter(1))
    try:
        harness.submit("first", chat_of(1))
        await harness.settle()
        harness.submit("x-free", chat_of(9), BROADCAST)
        await harness.settle()
        harness.submit("x-paid", chat_of(9), BROADCAST, paid=True)
        harness.submit("y-paid", chat_of(10), BROADCAST, paid=True)
        await harness.settle()
        assert harness.ran == ["first", "y-paid"], "chat x keeps its order"
        assert harness.limiter.waiting(BROADCAST) == 2
    finally:
        await harness.close()


async def test_the_paid_budget_has_its_own_limit() -> None:
    harness = Harness(PriorityRateLimiter(1000, paid_rate=3))
    try:
        for index in range(4):
            harness.submit(f"paid{index}", chat_of(index), BROADCAST, paid=True)
        await harness.settle()
        assert harness.ran == ["paid0", "paid1", "paid2"]
        assert harness.limiter.waiting(BROADCAST) == 1
    finally:
        await harness.close()


async def test_retry_after_pauses_every_request_and_retries() -> None:
    seen: list[float] = []
    limiter = PriorityRateLimiter(1000, on_retry_after=seen.append)
    harness = Harness(limiter)
    attempts = 0

    async def flooded() -> bool:
        nonlocal attempts
        attempts += 1
        harness.ran.append(f"flooded#{attempts}")
        if attempts == 1:
            raise RetryAfter(timedelta(seconds=0.05))
        return True

    try:
        task = harness.submit("flooded", chat_of(1), BROADCAST, callback=flooded)
        await harness.settle()
        assert harness.ran == ["flooded#1"]
        # While paused nothing goes: not another chat, not a request without a chat.
        harness.submit("reply", chat_of(2))
        harness.submit("no-chat", None)
        await harness.settle()
        assert harness.ran == ["flooded#1"]
        assert limiter.waiting() == 3
        assert await asyncio.wait_for(task, 5) is True
        await harness.until(lambda: len(harness.ran) == 4, "the paused requests")
        assert harness.ran[0] == "flooded#1"
        assert sorted(harness.ran[1:]) == ["flooded#2", "no-chat", "reply"]
        # Interactive before broadcast once the pause ends.
        assert harness.ran.index("reply") < harness.ran.index("flooded#2")
        assert limiter.retry_after_count == 1
        assert seen == [pytest.approx(0.05)]
    finally:
        await harness.close()


async def test_retry_after_gives_up_after_max_retries() -> None:
    limiter = PriorityRateLimiter(1000, max_retries=2)
    harness = Harness(limiter)
    calls = 0

    async def always_flooded() -> bool:
        nonlocal calls
        calls += 1
        raise RetryAfter(timedelta(seconds=0.01))

    try:
        task = harness.submit("flooded", chat_of(1), callback=always_flooded)
        with pytest.raises(RetryAfter):
            await asyncio.wait_for(task, 5)
        assert calls == 3, "the first attempt and max_retries retries"
        assert limiter.retry_after_count == 3
    finally:
        await harness.close()


async def test_requests_without_a_chat_are_not_limited() -> None:
    harness = Harness(PriorityRateLimiter(1))
    try:
        harness.submit("to-chat", chat_of(1))
        harness.submit("to-chat-2", chat_of(2))
        await harness.settle()
        for index in range(5):
            harness.submit(f"no-chat{index}", None)
        await harness.settle()
        assert harness.ran == ["to-chat"] + [f"no-chat{index}" for index in range(5)]
        assert harness.limiter.waiting() == 1
    finally:
        await harness.close()


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    changes: list[tuple[Traffic, int]] = []
    limiter = PriorityRateLimiter(1, on_wait_change=lambda t, n: changes.append((t, n)))
    harness = Harness(limiter)
    try:
        harness.submit("first", chat_of(1))
        await harness.settle()
        waiting = harness.submit("cancelled", chat_of(2), BROADCAST)
        harness.submit("next", chat_of(3), BROADCAST)
        await harness.settle()
        assert limiter.waiting(BROADCAST) == 2
        waiting.cancel()
        await harness.settle()
        assert waiting.cancelled()
        assert limiter.waiting(BROADCAST) == 1
        assert changes[-1] == (BROADCAST, 1)
        assert harness.ran == ["first"]
    finally:
        await harness.close()
    assert "cancelled" not in harness.ran


async def test_shutdown_cancels_the_waiters() -> None:
    harness = Harness(PriorityRateLimiter(1))
    harness.submit("first", chat_of(1))
    waiting = harness.submit("waiting", chat_of(2))
    await harness.settle()
    await harness.limiter.shutdown()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 5)
    assert harness.limiter.waiting() == 0
    assert harness.ran == ["first"]


async def test_rate_zero_turns_every_limit_off() -> None:
    limiter = PriorityRateLimiter(0)
    release = asyncio.Event()
    inside = 0

    async def held() -> bool:
        nonlocal inside
        inside += 1
        await release.wait()
        return True

    harness = Harness(limiter)
    try:
        for index in range(25):
            harness.submit(f"g{index}", GROUP, callback=held)
            harness.submit(f"p{index}", chat_of(1), BROADCAST, callback=held)
        await harness.settle()
        assert inside == 50, "every request is in flight at once: nothing limits them"
        assert limiter.waiting() == 0
        release.set()
        results = await asyncio.wait_for(asyncio.gather(*harness.tasks.values()), 5)
        assert results == [True] * 50
    finally:
        await harness.close()


async def test_free_broadcast_sends_are_paced_leaving_room_for_replies() -> None:
    """A broadcast goes a few at once, then one per 1/rate s, not a whole window in one
    block: a block would hold every place until a period after its responses, and a
    reply arriving meanwhile would wait for it to age out."""
    harness = Harness(PriorityRateLimiter(30))
    try:
        for index in range(40):
            harness.submit(f"b{index}", chat_of(index), BROADCAST)
        await harness.settle()
        assert harness.ran == ["b0", "b1", "b2"], "a burst of three, then paced"
        harness.submit("reply", chat_of(99))
        await harness.settle()
        assert harness.ran[-1] == "reply", "the window has room: the reply goes at once"
        await harness.until(lambda: "b3" in harness.ran, "the next paced broadcast send")
        assert harness.ran.index("b3") == 4
        assert harness.limiter.waiting(BROADCAST) > 0
    finally:
        await harness.close()


async def test_retry_after_is_retried_with_the_limits_off() -> None:
    """The limiter is the one place RetryAfter is retried, also with SEND_RATE_LIMIT=0."""
    limiter = PriorityRateLimiter(0)
    harness = Harness(limiter)
    calls = 0

    async def flooded_once() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryAfter(timedelta(seconds=0.01))
        return True

    try:
        task = harness.submit("flooded", chat_of(1), callback=flooded_once)
        assert await asyncio.wait_for(task, 5) is True
        assert calls == 2
        assert limiter.retry_after_count == 1
    finally:
        await harness.close()


# -- with a shared budget (several instances) ------------------------------------------------


class StubBudget(SharedBudget):
    """The shared budget's answers chosen by the test (the SQL is tested in
    tests/telegram/test_send_budget.py): every lease waits until the test answers it."""

    def __init__(self) -> None:
        super().__init__("postgresql+asyncpg://unused@127.0.0.1/unused")
        self.leases: list[tuple[str, int, bool]] = []
        self.answers: asyncio.Queue[Lease | Denied | None] = asyncio.Queue()
        self.paused: list[tuple[str, float]] = []
        self.chats: list[int | str] = []

    async def lease(
        self, key: str, count: int, interval: float, *, interactive: bool
    ) -> Lease | Denied | None:
        self.leases.append((key, count, interactive))
        return await self.answers.get()

    async def reserve_chat(self, chat: int | str) -> float:
        self.chats.append(chat)
        return 0.0

    async def pause(self, key: str, seconds: float) -> None:
        self.paused.append((key, seconds))

    async def close(self) -> None:
        """Nothing was opened."""


def granted(count: int) -> Lease:
    """``count`` instants, all already due (the schedule had room)."""
    return Lease(count, 0.0, 0.0)


async def test_shared_broadcast_leases_a_block_and_sends_only_leased() -> None:
    budget = StubBudget()
    harness = Harness(PriorityRateLimiter(30, shared=budget))
    try:
        for index in range(8):
            harness.submit(f"b{index}", chat_of(index), BROADCAST)
        await harness.settle()
        assert harness.ran == [], "nothing goes before the shared budget granted it"
        assert budget.leases == [(OVERALL_KEY, BLOCK, False)]
        budget.answers.put_nowait(granted(BLOCK))
        await harness.until(lambda: len(harness.ran) == BLOCK, "the leased block")
        await harness.settle()
        assert harness.ran == [f"b{index}" for index in range(BLOCK)]
        assert budget.leases == [(OVERALL_KEY, BLOCK, False), (OVERALL_KEY, 3, False)]
        assert budget.chats == [chat_of(index) for index in range(8)]
    finally:
        await harness.close()


async def test_shared_a_reply_leases_at_once_while_broadcast_is_denied() -> None:
    """The shared schedule is full of other instances' broadcast: this instance's
    broadcast waits, but a reply asks for its own instant at once and is granted."""
    budget = StubBudget()
    harness = Harness(PriorityRateLimiter(30, shared=budget))
    try:
        harness.submit("b0", chat_of(0), BROADCAST)
        harness.submit("b1", chat_of(1), BROADCAST)
        await harness.settle()
        budget.answers.put_nowait(Denied(retry_in=60.0))
        await harness.settle()
        assert budget.leases == [(OVERALL_KEY, 2, False)]
        harness.submit("reply", chat_of(9))
        await harness.until(lambda: len(budget.leases) == 2, "the reply's lease")
        assert budget.leases[-1] == (OVERALL_KEY, 1, True), "only the reply, as interactive"
        budget.answers.put_nowait(granted(1))
        await harness.until(lambda: harness.ran == ["reply"], "the reply")
        await harness.settle()
        assert harness.limiter.waiting(BROADCAST) == 2
    finally:
        await harness.close()


async def test_shared_budget_unreachable_falls_back_to_a_local_share() -> None:
    budget = StubBudget()
    harness = Harness(PriorityRateLimiter(1000, shared=budget))
    try:
        harness.submit("b0", chat_of(0), BROADCAST)
        await harness.settle()
        budget.answers.put_nowait(None)  # the database failed
        await harness.until(lambda: harness.ran == ["b0"], "the send at the local share")
    finally:
        await harness.close()


async def test_shared_retry_after_pauses_every_instance() -> None:
    budget = StubBudget()
    limiter = PriorityRateLimiter(30, shared=budget)
    harness = Harness(limiter)
    calls = 0

    async def flooded_once() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryAfter(timedelta(seconds=0.01))
        return True

    try:
        budget.answers.put_nowait(granted(1))
        task = harness.submit("flooded", chat_of(1), callback=flooded_once)
        await harness.until(lambda: calls == 1, "the first attempt")
        await harness.until(lambda: len(budget.paused) == 2, "the shared pause")
        assert [key for key, _ in budget.paused] == [OVERALL_KEY, PAID_KEY]
        assert all(seconds >= 0.01 for _, seconds in budget.paused)
        budget.answers.put_nowait(granted(1))  # the retry needs a new instant
        assert await asyncio.wait_for(task, 5) is True
    finally:
        await harness.close()
