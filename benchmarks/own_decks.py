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

``--taps``: tap p99 during the broadcast, on the same seed (every chat not yet due), with
the real ``python -m bot run`` against the fake Bot API (benchmarks.peak's ``FakeApi``,
``start_bot``, ``tap``, ``tap_latencies``): once the bot polls, 40 idle "Show answer" taps
at 5/s, then every chat made due at once (``make_due``) and, 5 s after the broadcast's
first question, 40 more taps. Half the tappers study their own deck (the answer comes
from a stored deck, through the deck cache), half the built-in decks; each has a question
sent 5 minutes before. Reported: answer posted and callback answered p50/p99/max, the
broadcast's deliveries/s over the window (first question → last tap answered), 429s, the
bot's CPU and peak RSS. The bot is stopped once the taps are answered: the broadcast is
not run to its end (about 2 minutes of wall time per phase). Phases (``--limits``): off
(SEND_RATE_LIMIT=0, the fake without limits: the broadcast as fast as the machine allows,
the worst case for taps) and on (SEND_RATE_LIMIT=30, the fake enforcing Telegram's limits),
each on a fresh seed.

    TEST_DATABASE_URL=... python -m benchmarks.own_decks --taps [--limits off|on|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time as clock
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.dispatch import REPO, memory_mb
from benchmarks.machine import load_average, machine
from benchmarks.peak import (
    SENT,
    TAP_COLUMNS,
    FakeApi,
    Seed,
    Table,
    database,
    insert_deliveries,
    latency_row,
    make_due,
    new_seed,
    start_bot,
    tap,
    tap_latencies,
    wait_ready,
    wait_warmed_up,
)
from bot.domain.content import Question
from bot.domain.own_decks import encode_questions, question_key
from bot.storage.database import create_engine, migrate
from tests.support.databases import admin_statement

QUESTIONS_PER_DECK = 50
SHARE = 5  # every fifth chat studies a deck of its own


async def _copy(connection: Any, table: str, columns: Sequence[str], rows: list[tuple]) -> None:  # type: ignore[type-arg]
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table, records=rows, columns=list(columns))


def deck_of(chat_id: int, decks: int) -> int:
    """The own deck chat ``chat_id`` studies (when ``chat_id % SHARE == 0``)."""
    return ((chat_id // SHARE) - 1) % decks + 1


async def seed(
    url: str,
    *,
    chats: int,
    decks: int,
    now: datetime,
    studied: bool = True,
    due: datetime | None = None,
) -> None:
    """``chats`` chats (ids 1..chats), every one due at ``due`` (default: 5 s before ``now``),
    and ``decks`` decks of 50 questions (see the module docstring)."""
    engine = create_engine(url)
    await migrate(engine)
    due = due or now - timedelta(seconds=5)
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

                def decks_setting(i: int) -> str:
                    if not studied or i % SHARE:
                        return ""
                    return f"u{deck_of(i, decks)}"

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
                        (
                            i,
                            "private",
                            True,
                            False,
                            "UTC",
                            "00:00",
                            127,
                            decks_setting(i),
                            due,
                            now,
                            now,
                        )
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


# --- Show answer taps during the broadcast (--taps) -----------------------------------


def tappers(chats: int, count: int, group: int) -> list[int]:
    """``count`` tapping chats of set ``group`` (0: idle taps, 1: taps during the broadcast),
    spread over the ids and alternating: a chat studying its own deck (an id multiple of
    ``SHARE``), then one studying the built-in decks (the id before it)."""
    own = (count + 1) // 2
    step = (chats // SHARE) / (2 * own)
    order: list[int] = []
    for k in range(own):
        chat = SHARE * (1 + int((2 * k + group) * step))
        order += [chat, chat - 1]
    return order[:count]


async def seed_tap_deliveries(
    url: str, peak_seed: Seed, orders: Sequence[Sequence[int]], decks: int
) -> dict[int, int]:
    """A question sent 5 minutes ago to each tapper, as benchmarks.peak's ``seed_taps``
    does: a question of its own deck (``u<deck>-q<n>``, bot/domain/own_decks.py) for a
    chat studying one, a built-in question otherwise. Its message id is 100 + the chat's
    place in its order (the pressed message of ``benchmarks.peak.tap``). Chat -> delivery id.
    """
    questions = peak_seed.bank.questions
    at = peak_seed.now - timedelta(minutes=5)
    chats: list[int] = []
    rows: list[dict[str, Any]] = []
    for order in orders:
        for index, chat in enumerate(order):
            question = (
                question_key(deck_of(chat, decks), f"q{index % QUESTIONS_PER_DECK}")
                if chat % SHARE == 0
                else questions[index % len(questions)]
            )
            rows.append(peak_seed.delivery(chat, question, message_id=100 + index, at=at))
            chats.append(chat)
    engine = create_async_engine(url)
    try:
        ids = await insert_deliveries(engine, rows)
    finally:
        await engine.dispose()
    return dict(zip(chats, ids, strict=True))


async def _tap_rows(
    api: FakeApi, taps: dict[int, tuple[str, int]], name: str, rejected_before: int
) -> list[list[str]]:
    """Latency rows of a set of taps: all of them, then the own-deck and built-in halves."""
    own = {chat: ids for chat, ids in taps.items() if chat % SHARE == 0}
    built_in = {chat: ids for chat, ids in taps.items() if chat % SHARE}
    posted_own, answered_own = await tap_latencies(api, own, within=600)
    posted_built_in, answered_built_in = await tap_latencies(api, built_in, within=600)
    rejected = api.rejected - rejected_before
    return [
        latency_row(name, posted_own + posted_built_in, answered_own + answered_built_in, rejected),
        [*latency_row("… own deck", posted_own, answered_own, 0)[:-1], ""],
        [*latency_row("… built-in", posted_built_in, answered_built_in, 0)[:-1], ""],
    ]


@dataclass
class TapsPhase:
    limits: bool
    tap_rows: list[list[str]]
    broadcast_row: list[str]


async def taps_phase(args: argparse.Namespace, *, limits: bool, workdir: Path) -> TapsPhase:
    """One run of the real bot on a fresh seed: idle taps, then taps during the broadcast.

    The bot is stopped once the broadcast's taps are answered: the broadcast does not
    finish (100,000 chats would take minutes; the taps only need it running)."""
    peak_seed = new_seed(args.content)
    label = "limits on" if limits else "limits off"
    async with database("postgresql", workdir) as url:
        started = clock.perf_counter()
        await seed(
            url,
            chats=args.chats,
            decks=args.decks,
            now=peak_seed.now,
            due=peak_seed.not_due(),
        )
        idle_order = tappers(args.chats, args.tap_count, 0)
        busy_order = tappers(args.chats, args.tap_count, 1)
        deliveries = await seed_tap_deliveries(url, peak_seed, [idle_order, busy_order], args.decks)
        print(f"{label}: seeded in {clock.perf_counter() - started:.0f} s", flush=True)
        api = FakeApi(limits=limits)
        bot = start_bot(
            api,
            url,
            workdir / f"bot-{'on' if limits else 'off'}",
            args.content,
            {
                "SEND_RATE_LIMIT": "30" if limits else "0",
                "DISPATCH_INTERVAL_SECONDS": str(args.dispatch_interval),
                **args.extra_env,
            },
        )
        try:
            await wait_ready(api, bot)
            await wait_warmed_up(bot)
            await asyncio.sleep(max(2.0, args.dispatch_interval))  # the first tick, idle

            # Idle: nothing due.
            rejected0 = api.rejected
            taps = await tap(api, deliveries, idle_order, args.tap_rate, "idle")
            rows = await _tap_rows(api, taps, f"{label}: idle", rejected0)
            bot.check_alive()
            await api.quiet(after=0)

            # Every chat due at once; the taps start broadcast_delay s after its first send.
            rejected0 = api.rejected
            mark = len(api.log)
            cpu0, due_at = bot.cpu(), clock.monotonic()
            await make_due(url, range(1, args.chats + 1))

            def questions(log: list[list[Any]]) -> list[list[Any]]:
                return [r for r in log[mark:] if r[1] in SENT and r[4] == "question"]

            await api.wait_for(
                lambda log: bool(questions(log)), within=120, what="the broadcast to start"
            )
            first = min(r[0] for r in questions(api.log))
            await asyncio.sleep(max(0.0, first + args.broadcast_delay - clock.monotonic()))
            taps = await tap(api, deliveries, busy_order, args.tap_rate, "busy")
            rows += await _tap_rows(
                api, taps, f"{label}: {args.broadcast_delay:g} s into the broadcast", rejected0
            )
            end = clock.monotonic()
            cpu = bot.cpu() - cpu0
            rss = memory_mb("VmHWM", bot.process.pid)
            bot.check_alive()
            await api.refresh()
            rejected = api.rejected - rejected0
        finally:
            bot.stop()
            await api.close()
    sent = sorted(r[0] for r in questions(api.log) if r[3] == 200 and r[0] <= end)
    if len(sent) >= args.chats:
        print(f"{label}: the broadcast ended before the last tap was answered", flush=True)
    window = end - first
    rate = (len(sent) - 1) / (sent[-1] - first) if len(sent) > 1 else float("nan")
    broadcast_row = [
        label,
        f"{window:.1f}",
        f"{len(sent):,}" + (" (all)" if len(sent) >= args.chats else ""),
        f"{rate:.0f}",
        str(rejected),
        f"{cpu:.1f} ({100 * cpu / (end - due_at):.0f} %)",
        f"{rss:.0f}",
    ]
    return TapsPhase(limits, rows, broadcast_row)


async def run_taps(args: argparse.Namespace, workdir: Path) -> list[Table]:
    phases = [
        await taps_phase(args, limits=limits, workdir=workdir)
        for limits in {"off": [False], "on": [True], "both": [False, True]}[args.limits]
    ]
    settings = "; ".join(
        "limits on: SEND_RATE_LIMIT=30, Telegram's limits enforced by the fake"
        if phase.limits
        else "limits off: SEND_RATE_LIMIT=0 and the fake without limits (the broadcast "
        "as fast as the bot, the database and the machine allow: the worst case for taps)"
        for phase in phases
    )
    return [
        Table(
            f"Tap-to-answer latency, {args.tap_count} taps of Show answer at "
            f"{args.tap_rate:g}/s, alternately from chats studying their own deck (its "
            "answer read through the deck cache) and chats studying the built-in decks; "
            "seconds from the update being available to getUpdates",
            TAP_COLUMNS,
            [row for phase in phases for row in phase.tap_rows],
            [f"Settings of the bot and the fake: {settings}."],
        ),
        Table(
            f"The broadcast while the taps ran ({args.chats:,} chats made due at once, "
            f"DISPATCH_INTERVAL_SECONDS={args.dispatch_interval:g})",
            [
                "limits",
                "window s",
                "questions sent",
                "deliveries/s",
                "429s",
                "bot CPU s from due (% of one core)",
                "bot peak RSS MB",
            ],
            [phase.broadcast_row for phase in phases],
            [
                "Window: the broadcast's first question sent → the last tap's answer and "
                "callback answered; deliveries/s counts the questions accepted by the fake "
                "in it. The bot is then stopped: the broadcast is not run to its end (the "
                "dispatch rate of the whole broadcast is the default mode of this "
                "benchmark). Each phase is a fresh seed and a fresh bot process; its idle "
                "taps (nothing due) come first, then every chat is made due at once. p99 "
                f"of {args.tap_count} taps is their maximum (nearest rank); the own-deck "
                "and built-in rows are halves of the same taps.",
            ],
        ),
    ]


def _record_taps(args: argparse.Namespace, tables: list[Table], load: str, argv: list[str]) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    suffix = f" ({args.label})" if args.label else ""
    parts = [
        f"\n### Own decks: Show answer taps during the broadcast of {args.chats:,} chats, "
        f"{100 // SHARE} % studying their own decks, {args.decks:,} decks of "
        f"{QUESTIONS_PER_DECK} stored (PostgreSQL){suffix} — {stamp}\n",
        f"Machine: {machine()}; load average at start {load} (1, 5, 15 min; the 2 cores are "
        "shared with other engineers' work, so figures are noisy)  ",
        f"Command: `TEST_DATABASE_URL=... python -m benchmarks.own_decks {shlex.join(argv)}`\n",
    ]
    for table in tables:
        parts += [f"{table.title}\n", table.markdown(), ""]
    return "\n".join(parts)


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
    taps = parser.add_argument_group(
        "--taps", "Show answer taps during the broadcast, with the real bot process"
    )
    taps.add_argument(
        "--taps",
        action="store_true",
        help="instead of the dispatch: run `python -m bot run` against the fake Bot API, "
        "make every chat due at once, tap Show answer during the broadcast",
    )
    taps.add_argument("--tap-count", type=int, default=40, help="taps per phase")
    taps.add_argument("--tap-rate", type=float, default=5.0, help="taps per second")
    taps.add_argument(
        "--broadcast-delay",
        type=float,
        default=5.0,
        help="seconds from the broadcast's first send to the first tap",
    )
    taps.add_argument(
        "--limits",
        choices=["off", "on", "both"],
        default="both",
        help="off: SEND_RATE_LIMIT=0, the fake without limits; on: SEND_RATE_LIMIT=30, "
        "the fake enforcing Telegram's limits; both: off, then on (a fresh seed each)",
    )
    taps.add_argument("--dispatch-interval", type=float, default=1.0)
    taps.add_argument("--content", type=Path, default=REPO / "content")
    taps.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the bot (repeatable)",
    )
    taps.add_argument("--label", default="", help="a note for the heading")
    args = parser.parse_args(argv)
    if args.measure:
        url, chats, now = args.measure
        result = _measure(url, int(chats), datetime.fromisoformat(now))
        print(json.dumps(result))
        return
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        raise SystemExit("set TEST_DATABASE_URL (a PostgreSQL server) to run this benchmark")
    if args.taps:
        if args.baseline:
            parser.error("--taps studies the seed with own decks; --baseline does not apply")
        args.content = args.content.resolve()
        args.extra_env = dict(item.split("=", 1) for item in args.env)
        load = load_average()
        print(f"own decks, taps (load average {load}) …", flush=True)
        with tempfile.TemporaryDirectory(prefix="own-decks-taps-") as directory:
            tables = asyncio.run(run_taps(args, Path(directory)))
        report = _record_taps(args, tables, load, list(sys.argv[1:] if argv is None else argv))
        print(report, flush=True)
        if not args.no_record:
            with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as handle:
                handle.write(report)
        return
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
        f"Machine: {machine()}\n",
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
