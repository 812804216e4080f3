"""Two bot processes in webhook mode on one PostgreSQL database, behind one "load balancer".

PostgreSQL is the only coordination point: the dispatchers share due chats with
``FOR UPDATE SKIP LOCKED``, and an update_id is claimed by one INSERT ... ON
CONFLICT DO NOTHING. 2,000 chats fall due at once; each must get exactly one
question, and both processes must have delivered part of them. Updates posted
alternately to both, and the same update posted to both, are processed once.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

CHATS = range(10_000, 12_000)
USERS = range(3_000, 3_012)
SECRET = "multi_instance-secret"
WEBHOOK_URL = "https://bot.example.test/tg"
_DISPATCH_LINE = re.compile(r"dispatch: (\d+) claimed, (\d+) sent")


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def _sent_by(records: list[dict[str, Any]]) -> int:
    return sum(
        int(match.group(2))
        for record in records
        if (match := _DISPATCH_LINE.search(str(record.get("message", ""))))
    )


async def test_two_instances_share_deliveries_and_updates(
    database: TestDatabase, tmp_path: Path
) -> None:
    if database.backend != "postgresql":
        pytest.skip("several instances need PostgreSQL (SQLite is for one process)")
    now = datetime.now(UTC)
    zone = zone_near_noon(now)
    await subscribe_chats(database.url, CHATS, now=now, zone=zone, due_at=None)
    content = write_bank(small_bank(), tmp_path / "content")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]

    async with FakeTelegram(token=TOKEN) as tg:
        tg.latency = 0.005  # a real Bot API takes time: both dispatchers get to claim
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
                        WEBHOOK_URL=WEBHOOK_URL,
                        WEBHOOK_SECRET=SECRET,
                        HTTP_LISTEN=f"127.0.0.1:{port}",
                        LOG_FORMAT="json",
                    )
                )
            for root, process in zip(roots, processes, strict=True):
                await wait_healthy(root, process)
            assert {c.params["url"] for c in tg.calls("setWebhook")} == {WEBHOOK_URL}

            # 2,000 chats due in the same minute.
            await make_due(database.url, CHATS, datetime.now(UTC))
            await tg.wait_for(
                lambda: len(tg.sent_messages()) >= len(CHATS),
                timeout=60,
                what="every chat served",
            )

            async def all_recorded() -> bool:
                return await delivery_counts(database.url) == {"sent": len(CHATS)}

            await wait_until(all_recorded, 30, "every delivery recorded as sent")

            # Updates from users, posted alternately to both instances (the load balancer).
            tg.webhook_endpoints = [f"{root}/tg" for root in roots]
            for user in USERS:
                tg.private_chat(user, "U")
                await tg.send_text(user, user, "/help")
            await tg.wait_for(
                lambda: all(len(tg.sent(user)) >= 1 for user in USERS),
                timeout=30,
                what="every user answered",
            )
            # The same update posted to both instances (a retry landing elsewhere): once.
            command = [{"type": "bot_command", "offset": 0, "length": 5}]
            repeated = tg.new_message(
                tg.chat(USERS[0]), tg.users[USERS[0]], text="/help", entities=command
            )
            twice = {"update_id": 9_000_001, "message": repeated}
            statuses = [await tg.post_update(f"{root}/tg", twice, secret=SECRET) for root in roots]
            assert statuses == [200, 200]
            await tg.wait_for(lambda: len(tg.sent(USERS[0])) >= 2, what="the reposted update")
        finally:
            await stop_processes(processes, handles)

    per_chat: dict[int, int] = {}
    for message in tg.sent(method="sendMessage"):
        if message.chat_id in CHATS:
            per_chat[message.chat_id] = per_chat.get(message.chat_id, 0) + 1
    assert per_chat == dict.fromkeys(CHATS, 1)
    # Every user's update was processed exactly once (the extra one for the first user
    # is the update posted to both instances, also handled once: the processes stopped
    # gracefully, so anything either had queued was handled before this count).
    assert {user: len(tg.sent(user)) for user in USERS} == {
        user: 2 if user == USERS[0] else 1 for user in USERS
    }
    # The load balancer alternated between both instances, and both answered.
    delivered = [p for p in tg.webhook_posts if p.status == 200]
    assert {p.endpoint for p in delivered} == {f"{root}/tg" for root in roots}

    records = [_json_lines(log) for log in logs]
    sent_by = [_sent_by(r) for r in records]
    assert sum(sent_by) == len(CHATS)
    assert all(count > 0 for count in sent_by), f"each instance sent a share: {sent_by}"
    for per_process in records:
        assert all({"time", "level", "logger", "message"} <= r.keys() for r in per_process)
    text = "".join(log.read_text(encoding="utf-8") for log in logs)
    assert TOKEN not in text
    assert SECRET not in text
    assert all(p.returncode == 0 for p in processes)
