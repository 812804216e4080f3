"""Two bot processes on one PostgreSQL database share one budget of Telegram's limits.

The fake Bot API enforces Telegram's flood limits (tests/support/flood_limits.py): more
than 30 messages in a second, or more than a burst of 3 at about one a second in a
private chat, is answered 429. Each process alone keeps within them; before the shared
budget, two processes sent twice the budget and got 429s. Here chats due at once are
served once each by both processes with no 429, and replies to one person posted
alternately to both processes are paced as one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.bot_harness import TOKEN, small_bank, write_bank
from tests.support.bot_process import (
    delivery_counts,
    free_port,
    make_due,
    start_bot,
    stop_processes,
    subscribe_chats,
    wait_healthy,
    wait_until,
    zone_near_noon,
)
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

CHATS = range(20_000, 20_400)  # more than two claims of 150: both processes send
PERSON = 3_100
REPLIES = 6
SECRET = "shared-budget-secret"
WEBHOOK_URL = "https://bot.example.test/tg"


async def test_two_instances_keep_one_budget(database: TestDatabase, tmp_path: Path) -> None:
    if database.backend != "postgresql":
        pytest.skip("several instances need PostgreSQL (SQLite is for one process)")
    now = datetime.now(UTC)
    await subscribe_chats(database.url, CHATS, now=now, zone=zone_near_noon(now), due_at=None)
    content = write_bank(small_bank(), tmp_path / "content")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]

    async with FakeTelegram(token=TOKEN) as tg:
        limits = tg.enforce_flood_limits()
        tg.latency = 0.002
        for chat_id in CHATS:
            tg.private_chat(chat_id, "P").seen = True
        ports = [free_port(), free_port()]
        roots = [f"http://127.0.0.1:{port}" for port in ports]
        processes = []
        handles = [log.open("ab") for log in logs]
        try:
            for port, handle in zip(ports, handles, strict=True):
                processes.append(
                    await start_bot(
                        tg,
                        database.url,
                        content,
                        handle,
                        SEND_RATE_LIMIT="30",
                        WEBHOOK_URL=WEBHOOK_URL,
                        WEBHOOK_SECRET=SECRET,
                        HTTP_LISTEN=f"127.0.0.1:{port}",
                    )
                )
            for root, process in zip(roots, processes, strict=True):
                await wait_healthy(root, process)

            # Replies to one person, the updates posted alternately to both processes.
            tg.webhook_endpoints = [f"{root}/tg" for root in roots]
            tg.private_chat(PERSON, "U")
            for _ in range(REPLIES):
                await tg.send_text(PERSON, PERSON, "/help")
            await tg.wait_for(
                lambda: len(tg.sent(PERSON)) >= REPLIES, timeout=30, what="every reply"
            )
            assert limits.rejected == 0, "the person's chat was paced across both processes"

            # Chats due in the same minute: more than a second's budget for either process.
            await make_due(database.url, CHATS, datetime.now(UTC))
            await tg.wait_for(
                lambda: sum(1 for m in tg.sent() if m.chat_id in CHATS) >= len(CHATS),
                timeout=60,
                what="every chat served",
            )

            async def all_recorded() -> bool:
                return await delivery_counts(database.url) == {"sent": len(CHATS)}

            await wait_until(all_recorded, 30, "every delivery recorded as sent")
        finally:
            await stop_processes(processes, handles)

    assert limits.rejected == 0, "no 429: both processes kept within one budget"
    assert [r.status for r in tg.requests if r.status == 429] == []
    per_chat: dict[int, int] = {}
    for message in tg.sent(method="sendMessage"):
        per_chat[message.chat_id] = per_chat.get(message.chat_id, 0) + 1
    assert {chat: per_chat.get(chat) for chat in CHATS} == dict.fromkeys(CHATS, 1)
    assert per_chat[PERSON] == REPLIES
    text = "".join(log.read_text(encoding="utf-8") for log in logs)
    assert "Traceback" not in text
    assert "shared send budget unavailable" not in text
    assert TOKEN not in text
    assert all(p.returncode == 0 for p in processes)
