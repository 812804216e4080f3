"""Updates survive a crash and a shutdown at its limit: real ``python -m bot run`` processes.

- kill -9 after an update was claimed and before it was handled: Telegram's retry goes to
  the other instance, which takes the abandoned claim over once it is older than the
  claim timeout and handles the update, once;
- SIGTERM after a burst, with more in flight than can finish within the limit: the
  process exits within it with nothing left unawaited or unclosed, says how many updates
  it cut short, and (webhook) the next start handles them, since Telegram was told 503;
  (long polling) they cannot be given back, and the log says how many were dropped.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.storage.database import create_engine
from bot.storage.models import ProcessedUpdateRow
from tests.support.bot_harness import TOKEN, small_bank, write_bank
from tests.support.bot_process import free_port, start_bot, wait_healthy
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

SECRET = "recovery_webhook-secret"
WEBHOOK_URL = "https://bot.example.test/tg"
ADA = 4001
EXIT_WITHIN_SECONDS = 10.0
_CUT = re.compile(r"shutdown limit: (\d+) update\(s\) not handled in time; (\w+)")
# What a shutdown that left work behind prints at exit.
_LEFT_BEHIND = (
    "never awaited",
    "Unclosed client session",
    "Unclosed connector",
    "Task was destroyed but it is pending",
    "Traceback",
    "shutdown took longer",
)


def webhook_env(port: int, **extra: str) -> dict[str, str]:
    return {
        "WEBHOOK_URL": WEBHOOK_URL,
        "WEBHOOK_SECRET": SECRET,
        "HTTP_LISTEN": f"127.0.0.1:{port}",
        **extra,
    }


def replies_by_chat(tg: FakeTelegram) -> dict[int, int]:
    counts: dict[int, int] = {}
    for message in tg.sent(method="sendMessage"):
        counts[message.chat_id] = counts.get(message.chat_id, 0) + 1
    return counts


async def claims(url: str) -> list[tuple[int, bool]]:
    """(update_id, done) of every claim."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(ProcessedUpdateRow.update_id, ProcessedUpdateRow.done_at)
            )
            return [(update_id, done_at is not None) for update_id, done_at in rows]
    finally:
        await engine.dispose()


async def claimed_ids(url: str) -> list[int]:
    """The update_ids claimed (a plain query: it reads any version of the table)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list(await connection.scalars(text("SELECT update_id FROM processed_updates")))
    finally:
        await engine.dispose()


async def stop(process: asyncio.subprocess.Process) -> float:
    """SIGTERM; how long the process took to exit (the test fails beyond the limit)."""
    loop = asyncio.get_running_loop()
    signalled = loop.time()
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(EXIT_WITHIN_SECONDS):
        await process.wait()
    return loop.time() - signalled


async def test_kill_9_after_the_claim_then_telegrams_retry_is_handled_by_the_other_instance(
    database: TestDatabase, tmp_path: Path
) -> None:
    if database.backend != "postgresql":
        pytest.skip("several instances need PostgreSQL (SQLite is for one process)")
    content = write_bank(small_bank(), tmp_path / "content")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    ports = [free_port(), free_port()]
    endpoints = [f"http://127.0.0.1:{port}/tg" for port in ports]
    async with FakeTelegram(token=TOKEN) as tg:
        handles = [log.open("ab") for log in logs]
        processes = []
        try:
            for port, handle in zip(ports, handles, strict=True):
                env = webhook_env(port, WEBHOOK_CLAIM_TIMEOUT_SECONDS="1")
                processes.append(await start_bot(tg, database.url, content, handle, **env))
            for port, process in zip(ports, processes, strict=True):
                await wait_healthy(f"http://127.0.0.1:{port}", process)
            first, second = processes
            # A's reply is held at the Bot API: A claimed the update and is handling it.
            held = tg.hold_call("sendMessage", chat_id=ADA)
            tg.webhook_endpoints = [endpoints[0]]
            await tg.send_text(ADA, ADA, "/help")
            async with asyncio.timeout(30):
                await held.arrived.wait()
            [update_id] = await claimed_ids(database.url)
            first.kill()  # SIGKILL: no shutdown, no release
            await first.wait()
            held.release()  # A's request ends unprocessed: A is gone
            # Telegram got no answer, so it posts the update again: now to B.
            tg.webhook_endpoints = [endpoints[1]]
            await tg.wait_for(
                lambda: tg.pending_updates == 0, timeout=30, what="the update delivered"
            )
            assert replies_by_chat(tg) == {ADA: 1}
            assert await claims(database.url) == [(update_id, True)]
            await stop(second)
        finally:
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            for handle in handles:
                handle.close()
    output = logs[1].read_text(encoding="utf-8")
    assert f"update {update_id} was claimed but not handled in time; taking it over" in output
    assert "Traceback" not in output


async def test_sigterm_with_more_in_flight_than_fits_the_limit_releases_webhook_updates(
    database: TestDatabase, tmp_path: Path
) -> None:
    chats = range(30_000, 30_300)
    content = write_bank(small_bank(), tmp_path / "content")
    log_path = tmp_path / "bot.log"
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/tg"
    with log_path.open("ab") as log:
        async with FakeTelegram(token=TOKEN) as tg:
            # Two replies a second: the 40 updates Telegram has in flight at once cannot
            # all be answered within the shutdown limit.
            env = webhook_env(port, SEND_RATE_LIMIT="2")
            process = await start_bot(tg, database.url, content, log, **env)
            try:
                await wait_healthy(f"http://127.0.0.1:{port}", process)
                tg.webhook_endpoints = [endpoint]
                for chat_id in chats:
                    await tg.send_text(chat_id, chat_id, "/help")
                await tg.wait_for(
                    lambda: len(tg.sent_messages()) >= 3, timeout=30, what="the first replies"
                )
                await stop(process)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            assert process.returncode == 0
            output = log_path.read_text(encoding="utf-8")
            for left in _LEFT_BEHIND:
                assert left not in output, left
            before = replies_by_chat(tg)

            # The next start gets Telegram's next deliveries: every chat answered.
            restarted = await start_bot(tg, database.url, content, log, **webhook_env(port))
            try:
                await tg.wait_for(
                    lambda: tg.pending_updates == 0, timeout=60, what="every update delivered"
                )
                await tg.wait_for(lambda: len(replies_by_chat(tg)) == len(chats), timeout=30)
            finally:
                await stop(restarted)
    after = replies_by_chat(tg)
    assert set(after) == set(chats)
    # Nothing Telegram was told 200 for was left unhandled.
    assert all(done for _, done in await claims(database.url))
    [cut] = [(int(m.group(1)), m.group(2)) for m in _CUT.finditer(output)]
    assert cut[0] >= 1
    assert cut[1] == "released"
    # A cut-short update whose reply had already reached Telegram is answered twice;
    # with the replies waiting in the rate limiter, none had.
    doubled = [chat for chat, count in after.items() if count > 1]
    assert len(doubled) <= cut[0]
    assert all(before.get(chat, 0) <= 1 for chat in chats)


async def test_sigterm_after_a_polling_burst_exits_within_the_limit_leaving_nothing_behind(
    database: TestDatabase, tmp_path: Path
) -> None:
    chats = range(40_000, 41_500)
    content = write_bank(small_bank(), tmp_path / "content")
    log_path = tmp_path / "bot.log"
    with log_path.open("ab") as log:
        async with FakeTelegram(token=TOKEN) as tg:
            for chat_id in chats:
                await tg.send_text(chat_id, chat_id, "/help")
            # 1,500 updates at once, answered at Telegram's 30 messages a second: far
            # more than the shutdown limit can drain.
            process = await start_bot(tg, database.url, content, log, SEND_RATE_LIMIT="30")
            try:
                await tg.wait_for(
                    lambda: len(tg.sent_messages()) >= 30, timeout=60, what="the first replies"
                )
                await stop(process)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            still_at_telegram = tg.pending_updates
    assert process.returncode == 0
    output = log_path.read_text(encoding="utf-8")
    for left in _LEFT_BEHIND:
        assert left not in output, left
    [cut] = [(int(m.group(1)), m.group(2)) for m in _CUT.finditer(output)]
    assert cut[1] == "dropped"
    assert cut[0] >= 1
    # Every update is answered, counted as dropped, or still at Telegram for the next start.
    answered = len(tg.sent(method="sendMessage"))
    assert answered + cut[0] + still_at_telegram >= len(chats)
