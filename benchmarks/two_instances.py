"""Two bot processes on PostgreSQL, a broadcast at Telegram's free rate: questions sent twice?

Issue 14 measured 15 questions sent twice with 3,000 chats due at once on two
instances: leases ran from the start of a tick, so a broadcast longer than the
lease was re-sent by the other instance. This runs the real bot twice
(``python -m bot run``, webhook mode) against the fake Bot API with
``SEND_RATE_LIMIT`` per process and a short lease, and counts chats that got more
than one question.

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        python -m benchmarks.two_instances 1500 --rate 30 --lease 5
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.support.bot_harness import small_bank, write_bank
from tests.support.bot_process import (
    free_port,
    make_due,
    start_bot,
    stop_processes,
    subscribe_chats,
    wait_healthy,
    zone_near_noon,
)
from tests.support.bot_token import TOKEN
from tests.support.databases import postgres_server_url, postgres_session_database
from tests.support.fake_telegram import FakeTelegram

FIRST_CHAT = 100_000


async def run(url: str, chats: int, rate: float, lease: float) -> dict[str, float]:
    ids = range(FIRST_CHAT, FIRST_CHAT + chats)
    now = datetime.now(UTC)
    await subscribe_chats(url, ids, now=now, zone=zone_near_noon(now), due_at=None)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        content = write_bank(small_bank(), root / "content")
        async with FakeTelegram(token=TOKEN) as tg:
            tg.latency = 0.005
            for chat_id in ids:
                tg.private_chat(chat_id, "P").seen = True
            ports = [free_port(), free_port()]
            processes = []
            handles = [(root / f"{i}.log").open("ab") for i in range(2)]
            try:
                for port, handle in zip(ports, handles, strict=True):
                    process = await start_bot(
                        tg,
                        url,
                        content,
                        handle,
                        WEBHOOK_URL="https://bot.example.test/tg",
                        WEBHOOK_SECRET="bench-secret",
                        HTTP_LISTEN=f"127.0.0.1:{port}",
                        SEND_RATE_LIMIT=str(rate),
                        DELIVERY_LEASE_SECONDS=str(lease),
                        DISPATCH_INTERVAL_SECONDS="1",
                    )
                    processes.append(process)
                    await wait_healthy(f"http://127.0.0.1:{port}", process)
                started = time.perf_counter()
                await make_due(url, ids, datetime.now(UTC))
                await tg.wait_for(
                    lambda: {m.chat_id for m in tg.sent(method="sendMessage")} >= set(ids),
                    timeout=chats / rate + 600,
                    what="every chat served",
                )
                wall = time.perf_counter() - started
                await asyncio.sleep(2 * lease + 2)  # late re-sends, if any, arrive now
            finally:
                await stop_processes(processes, handles)
    per_chat: dict[int, int] = {}
    for message in tg.sent(method="sendMessage"):
        if message.chat_id in ids:
            per_chat[message.chat_id] = per_chat.get(message.chat_id, 0) + 1
    return {
        "chats": chats,
        "wall_s": wall,
        "sent_twice": sum(1 for count in per_chat.values() if count > 1),
        "messages": sum(per_chat.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chats", type=int, nargs="?", default=1500)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--lease", type=float, default=5.0)
    args = parser.parse_args()
    server = postgres_server_url()
    if server is None:
        raise SystemExit("set TEST_DATABASE_URL: several instances need PostgreSQL")
    for url in postgres_session_database(server):
        figures = asyncio.run(run(url, args.chats, args.rate, args.lease))
        print(
            f"{figures['chats']} chats, 2 instances at {args.rate}/s each, lease {args.lease} s: "
            f"{figures['messages']} messages in {figures['wall_s']:.1f} s, "
            f"{figures['sent_twice']} chats got the question twice"
        )


if __name__ == "__main__":
    main()
