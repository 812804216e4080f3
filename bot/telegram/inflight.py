"""Updates being handled: telling a waiter when one ends, and cutting them short at the limit.

The webhook answers Telegram only once its update was handled (bot/service/web.py), so it
must learn when PTB has finished with that very update; and a shutdown that runs out
of time must stop the handling still going on, cleanly, and say how much it was.
Both belong where PTB hands an update to its processor, so this wraps the processor
(``ApplicationBuilder().concurrent_updates(InFlightUpdates(inner))``); the inner one
keeps deciding order and concurrency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram.ext import BaseUpdateProcessor

# PTB holds an update at the outermost processor's semaphore before this one sees it;
# an update cancelled there would never be known here. Admission is the inner
# processor's business, so the outer gate is never the one that closes.
_NO_GATE = 1 << 30


class InFlightUpdates(BaseUpdateProcessor):
    """Wraps the update processor: completion futures for waiters, cancellation at shutdown."""

    def __init__(self, inner: BaseUpdateProcessor) -> None:
        super().__init__(_NO_GATE)
        self._inner = inner
        # Keyed by the identity of the Update object the waiter put on the queue (the
        # same object reaches the processor); the object is kept so the id stays valid.
        self._waiters: dict[int, tuple[object, asyncio.Future[None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def expect(self, update: object) -> asyncio.Future[None]:
        """A future for ``update``'s handling; call it before putting the update on the queue.

        It gets a result when the handling ended (however the handlers fared: their
        errors went to the error handler), and is cancelled if the handling was cut short.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[id(update)] = (update, future)
        return future

    def forget(self, update: object) -> None:
        """The update will not reach the queue after all: drop its future."""
        self._waiters.pop(id(update), None)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        waiter = self._waiters.pop(id(update), (None, None))[1]
        try:
            await self._inner.process_update(update, coroutine)
        except asyncio.CancelledError:
            if waiter is not None:
                waiter.cancel()
            raise
        finally:
            if task is not None:
                self._tasks.discard(task)
            # Cut short before it ever ran (waiting for its chat's turn or a slot): close
            # it, or Python warns that ``process_update`` was never awaited.
            _close(coroutine)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    @property
    def running(self) -> int:
        """Updates handed to the processor and not finished (running or waiting their turn)."""
        return len(self._tasks)

    def cancel_all(self) -> int:
        """Cut short every update still being handled, and give up on any a waiter
        expects that never reached the processor; returns how many."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        return len(tasks) + self.cancel_waiters()

    def cancel_waiters(self) -> int:
        """Cancel the futures of updates that never reached the processor (PTB drops
        what is queued after its stop signal); returns how many."""
        waiters, self._waiters = self._waiters, {}
        for _, future in waiters.values():
            future.cancel()
        return len(waiters)

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()


def _close(coroutine: Awaitable[Any]) -> None:
    """Close a coroutine (nothing happens to one that already ran)."""
    close = getattr(coroutine, "close", None)
    if callable(close):
        close()
