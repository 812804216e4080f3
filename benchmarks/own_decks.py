"""Own decks at scale: the dispatch of 100,000 due chats, 20 % of them studying decks of
their own, with 10,000 decks of 50 questions stored (PostgreSQL, TEST_DATABASE_URL).

Every fifth chat studies one own deck (deck ``d`` is owned by chat ``5d`` and added by
chat ``5d + 50,000``: 20,000 chats over 10,000 decks, each deck studied by two chats);
the others study the built-in decks. Questions are about 550 characters (a 100-character
question, a 450-character answer). The dispatch itself is ``benchmarks.dispatch.run_once``
(the lean fake Bot API in its own process, ``SEND_RATE_LIMIT=0``), in a child process of
its own so that its RSS is the dispatching process's alone.

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        python -m benchmarks.own_decks [--chats 100000] [--decks 10000] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time as clock
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from benchmarks.dispatch import REPO, _machine
from bot.domain.content import Question
from bot.domain.own_decks import encode_questions
from bot.storage.database import create_engine, migrate
from tests.support.databases import admin_statement

QUESTIONS_PER_DECK = 50
SHARE = 5  # every fifth chat studies a deck of its own


async def _copy(connection: Any, table: str, columns: Sequence[str], rows: list[tuple]) -> None:  # type: ignore[type-arg]
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table, records=rows, columns=list(columns))


async def seed(url: str, *, chats: int, decks: int, now: datetime, studied: bool = True) -> None:
    engine = create_engine(url)
    await migrate(engine)
    due = now - timedelta(seconds=5)
    answer = ("An answer of a realistic length, with a few key points to check. " * 7)[:450]
    try:
        for start in range(1, chats + 1, 10_000):
            ids = range(start, min(start + 10_000, chats + 1))
            async with engine.begin() as connection:
                await _copy(
                    connection,
                    "people",
                    ("id", "first_name", "timezone", "created_at", "keep_typed_answers"),
                    [(i, "B", "UTC", now, False) for i in ids],
                )

                def deck_of(i: int) -> str:
                    if not studied or i % SHARE:
                        return ""
                    return f"u{((i // SHARE) - 1) % decks + 1}"

                await _copy(
                    connection,
                    "chats",
                    (
                        "id",
                        "kind",
                        "active",
                        "paused",
                        "timezone",
                        "delivery_time",
                        "days",
                        "decks",
                        "next_due_at",
                        "created_at",
                        "updated_at",
                    ),
                    [
                        (i, "private", True, False, "UTC", "00:00", 127, deck_of(i), due, now, now)
                        for i in ids
                    ],
                )
        for start in range(1, decks + 1, 1000):
            ids = range(start, min(start + 1000, decks + 1))
            async with engine.begin() as connection:
                await _copy(
                    connection,
                    "decks",
                    (
                        "id",
                        "owner_id",
                        "title",
                        "version",
                        "question_count",
                        "questions",
                        "created_at",
                        "updated_at",
                    ),
                    [
                        (
                            d,
                            SHARE * d,
                            f"Deck {d}",
                            1,
                            QUESTIONS_PER_DECK,
                            _document(d, answer),
                            now,
                            now,
                        )
                        for d in ids
                    ],
                )
                adders = [(SHARE * d + SHARE * decks, d, now) for d in ids]
                await _copy(
                    connection,
                    "added_decks",
                    ("person_id", "deck_id", "added_at"),
                    [row for row in adders if row[0] <= chats],
                )
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT setval('decks_id_seq', (SELECT max(id) FROM decks))")
            )
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def _document(deck_id: int, answer: str) -> str:
    return encode_questions(
        [
            Question(
                id=f"q{n}",
                question=f"Deck {deck_id}, question {n}: " + "x" * 80 + "?",
                answer=answer,
                tags=("t",),
            )
            for n in range(QUESTIONS_PER_DECK)
        ]
    )


def _measure(url: str, chats: int, now: datetime) -> dict[str, float]:
    from benchmarks.dispatch import run_once

    return asyncio.run(run_once(url, chats, now=now, seed=False))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.own_decks", description=__doc__)
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--decks", type=int, default=10_000)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="the same decks stored, but every chat studies the built-in decks only",
    )
    parser.add_argument("--measure", nargs=3, metavar=("URL", "CHATS", "NOW"))
    args = parser.parse_args(argv)
    if args.measure:
        url, chats, now = args.measure
        result = _measure(url, int(chats), datetime.fromisoformat(now))
        print(json.dumps(result))
        return
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        raise SystemExit("set TEST_DATABASE_URL (a PostgreSQL server) to run this benchmark")
    name = f"interview_bot_own_decks_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin_statement(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    try:
        started = clock.perf_counter()
        asyncio.run(
            seed(url, chats=args.chats, decks=args.decks, now=now, studied=not args.baseline)
        )
        print(f"seeded in {clock.perf_counter() - started:.0f} s", flush=True)
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.own_decks",
                "--measure",
                url,
                str(args.chats),
                now.isoformat(),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
    finally:
        asyncio.run(admin_statement(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n### Own decks: dispatch of {args.chats:,} chats, "
        f"{0 if args.baseline else 100 // SHARE} % studying their own "
        f"decks, {args.decks:,} decks of {QUESTIONS_PER_DECK} stored (PostgreSQL) — {stamp}\n",
        f"Machine: {_machine()}\n",
        "Command: `TEST_DATABASE_URL=... python -m benchmarks.own_decks"
        + (" --baseline" if args.baseline else "")
        + "`\n",
        "| deliveries/s | CPU ms/delivery | RSS before → peak MB | wall s |",
        "|---|---|---|---|",
        f"| {result['per_second']:.0f} | {result['cpu_ms']:.2f} | "
        f"{result['rss_before_mb']:.0f} → {result['peak_rss_mb']:.0f} | {result['seconds']:.1f} |",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if not args.no_record:
        with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as handle:
            handle.write(report)


if __name__ == "__main__":
    main()
