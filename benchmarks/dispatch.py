"""Dispatch benchmark: N chats all due in the same minute, one dispatcher, real database.

The fake Bot API runs in a separate process with zero latency and no rate
limit (SEND_RATE_LIMIT=0), so the figures are the bot's own cost: claiming,
choosing, recording and sending. Runs on SQLite, and on PostgreSQL when
TEST_DATABASE_URL is set. Prints deliveries per second, CPU milliseconds per
delivery and peak RSS, and appends them to BENCHMARKS.md (``--no-record`` to skip).
The fake is tests.support.fake_telegram_server (the test suite's fake, lean mode).

    make bench                      # 10,000 chats
    python -m benchmarks.dispatch 2000
    python -m benchmarks.dispatch 200 sqlite --no-record
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time as clock
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import make_url
from telegram.ext import ExtBot

from benchmarks.machine import machine
from bot.content.check import load_checked_bank
from bot.jobs.dispatch import dispatch_due
from bot.service.config import Settings
from bot.service.context import Services
from bot.service.gc_tuning import tune_garbage_collector
from bot.storage.database import create_engine, create_sessionmaker, migrate
from bot.storage.models import ChatRow, PersonRow
from bot.telegram.http import AiohttpRequest
from tests.support.bot_token import TOKEN
from tests.support.databases import admin_statement

REPO = Path(__file__).resolve().parents[1]


def memory_mb(field: str, pid: int | str = "self") -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak) of a process, in MB, from /proc.

    Not ``ru_maxrss``: Linux keeps the parent's peak in it across ``exec``, so a measured
    child started by a seeding parent reported the parent's size as its own.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # not Linux: the peak of this process, parent's included
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} in /proc/{pid}/status")


def _rss_mb() -> float:
    return memory_mb("VmRSS")


def _peak_rss_mb() -> float:
    return memory_mb("VmHWM")


async def _seed(url: str, chats: int, now: datetime) -> None:
    engine = create_engine(url)
    await migrate(engine)
    due = now - timedelta(seconds=5)
    async with engine.begin() as connection:
        for start in range(1, chats + 1, 1000):
            ids = range(start, min(start + 1000, chats + 1))
            await connection.execute(
                insert(PersonRow),
                [{"id": i, "first_name": "B", "timezone": "UTC", "created_at": now} for i in ids],
            )
            await connection.execute(
                insert(ChatRow),
                [
                    {
                        "id": i,
                        "kind": "private",
                        "active": True,
                        "paused": False,
                        "timezone": "UTC",
                        "delivery_time": "00:00",
                        "days": 127,
                        "decks": "",
                        "next_due_at": due,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
    await engine.dispose()


async def run_once(
    url: str, chats: int, *, now: datetime | None = None, seed: bool = True
) -> dict[str, float]:
    """One dispatch of ``chats`` due chats; ``seed=False``: the database is already seeded
    (benchmarks.history), with every chat due at ``now``."""
    now = now or datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    if seed:
        await _seed(url, chats, now)
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measurement
        [sys.executable, "-m", "tests.support.fake_telegram_server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    api_root = server.stdout.readline().strip()
    settings = Settings(
        bot_token=TOKEN,
        telegram_api_url=api_root,
        database_url=url,
        content_dir=Path(os.environ.get("BENCH_CONTENT_DIR", REPO / "content")),
        send_rate_limit=0,
        _env_file=None,
    )
    bank = load_checked_bank(settings.content_dir)
    engine = (
        create_engine(url, pool_size=20, max_overflow=50)
        if "postgresql" in url
        else create_engine(url)
    )
    services = Services(settings, bank, engine, create_sessionmaker(engine), clock=lambda: now)
    tune_garbage_collector()  # as `python -m bot run` does once started (bot/service/lifecycle.py)
    request = AiohttpRequest(connection_pool_size=32)
    bot = ExtBot(TOKEN, base_url=f"{api_root}/bot", request=request)
    rss_before = _rss_mb()
    cpu_start = clock.process_time()
    wall_start = clock.perf_counter()
    async with bot:
        report = await dispatch_due(bot, services, now=now)
    wall = clock.perf_counter() - wall_start
    cpu = clock.process_time() - cpu_start
    await engine.dispose()
    server.stdin.close()
    received = int(server.stdout.readline().strip() or 0)
    server.wait(timeout=30)
    if report.sent != chats or received != chats:
        raise SystemExit(f"expected {chats} deliveries, sent {report.sent}, server saw {received}")
    return {
        "chats": chats,
        "seconds": wall,
        "per_second": chats / wall,
        "cpu_ms": 1000 * cpu / chats,
        "rss_before_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
    }


async def _postgres_database(server_url: str) -> tuple[str, str]:
    name = f"interview_bot_bench_{uuid.uuid4().hex[:8]}"
    await admin_statement(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False), name


def main() -> None:
    record = "--no-record" not in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "--no-record"]
    chats = int(args[0]) if args else 10_000
    backend = args[1] if len(args) > 1 else None
    results: list[tuple[str, dict[str, float]]] = []
    if backend in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{directory}/bench.sqlite3"
            results.append(("SQLite", asyncio.run(run_once(url, chats))))
    server_url = os.environ.get("TEST_DATABASE_URL")
    if server_url and backend in (None, "postgresql"):
        url, name = asyncio.run(_postgres_database(server_url))
        try:
            results.append(("PostgreSQL", asyncio.run(run_once(url, chats))))
        finally:
            drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            asyncio.run(admin_statement(server_url, drop))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n### Dispatch, {chats} chats due at once — {stamp}\n",
        f"Machine: {machine()}\n",
        "| database | deliveries/s | CPU ms/delivery | RSS before → peak MB | wall s |",
        "|---|---|---|---|---|",
    ]
    for name, r in results:
        rss = f"{r['rss_before_mb']:.0f} → {r['peak_rss_mb']:.0f}"
        row = [f"{r['per_second']:.0f}", f"{r['cpu_ms']:.2f}", rss]
        lines.append(f"| {name} | {' | '.join(row)} | {r['seconds']:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if record:
        with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
