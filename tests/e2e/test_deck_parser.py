"""Deck files are read off the event loop, in a worker process (bot/service/deck_parser.py),
end to end: the upload still works with the process pool (an Anki package's deck comes back
across the process boundary), a worker that dies mid-queue gives a one-line answer, one log
line and a new pool for the next file, a person's second file while the first is read
is answered at once, and a killed bot's worker ends too.

Jobs held in the pool (tests/support/worker_jobs.py) are released over a loopback socket:
the interleavings are forced, never waited for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from bot.rendering import decks_texts
from bot.storage.models import DeckUploadRow
from tests.content.imports.anki_packages import current_package
from tests.e2e.test_group_decks import file_in_group, join
from tests.e2e.test_own_decks import ADA, CSV_V1, count, said, start, stored_decks, upload
from tests.support.bot_harness import (
    FakeClock,
    RunningBot,
    running_bot,
    small_bank,
    test_settings,
    write_bank,
)
from tests.support.bot_process import start_bot, wait_until
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import DOWNLOAD, FakeTelegram
from tests.support.worker_jobs import held, held_then_die


class Gate:
    """A loopback port a held job connects to; ``release`` lets it go on."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Gate:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.connected.set()

    async def entered(self) -> None:
        """Wait until the job runs (it connected)."""
        async with asyncio.timeout(30):
            await self.connected.wait()

    async def release(self) -> None:
        await self.entered()
        assert self._writer is not None
        self._writer.write(b"x")
        await self._writer.drain()

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def pooled(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    """The bot with its deck reader process (the default: DECK_PARSE_WORKERS=1)."""
    settings = test_settings(tg.api_root, database.url, deck_parse_workers=1)
    async with running_bot(settings, clock) as running:
        yield running


async def test_files_are_read_in_a_worker_process(tg: FakeTelegram, pooled: RunningBot) -> None:
    parser = pooled.services.deck_parser
    await start(tg)
    assert parser.executor is None, "the pool starts with the first file"
    reply = await upload(tg, current_package(), "geo.apkg", "Imported")
    assert "3 questions" in (reply.plain_text or "")
    assert "2 media files were dropped" in (reply.plain_text or "")
    reply = await upload(tg, CSV_V1, "ml basics.csv", "Imported")
    assert "ml basics: 3 questions" in (reply.plain_text or "")
    assert [deck.question_count for deck in await stored_decks(pooled.services.sessions)] == [3, 3]
    # The files went through a process pool, whose worker is another process.
    assert isinstance(parser.executor, ProcessPoolExecutor)
    assert await parser.call(os.getpid) != os.getpid()


async def test_a_dead_worker_gets_one_line_and_the_next_file_a_new_pool(
    tg: FakeTelegram, pooled: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    parser = pooled.services.deck_parser
    await start(tg)
    caplog.set_level(logging.INFO, logger="bot.service.deck_parser")
    async with Gate() as gate:
        # A job holds the worker; Ada's file is queued behind it; then the worker dies.
        job = asyncio.ensure_future(parser.call(held_then_die, gate.port))
        await gate.entered()
        broken = parser.executor
        sent = len(tg.sent(ADA))
        await tg.send_document(ADA, ADA, CSV_V1, "mine.csv")
        await tg.wait_for(lambda: parser.in_flight == 2, what="the file queued in the pool")
        await gate.release()
        with pytest.raises(BrokenProcessPool):
            await job
        reply = await said(tg, sent, "Something went wrong while I was reading")
    assert reply.plain_text == decks_texts.READER_FAILED
    assert await stored_decks(pooled.services.sessions) == []
    lines = [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == "bot.service.deck_parser"
    ]
    assert lines == [
        ("ERROR", "a deck reader process died; nothing was imported, the next file gets a new one")
    ]
    assert parser.executor is None
    assert parser.reading == frozenset()

    # The next file starts a new pool and is imported.
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    assert isinstance(parser.executor, ProcessPoolExecutor)
    assert parser.executor is not broken
    assert len(await stored_decks(pooled.services.sessions)) == 1
    # The failed file counted against the hourly limit, as a refused one does.
    assert await count(pooled.services.sessions, DeckUploadRow) == 2


async def test_a_second_file_while_the_first_is_read_is_answered_at_once(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """One file per person at a time: Ada's file in the group while her private one waits
    (in a thread here, DECK_PARSE_WORKERS=0: the queue is the same)."""
    parser = bot.services.deck_parser
    await start(tg)
    await join(tg)
    async with Gate() as gate:
        job = asyncio.ensure_future(parser.call(held, gate.port))
        await gate.entered()
        sent = len(tg.sent(ADA))
        await tg.send_document(ADA, ADA, CSV_V1, "mine.csv")
        await tg.wait_for(lambda: parser.in_flight == 2, what="the private file queued")
        assert parser.reading == {ADA}
        busy = await file_in_group(
            tg, ADA, CSV_V1, "group.csv", "/decks", "still reading your previous deck file"
        )
        assert busy.plain_text == decks_texts.STILL_READING
        assert len(tg.calls(DOWNLOAD)) == 1, "the second file was not downloaded"
        await gate.release()
        assert await job == os.getpid()
        await said(tg, sent, "Imported")
    assert [deck.title for deck in await stored_decks(bot.services.sessions)] == ["mine"]
    # Only the file that was read counts against the hourly limit.
    assert await count(bot.services.sessions, DeckUploadRow) == 1
    assert parser.reading == frozenset()


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [state, ppid, ...]; None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their command lines."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and int(fields[1]) == pid:
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            found[int(entry.name)] = command.replace(b"\0", b" ").decode(errors="replace")
    return found


def _running(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"  # a zombie has ended, unreaped


@pytest.mark.skipif(sys.platform != "linux", reason="reads the process table from /proc")
async def test_a_killed_bots_worker_ends_too(
    tg: FakeTelegram, database: TestDatabase, tmp_path: Path
) -> None:
    """The real bot (``python -m bot run``, one worker by default) reads a file, so its
    pool has a worker; then the bot is SIGKILLed and cannot shut the pool down. Its
    children (the worker and the resource tracker) end by themselves; before, both stayed
    alive with nothing to do."""
    content = write_bank(small_bank(), tmp_path / "content")
    with (tmp_path / "bot.log").open("ab") as log:
        bot = await start_bot(tg, database.url, content, log)
        try:
            # getMe (start-up) rather than getUpdates, which is recorded when its long
            # poll ends: the updates below wait in the fake until the bot polls.
            await tg.wait_for(lambda: bool(tg.calls("getMe")), 60, what="the bot starting")
            await start(tg)
            await upload(tg, CSV_V1, "ml basics.csv", "Imported")
            children = _children(bot.pid)
        finally:
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
    assert any("spawn_main" in command for command in children.values()), children

    async def all_ended() -> bool:
        return not any(_running(child) for child in children)

    await wait_until(all_ended, 30, f"the killed bot's children {sorted(children)} to end")
