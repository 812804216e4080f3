"""The real bot as a separate process (``python -m bot run``), for shutdown and scale-out tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time
from pathlib import Path
from typing import BinaryIO

import aiohttp
from sqlalchemy import func, select, update

from bot.domain.chats import ChatSettings
from bot.domain.schedule import Schedule
from bot.storage import chats as chat_store
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import ChatRow, DeliveryRow, PersonRow
from tests.support.bot_token import TOKEN
from tests.support.fake_telegram import FakeTelegram


def zone_near_noon(now: datetime) -> str:
    """A fixed-offset zone where it is around noon now, so the local day cannot roll over."""
    offset = (12 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def subscribe_chats(
    url: str, chat_ids: range, *, now: datetime, zone: str, due_at: datetime | None
) -> None:
    """Private chats subscribed at 00:00 local (a zone near noon), due at ``due_at``.

    Rows are added in bulk: thousands of chats one upsert at a time would make the
    test's set-up slower than what it tests.
    """
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    schedule = Schedule(local_time=time(0, 0), timezone=zone, days=frozenset(range(7)))
    try:
        async with sessions() as session, session.begin():
            session.add_all(
                PersonRow(id=chat_id, first_name="P", timezone=zone, created_at=now)
                for chat_id in chat_ids
            )
            await session.flush()
            for chat_id in chat_ids:
                row = ChatRow(id=chat_id, created_at=now)
                settings = ChatSettings(
                    chat_id=chat_id,
                    kind="private",
                    schedule=schedule,
                    decks=("ml", "nlp"),
                    next_due_at=due_at,
                )
                chat_store.apply_settings(row, settings, now=now)
                session.add(row)
    finally:
        await engine.dispose()


async def make_due(url: str, chat_ids: range, due_at: datetime) -> None:
    """Make the chats due at ``due_at`` (all at once, in one statement)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(ChatRow)
                .where(ChatRow.id.between(chat_ids.start, chat_ids.stop - 1))
                .values(next_due_at=due_at)
            )
    finally:
        await engine.dispose()


async def delivery_counts(url: str) -> dict[str, int]:
    """Deliveries by status."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
            )
            return {status: int(count) for status, count in rows}
    finally:
        await engine.dispose()


async def start_bot(
    tg: FakeTelegram, url: str, content: Path, log: BinaryIO, **extra: str
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": tg.api_root,
        "DATABASE_URL": url,
        "CONTENT_DIR": str(content),
        "SEND_RATE_LIMIT": "0",
        "DISPATCH_INTERVAL_SECONDS": "0.2",
        "LOG_LEVEL": "INFO",
        **extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=content.parent,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )


async def wait_healthy(root: str, process: asyncio.subprocess.Process, limit: float = 60) -> None:
    """Wait until the process answers 200 on /healthz (or fail if it exited)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    async with aiohttp.ClientSession() as http:
        while True:
            if process.returncode is not None:
                raise AssertionError(f"the bot exited with {process.returncode}")
            try:
                async with http.get(f"{root}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if loop.time() > deadline:
                raise AssertionError(f"{root} never became healthy")
            await asyncio.sleep(0.1)


async def wait_until(predicate: Callable[[], Awaitable[bool]], limit: float, what: str) -> None:
    """Poll an async predicate until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def stop_processes(
    processes: Sequence[asyncio.subprocess.Process], logs: Sequence[BinaryIO]
) -> None:
    """SIGTERM every bot process still running (as docker stop does), wait for all of
    them, and close their log files."""
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        await process.wait()
    for handle in logs:
        handle.close()
