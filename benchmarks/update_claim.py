"""Webhook benchmark: the database cost of one webhook update (the cross-instance claim).

Every webhook POST claims its ``update_id`` in ``processed_updates`` (one
``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING``) before the update is
queued, and marks the claim done once the update was handled (one ``UPDATE``);
bot/storage/processed_updates.py. This measures those statements alone: N fresh
update ids claimed and finished, then the same N again (all duplicates: the claim,
then the read that finds them done), one at a time as concurrent webhook requests
would not batch them, on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL.
Prints the rates and CPU ms, and appends them to BENCHMARKS.md (``--no-record`` to skip).

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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.storage import processed_updates
from bot.storage.database import create_engine, migrate
from bot.storage.processed_updates import Claim
from tests.support.databases import admin_statement

REPO = Path(__file__).resolve().parents[1]
ABANDONED_AFTER = timedelta(seconds=60)


async def _measure(url: str, count: int) -> tuple[float, float, float, float]:
    """(handled updates/s, duplicates/s, CPU ms per handled update, CPU ms per duplicate)."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        now = datetime.now(UTC)
        cpu = clock.process_time()
        started = clock.perf_counter()
        fresh = []
        for i in range(count):
            fresh.append(
                await processed_updates.claim(engine, i, now=now, abandoned_after=ABANDONED_AFTER)
            )
            await processed_updates.finish(engine, i, now=now)
        handled_rate = count / (clock.perf_counter() - started)
        handled_cpu = (clock.process_time() - cpu) * 1000 / count
        cpu = clock.process_time()
        started = clock.perf_counter()
        again = [
            await processed_updates.claim(engine, i, now=now, abandoned_after=ABANDONED_AFTER)
            for i in range(count)
        ]
        duplicate_rate = count / (clock.perf_counter() - started)
        duplicate_cpu = (clock.process_time() - cpu) * 1000 / count
        assert all(c is Claim.NEW for c in fresh)
        assert all(c is Claim.DONE for c in again)
        return handled_rate, duplicate_rate, handled_cpu, duplicate_cpu
    finally:
        await engine.dispose()


async def _postgres(server: str, count: int) -> tuple[float, float, float, float]:
    name = f"interview_bot_bench_{uuid.uuid4().hex[:8]}"
    await admin_statement(server, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        return await _measure(url, count)
    finally:
        await admin_statement(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    record = "--no-record" not in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "--no-record"]
    count = int(args[0]) if args else 2000
    rows: list[tuple[str, tuple[float, float, float, float]]] = []
    with tempfile.TemporaryDirectory() as directory:
        sqlite = f"sqlite+aiosqlite:///{Path(directory) / 'bench.sqlite3'}"
        rows.append(("SQLite", asyncio.run(_measure(sqlite, count))))
    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        rows.append(("PostgreSQL", asyncio.run(_postgres(server, count))))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [
        f"### Update claim and done mark (webhook), {count} updates — {stamp}",
        "",
        f"Machine: {machine}, Python {platform.python_version()}, {platform.system()}",
        "",
        "| database | handled updates/s (claim + done) | duplicates/s | CPU ms/handled"
        " update | CPU ms/duplicate |",
        "|---|---|---|---|---|",
        *(f"| {name} | {h:.0f} | {d:.0f} | {hc:.2f} | {dc:.2f} |" for name, (h, d, hc, dc) in rows),
        "",
    ]
    print("\n".join(lines))
    if record:
        with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as out:
            out.write("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
