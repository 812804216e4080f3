"""Webhook benchmark: the cost of claiming an update_id (the cross-instance duplicate check).

Every webhook POST runs one ``INSERT ... ON CONFLICT DO NOTHING`` into
``processed_updates`` (bot/storage/processed_updates.py) before the update is
queued. This measures that statement alone, N fresh update ids then the same N
again (all duplicates), one at a time as concurrent webhook requests would not
batch them, on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL. Prints
the claims per second and CPU ms per claim, and appends them to BENCHMARKS.md.

    python -m benchmarks.update_claim          # 2,000 updates
    python -m benchmarks.update_claim 5000
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time as clock
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.storage import processed_updates
from bot.storage.database import create_engine, migrate
from tests.support.databases import _admin

REPO = Path(__file__).resolve().parents[1]


async def _measure(url: str, count: int) -> tuple[float, float, float]:
    """(fresh claims/s, duplicate claims/s, CPU ms per claim) on a migrated database."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        now = datetime.now(UTC)
        cpu = clock.process_time()
        started = clock.perf_counter()
        fresh = [await processed_updates.claim(engine, i, now=now) for i in range(count)]
        fresh_rate = count / (clock.perf_counter() - started)
        started = clock.perf_counter()
        again = [await processed_updates.claim(engine, i, now=now) for i in range(count)]
        duplicate_rate = count / (clock.perf_counter() - started)
        cpu_ms = (clock.process_time() - cpu) * 1000 / (2 * count)
        assert all(fresh)
        assert not any(again)
        return fresh_rate, duplicate_rate, cpu_ms
    finally:
        await engine.dispose()


async def _postgres(server: str, count: int) -> tuple[float, float, float]:
    name = f"interview_bot_bench_{uuid.uuid4().hex[:8]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        return await _measure(url, count)
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rows: list[tuple[str, tuple[float, float, float]]] = []
    with tempfile.TemporaryDirectory() as directory:
        sqlite = f"sqlite+aiosqlite:///{Path(directory) / 'bench.sqlite3'}"
        rows.append(("SQLite", asyncio.run(_measure(sqlite, count))))
    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        rows.append(("PostgreSQL", asyncio.run(_postgres(server, count))))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [
        f"### Update claim (webhook duplicate check), {count} updates — {stamp}",
        "",
        f"Machine: {machine}, Python {platform.python_version()}, {platform.system()}",
        "",
        "| database | new ids/s | duplicates/s | CPU ms/claim |",
        "|---|---|---|---|",
        *(f"| {name} | {f:.0f} | {d:.0f} | {c:.2f} |" for name, (f, d, c) in rows),
        "",
    ]
    print("\n".join(lines))
    with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as out:
        out.write("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
