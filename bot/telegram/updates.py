"""Updates of different chats concurrently, updates of one chat in arrival order.

With ``concurrent_updates(False)`` one slow reply (a long answer split in parts,
a database round trip) holds up every other chat. PTB's ``SimpleUpdateProcessor``
runs updates concurrently but in any order, so a quick "Show answer" then "Good"
could be handled grade-first. This processor chains the updates of each chat
(the chat of the update, else its user): an update starts when the previous one
of its chat has finished, and at most ``max_running`` updates run at once.

PTB calls ``do_process_update`` inside its own semaphore; if that semaphore were
the running bound, updates waiting for their chat's turn would hold its slots
and starve other chats. So PTB's bound is set high (how many updates may be
admitted at once) and the running bound is applied here, after the chat's turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

DEFAULT_MAX_RUNNING = 64
MAX_ADMITTED = 4096

# The update kinds the handlers in bot/app.py use. Long polling (bot/service/lifecycle.py) and
# setWebhook both ask Telegram for exactly these, so the two modes see the same updates.
# Edited messages are asked for only to say, once, that edits are not re-read.
ALLOWED_UPDATES: list[str] = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
]


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats (at most ``max_running``), sequential within a chat."""

    def __init__(self, max_running: int = DEFAULT_MAX_RUNNING) -> None:
        super().__init__(max_concurrent_updates=MAX_ADMITTED)
        if max_running < 1:
            raise ValueError("max_running must be a positive integer")
        self.max_running = max_running
        self._running = asyncio.Semaphore(max_running)
        self._tails: dict[int, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _order_key(update)
        if key is None:
            await self._run(coroutine)
            return
        # Registered before the first await, so the chain follows arrival order.
        previous = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        try:
            if previous is not None:
                try:
                    await asyncio.shield(previous)
                except BaseException:
                    _close(coroutine)  # cancelled while waiting: it will never run
                    raise
            await self._run(coroutine)
        finally:
            if previous is not None and not previous.done():
                # Cancelled while waiting: the next update must still wait for the
                # one running now, so this link resolves only when that one does.
                previous.add_done_callback(lambda _: self._release(key, mine))
            else:
                self._release(key, mine)

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        """Run the update once a running slot is free."""
        try:
            await self._running.acquire()
        except BaseException:
            _close(coroutine)  # cancelled while waiting for a slot: it will never run
            raise
        try:
            await coroutine
        finally:
            self._running.release()

    def _release(self, key: int, mine: asyncio.Future[None]) -> None:
        """Let the chat's next update go, and forget the chain when it is the last."""
        if not mine.done():
            mine.set_result(None)
        if self._tails.get(key) is mine:
            del self._tails[key]

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close: PTB waits for the running updates itself."""

    @property
    def chains(self) -> int:
        """How many chats have an update running or waiting (for tests and metrics)."""
        return len(self._tails)


def _close(coroutine: Awaitable[Any]) -> None:
    """Close a coroutine that will not be awaited (no "never awaited" warning)."""
    close = getattr(coroutine, "close", None)
    if callable(close):
        close()


def _order_key(update: object) -> int | None:
    """The chat an update belongs to, else its sender; None for neither (polls...)."""
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    return user.id if user is not None else None
