"""Webhook updates are never lost, end to end: the real Application behind its own aiohttp
server, the fake Bot API posting updates to it as Telegram does (retrying until 2xx).

- the secret token is checked from the header alone: before the body is read, and header
  bytes that are not UTF-8 are a 403, not a 500;
- a POST still claiming its update when stopping begins is queued before PTB's stop
  signal and handled, not dropped after a 200;
- an update cut short at the shutdown limit is released and answered 503, so Telegram's
  next delivery (here: to the restarted bot) handles it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, text

from bot.storage.database import create_engine
from bot.storage.models import ProcessedUpdateRow
from tests.support.bot_harness import FakeClock, running_service, test_settings
from tests.support.bot_process import wait_until
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram
from tests.support.statement_gate import lock_waits

SECRET = "s3cr3t_Webhook-token"
WEBHOOK_URL = "https://bot.example.test/telegram/hook"
ADA = 1001


def webhook_settings(tg: FakeTelegram, database: TestDatabase) -> Any:
    return test_settings(
        tg.api_root,
        database.url,
        webhook_url=WEBHOOK_URL,
        webhook_secret=SECRET,
        http_listen="127.0.0.1:0",
    )


def help_update(tg: FakeTelegram, chat_id: int, update_id: int) -> dict[str, Any]:
    chat = tg.private_chat(chat_id, "Ada")
    chat.seen = True
    assert chat.user is not None
    message = tg.new_message(
        chat,
        chat.user,
        text="/help",
        entities=[{"type": "bot_command", "offset": 0, "length": 5}],
    )
    return {"update_id": update_id, "message": message}


def replies(tg: FakeTelegram, chat_id: int) -> list[str]:
    return [m.plain_text or "" for m in tg.sent(chat_id, method="sendMessage")]


async def raw_post(
    endpoint: str, head: dict[bytes, bytes], body: bytes, *, content_length: int | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send a POST's request line, headers (raw bytes) and ``body`` (maybe only part of
    what Content-Length announces), and leave the connection open."""
    url = urlsplit(endpoint)
    assert url.hostname is not None
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    lines = [f"POST {url.path} HTTP/1.1".encode(), f"Host: {url.netloc}".encode()]
    lines.append(b"Content-Type: application/json")
    lines.append(b"Content-Length: %d" % (len(body) if content_length is None else content_length))
    lines += [name + b": " + value for name, value in head.items()]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader) -> int:
    """The status code of the response (the test fails if none comes)."""
    async with asyncio.timeout(10):
        line = await reader.readline()
    return int(line.split()[1])


async def test_a_secret_header_that_is_not_utf8_gets_403(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_service(webhook_settings(tg, database), clock) as bot:
        endpoint = f"{bot.http_root}/telegram/hook"
        body = json.dumps(help_update(tg, ADA, 900_000_001)).encode()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            reader, writer = await raw_post(
                endpoint, {b"X-Telegram-Bot-Api-Secret-Token": b"\xff\xfe\x80abc"}, body
            )
            try:
                assert await status_of(reader) == 403
            finally:
                writer.close()
                await writer.wait_closed()
        assert any("without the right secret" in r.getMessage() for r in caplog.records)
        assert all(r.exc_info is None for r in caplog.records)
        assert replies(tg, ADA) == []


async def test_the_secret_is_checked_before_the_body_is_read(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    async with running_service(webhook_settings(tg, database), clock) as bot:
        endpoint = f"{bot.http_root}/telegram/hook"
        # A forged POST announcing a 1 MiB body and sending only its first bytes: the
        # answer must come without waiting for the rest (which never comes).
        reader, writer = await raw_post(
            endpoint,
            {b"X-Telegram-Bot-Api-Secret-Token": b"wrong-secret"},
            b'{"update_id": 1, ',
            content_length=1024 * 1024,
        )
        try:
            assert await status_of(reader) == 403
        finally:
            writer.close()
            await writer.wait_closed()


async def test_a_post_claiming_when_stopping_begins_is_handled_not_dropped(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    """PTB drops what is queued after its stop signal; the webhook had said 200."""
    if database.backend != "postgresql":
        pytest.skip("holds the claim with a PostgreSQL table lock")
    async with running_service(webhook_settings(tg, database), clock) as bot:
        endpoint = f"{bot.http_root}/telegram/hook"
        update = help_update(tg, ADA, 900_000_010)
        # Another transaction locks the claims table and does not commit yet: the bot's
        # claim waits on the lock, between "accepting updates?" and the queue.
        blocker = create_engine(database.url)
        try:
            async with blocker.connect() as connection:
                transaction = await connection.begin()
                await connection.execute(text("LOCK TABLE processed_updates IN EXCLUSIVE MODE"))
                post = asyncio.create_task(tg.post_update(endpoint, update, secret=SECRET))
                for _ in range(500):
                    if await lock_waits(database.url):
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise AssertionError("the bot's claim never waited for the row lock")
                stopping = asyncio.create_task(bot.service.stop())
                for _ in range(20):
                    await asyncio.sleep(0)
                assert bot.service.web is not None
                assert not bot.service.web.accepting_updates  # stopping has begun
                await transaction.rollback()  # the claim goes through now
            status = await post
            await stopping
        finally:
            await blocker.dispose()
    assert status == 200
    # Told 200, so the update must have been handled: its answer was sent.
    assert len(replies(tg, ADA)) == 1


async def test_an_update_cut_short_at_the_limit_is_released_and_handled_after_restart(
    tg: FakeTelegram,
    database: TestDatabase,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = webhook_settings(tg, database)
    held = tg.hold_call("sendMessage", chat_id=ADA)
    async with running_service(settings, clock) as bot:
        tg.webhook_endpoints = [f"{bot.http_root}/telegram/hook"]
        await tg.send_text(ADA, ADA, "/help")
        async with asyncio.timeout(10):
            await held.arrived.wait()  # handling: the reply is in flight, held
        [update_id] = [p.update_id for p in tg.webhook_posts] or [None]
        assert update_id is None  # the POST is not answered while the update is handled
        with caplog.at_level(logging.WARNING, logger="bot.service.lifecycle"):
            await bot.service.stop(limit=1.5)
        held.release()
    assert "shutdown limit: 1 update(s) not handled in time; released" in caplog.text
    # Telegram was told 503: the update is still queued there, and its claim is gone.
    assert tg.webhook_posts[0].status == 503
    assert tg.pending_updates == 1
    engine = create_engine(database.url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(select(ProcessedUpdateRow))).all() == []
    finally:
        await engine.dispose()
    assert replies(tg, ADA) == []  # the held reply never reached Telegram

    # The next start (or another instance) gets Telegram's next delivery and handles it.
    async with running_service(settings, clock) as bot:
        tg.webhook_endpoints = [f"{bot.http_root}/telegram/hook"]
        await tg.wait_for(lambda: tg.pending_updates == 0, what="the update delivered")
        assert len(replies(tg, ADA)) == 1
        async with bot.services.sessions() as session:
            row = await session.scalar(select(ProcessedUpdateRow))
        assert row is not None
        assert row.done_at is not None


async def test_a_claim_is_renewed_while_its_update_is_handled(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    """Only a dead instance's claims look abandoned: a slow handling renews its claim, so
    Telegram's retry meanwhile is told to come back (503), not handled a second time."""
    settings = test_settings(
        tg.api_root,
        database.url,
        webhook_url=WEBHOOK_URL,
        webhook_secret=SECRET,
        http_listen="127.0.0.1:0",
        webhook_claim_timeout_seconds=0.3,
    )
    held = tg.hold_call("sendMessage", chat_id=ADA)
    async with running_service(settings, clock) as bot:
        endpoint = f"{bot.http_root}/telegram/hook"
        update = help_update(tg, ADA, 900_000_020)
        post = asyncio.create_task(tg.post_update(endpoint, update, secret=SECRET))
        async with asyncio.timeout(10):
            await held.arrived.wait()
        later = clock() + timedelta(minutes=5)  # far past the claim timeout
        clock.set(later)

        async def renewed() -> bool:
            async with bot.services.sessions() as session:
                return await session.scalar(select(ProcessedUpdateRow.claimed_at)) == later

        await wait_until(renewed, 10, "the claim renewed at the new time")
        assert await tg.post_update(endpoint, update, secret=SECRET) == 503
        held.release()
        assert await post == 200
        # Handled: any later delivery is acknowledged without handling it again.
        assert await tg.post_update(endpoint, update, secret=SECRET) == 200
    assert len(replies(tg, ADA)) == 1
