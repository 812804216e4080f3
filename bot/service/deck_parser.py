"""Reading uploaded deck files in a worker process, one file at a time, a bounded queue.

A 2,000-question deck costs seconds of CPU (BENCHMARKS.md). In a thread of the bot's
process that time holds the GIL against the event loop, and every other person's reply
waits; in a process of its own it does not. The pool is one ``ProcessPoolExecutor``
(``DECK_PARSE_WORKERS`` processes, 1 by default; 0 reads in a thread of the bot's
process instead, for tests and tiny installs), made on the first file and shut down
in post_shutdown (bot/app.py). Its processes start with ``spawn``: a fresh interpreter,
never a fork of this threaded process.

A bot that is killed (SIGKILL, the OOM killer) cannot shut its pool down; each worker
then ends itself within ``WATCH_SECONDS`` (``_end_with_the_bot``), rather than waiting
for work forever beside its resource tracker.

A worker that dies (killed for memory, a crash in a C extension) breaks the whole pool
(``BrokenProcessPool``): every file it held gets ``None`` here, the handler answers in
one line, this logs one line, and the next file gets a new pool.

The queue is bounded: one file per person at a time (their private chat and a group
could each send one), and at most ``MAX_WAITING`` files in all (each is up to 10 MB in
memory until read).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from bot.content.imports import DeckUpload

log = logging.getLogger(__name__)

START_METHOD = "spawn"
MAX_WAITING = 8
"""Files downloaded and waiting to be read (or being read), all people together."""
CLOSE_SECONDS = 10.0
"""How long post_shutdown waits for a file being read before stopping the worker."""
WATCH_SECONDS = 1.0
"""How often a worker checks that the bot that started it is still there."""

R = TypeVar("R")


class Busy(Enum):
    YOURS = "yours"  # this person's previous file is still being read
    FULL = "full"  # MAX_WAITING files are waiting


class DeckParser:
    """The bot's deck readers: ``workers`` processes (0: one thread of this process)."""

    def __init__(self, workers: int = 0, *, max_waiting: int = MAX_WAITING) -> None:
        self.workers = workers
        self.max_waiting = max_waiting
        self.executor: Executor | None = None
        """Made on the first file (None before, and after ``close``); a new one after a
        worker died."""
        self._reading: set[int] = set()
        self.in_flight = 0
        """Calls handed to the pool and not finished (queued in it, or running)."""

    @property
    def reading(self) -> frozenset[int]:
        """The people whose file is waiting or being read."""
        return frozenset(self._reading)

    @contextlib.contextmanager
    def turn(self, person_id: int) -> Iterator[Busy | None]:
        """A place in the queue for one file of ``person_id``: yields None while it is
        held (download and read the file then), or why there is none."""
        if person_id in self._reading:
            yield Busy.YOURS
            return
        if len(self._reading) >= self.max_waiting:
            yield Busy.FULL
            return
        self._reading.add(person_id)
        try:
            yield None
        finally:
            self._reading.discard(person_id)

    async def parse(self, file_name: str, data: bytes, *, title: str | None) -> DeckUpload | None:
        """``parse_deck_upload`` in the pool; None: the worker died (logged once)."""
        from bot.content.imports import parse_deck_upload

        try:
            return await self.call(parse_deck_upload, file_name, data, title=title)
        except BrokenProcessPool:
            return None

    async def call(self, function: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run ``function`` (picklable, as its arguments and result) in the pool.

        Raises ``BrokenProcessPool`` if the worker died; the pool is then replaced.
        """
        executor = self._executor()
        task = functools.partial(function, *args, **kwargs)
        self.in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, task)
        except BrokenProcessPool:
            self._replace(executor)
            raise
        finally:
            self.in_flight -= 1

    def _executor(self) -> Executor:
        if self.executor is None:
            if self.workers == 0:
                self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deck-parse")
            else:
                self.executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context(START_METHOD),
                    initializer=_end_with_the_bot,
                    initargs=(os.getpid(),),
                )
        return self.executor

    def _replace(self, broken: Executor) -> None:
        """Drop a broken pool (once, however many files it failed): the next file
        starts a new one."""
        if self.executor is not broken:
            return
        self.executor = None
        log.error("a deck reader process died; nothing was imported, the next file gets a new one")
        broken.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        """Stop the pool (post_shutdown): waits for a file being read, at most
        ``CLOSE_SECONDS``, then stops the workers."""
        executor, self.executor = self.executor, None
        if executor is None:
            return
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        except TimeoutError:
            log.warning("shutdown: a deck file was still being read; its reader was stopped")
            processes = getattr(executor, "_processes", None) or {}
            for process in list(processes.values()):
                process.kill()


def _end_with_the_bot(bot_pid: int) -> None:
    """Each worker's initializer: a daemon thread ends the worker once the bot that
    started it is gone (the worker's parent changes when the bot dies).

    A bot stopped in any ordinary way shuts its pool down (``close``); a killed one
    cannot, and its worker, and the resource tracker beside it, stayed alive with
    nothing to do (seen after every test run that SIGKILLs the real bot). Polling the
    parent is portable; Linux's ``PR_SET_PDEATHSIG`` follows the thread that started the
    worker, not the process."""

    def watch() -> None:
        while os.getppid() == bot_pid:
            time.sleep(WATCH_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-the-bot", daemon=True).start()
