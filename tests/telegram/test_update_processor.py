"""PerChatUpdateProcessor with real ``telegram.Update`` objects and coroutines held by events.

Each "handler" is a coroutine that records when it starts, waits for its own
event and records when it ends; the tests assert the sequence of those marks.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Chat, InlineQuery, Message, Update, User
from telegram.ext import BaseUpdateProcessor

from bot.telegram.inflight import InFlightUpdates
from bot.telegram.updates import PerChatUpdateProcessor

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ids = iter(range(1, 10_000))


def message_update(chat_id: int, user_id: int | None = None) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE if chat_id > 0 else Chat.GROUP)
    user = User(user_id or abs(chat_id), "Ada", is_bot=False)
    message = Message(next(_ids), NOW, chat, from_user=user, text="/help")
    return Update(next(_ids), message=message)


def poll_update() -> Update:
    """An update with neither a chat nor a user (like a poll's new state)."""
    update = Update(next(_ids))
    assert update.effective_chat is None
    assert update.effective_user is None
    return update


class Handlers:
    """Coroutines whose start and end are recorded and whose end each test controls."""

    def __init__(self) -> None:
        self.marks: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.coroutines: dict[str, Coroutine[Any, Any, None]] = {}

    def handler(self, name: str, *, held: bool = True) -> Coroutine[Any, Any, None]:
        event = self.release.setdefault(name, asyncio.Event())
        if not held:
            event.set()

        async def run() -> None:
            self.marks.append(f"{name}:start")
            await event.wait()
            self.marks.append(f"{name}:end")

        coroutine = run()
        self.coroutines[name] = coroutine
        return coroutine

    def started(self, name: str) -> bool:
        return f"{name}:start" in self.marks

    def ended(self, name: str) -> bool:
        return f"{name}:end" in self.marks


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.fixture
async def processor() -> Any:
    processor = PerChatUpdateProcessor(8)
    async with processor:
        yield processor


def submit(
    processor: BaseUpdateProcessor, update: Update, coroutine: Coroutine[Any, Any, None]
) -> asyncio.Task[None]:
    """What PTB's Application does with each fetched update."""
    return asyncio.create_task(processor.process_update(update, coroutine))


async def test_two_chats_run_concurrently(processor: PerChatUpdateProcessor) -> None:
    handlers = Handlers()
    a = submit(processor, message_update(1), handlers.handler("a"))
    b = submit(processor, message_update(2), handlers.handler("b"))
    await settle()
    assert handlers.started("a")
    assert handlers.started("b"), "chat 2 does not wait for chat 1"
    handlers.release["b"].set()
    await b
    assert handlers.marks == ["a:start", "b:start", "b:end"], "b finished while a is blocked"
    handlers.release["a"].set()
    await a


async def test_one_chats_updates_run_in_arrival_order(processor: PerChatUpdateProcessor) -> None:
    handlers = Handlers()
    tasks = [submit(processor, message_update(1), handlers.handler("first"))]
    tasks += [
        submit(processor, message_update(1), handlers.handler(name, held=False))
        for name in ("second", "third")
    ]
    await settle()
    assert handlers.marks == ["first:start"], "the others wait for the slow first one"
    handlers.release["first"].set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert handlers.marks == [
        "first:start",
        "first:end",
        "second:start",
        "second:end",
        "third:start",
        "third:end",
    ]
    assert processor.chains == 0


async def test_a_user_without_a_chat_is_ordered_by_user() -> None:
    """Inline queries and the like have a user and no chat: ordered per user."""
    processor = PerChatUpdateProcessor(8)
    handlers = Handlers()
    user = User(7, "Ada", is_bot=False)

    def inline() -> Update:
        return Update(next(_ids), inline_query=InlineQuery(str(next(_ids)), user, "q", ""))

    async with processor:
        first = submit(processor, inline(), handlers.handler("first"))
        second = submit(processor, inline(), handlers.handler("second", held=False))
        await settle()
        assert handlers.marks == ["first:start"]
        handlers.release["first"].set()
        await asyncio.wait_for(asyncio.gather(first, second), 5)
        assert handlers.marks == ["first:start", "first:end", "second:start", "second:end"]


async def test_the_running_bound_holds() -> None:
    processor = PerChatUpdateProcessor(2)
    handlers = Handlers()
    async with processor:
        a = submit(processor, message_update(1), handlers.handler("a"))
        b = submit(processor, message_update(2), handlers.handler("b"))
        c = submit(processor, message_update(3), handlers.handler("c", held=False))
        await settle()
        assert handlers.marks == ["a:start", "b:start"], "a third waits for a free slot"
        handlers.release["a"].set()
        await asyncio.wait_for(c, 5)
        assert handlers.marks == ["a:start", "b:start", "a:end", "c:start", "c:end"]
        handlers.release["b"].set()
        await asyncio.wait_for(asyncio.gather(a, b), 5)


async def test_updates_waiting_for_their_chat_do_not_take_running_slots() -> None:
    """Three updates of chat 1 queued with max_running=2: chat 2 still gets a slot."""
    processor = PerChatUpdateProcessor(2)
    handlers = Handlers()
    async with processor:
        tasks = [submit(processor, message_update(1), handlers.handler("a1"))]
        tasks += [
            submit(processor, message_update(1), handlers.handler(f"a{i}", held=False))
            for i in (2, 3)
        ]
        tasks.append(submit(processor, message_update(2), handlers.handler("b", held=False)))
        await settle()
        assert handlers.marks == ["a1:start", "b:start", "b:end"]
        handlers.release["a1"].set()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_an_update_without_chat_or_user_runs(processor: PerChatUpdateProcessor) -> None:
    handlers = Handlers()
    held = submit(processor, message_update(1), handlers.handler("chat"))
    poll = submit(processor, poll_update(), handlers.handler("poll", held=False))
    other_poll = submit(processor, poll_update(), handlers.handler("poll2", held=False))
    await asyncio.wait_for(asyncio.gather(poll, other_poll), 5)
    assert handlers.ended("poll")
    assert handlers.ended("poll2")
    assert processor.chains == 1
    handlers.release["chat"].set()
    await held
    assert processor.chains == 0


async def test_a_failing_update_does_not_break_its_chats_chain(
    processor: PerChatUpdateProcessor,
) -> None:
    handlers = Handlers()

    release = asyncio.Event()

    async def failing() -> None:
        handlers.marks.append("failing")
        await release.wait()
        raise RuntimeError("handler bug")

    first = submit(processor, message_update(1), failing())
    second = submit(processor, message_update(1), handlers.handler("second", held=False))
    await settle()
    assert handlers.marks == ["failing"]
    release.set()
    with pytest.raises(RuntimeError):
        await first
    await asyncio.wait_for(second, 5)
    assert handlers.marks == ["failing", "second:start", "second:end"]


async def test_cancelled_while_waiting_closes_the_coroutine(
    processor: PerChatUpdateProcessor,
) -> None:
    """The suite turns "coroutine was never awaited" into an error: it must be closed."""
    handlers = Handlers()
    first = submit(processor, message_update(1), handlers.handler("first"))
    waiting = submit(processor, message_update(1), handlers.handler("waiting"))
    await settle()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    coroutine = handlers.coroutines["waiting"]
    assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED
    assert not handlers.started("waiting")
    handlers.release["first"].set()
    await asyncio.wait_for(first, 5)
    assert handlers.marks == ["first:start", "first:end"]
    assert processor.chains == 0


async def test_a_cancelled_waiter_does_not_let_the_next_one_jump_the_queue(
    processor: PerChatUpdateProcessor,
) -> None:
    """first runs, second and third wait; cancelling second must not start third early."""
    handlers = Handlers()
    first = submit(processor, message_update(1), handlers.handler("first"))
    second = submit(processor, message_update(1), handlers.handler("second"))
    third = submit(processor, message_update(1), handlers.handler("third", held=False))
    await settle()
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    await settle()
    assert handlers.marks == ["first:start"], "third started while first was still running"
    handlers.release["first"].set()
    await asyncio.wait_for(asyncio.gather(first, third), 5)
    assert handlers.marks == ["first:start", "first:end", "third:start", "third:end"]


def test_max_running_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PerChatUpdateProcessor(0)


async def test_cancelled_while_waiting_for_a_running_slot_closes_the_coroutine() -> None:
    """The shutdown limit cancels updates waiting for a slot: they must not be left
    "never awaited" (a RuntimeWarning at exit)."""
    processor = PerChatUpdateProcessor(1)
    handlers = Handlers()
    async with processor:
        running = submit(processor, message_update(1), handlers.handler("running"))
        waiting = submit(processor, message_update(2), handlers.handler("waiting"))
        await settle()
        assert handlers.marks == ["running:start"]  # the one slot is taken
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert inspect.getcoroutinestate(handlers.coroutines["waiting"]) == inspect.CORO_CLOSED
        handlers.release["running"].set()
        await running


async def test_in_flight_updates_tell_waiters_and_cut_short_what_is_left() -> None:
    """InFlightUpdates: a future per update that ends with its handling, and cancel_all
    leaving no coroutine unawaited, whether it was running or had not started."""
    processor = InFlightUpdates(PerChatUpdateProcessor(1))
    handlers = Handlers()
    async with processor:
        quick, running, waiting = message_update(1), message_update(2), message_update(3)
        futures = [processor.expect(u) for u in (quick, running, waiting)]
        tasks = [
            submit(processor, quick, handlers.handler("quick", held=False)),
            submit(processor, running, handlers.handler("running")),
            submit(processor, waiting, handlers.handler("waiting")),
        ]
        await asyncio.wait_for(futures[0], 5)
        await settle()
        assert handlers.marks == ["quick:start", "quick:end", "running:start"]
        assert processor.running == 2
        # One more a waiter expects that never reaches the processor (dropped by PTB).
        never = processor.expect(message_update(4))
        assert processor.cancel_all() == 3
        await asyncio.gather(*tasks, return_exceptions=True)
        assert futures[1].cancelled()
        assert futures[2].cancelled()
        assert never.cancelled()
        assert processor.running == 0
        for name in ("running", "waiting"):
            assert inspect.getcoroutinestate(handlers.coroutines[name]) == inspect.CORO_CLOSED
