"""A bot that has run for months: chats with days of history, and the dispatch benchmark on them.

Seeding (``seed_history``) writes, through the project's table models, N private chats
(and their people), each with D past days of history: one sent daily delivery per day
(and the chat's shown questions, as the bot records them with each delivery),
graded the same day (one review each), and the cards those reviews left (one per question,
so at most the bank's size; due instants spread over the next two months, a few of them
overdue, as FSRS leaves a long-time learner), and each person's streak checkpoint (as the bot's
readers keep it). PostgreSQL is filled with ``COPY`` (millions
of rows in seconds), then vacuumed, analysed and checkpointed (``settle``: as autovacuum
would have left a database a year old, and so that neither autovacuum nor the
checkpointer starts on the seeded tables during a measurement); SQLite with batched
INSERTs, then analysed.

The benchmark seeds in one process and measures in another, so the measured process's peak
RSS is the dispatcher's own, not the seeding's::

    python -m benchmarks.history dispatch                       # 5,000 chats, 0/180/365 days
    python -m benchmarks.history dispatch --chats 20000 --days 365 --database postgresql
    python -m benchmarks.history seed URL --chats 1000 --days 365 --now 2026-12-05T12:00:00+00:00
    python -m benchmarks.history reminders --chats 2000 --days 30 365 --database both

``reminders`` gives every seeded chat a streak reminder due at ``now`` (each has studied
every day up to yesterday, so each is nudged) and times one ``remind_due``; it prints a
table and records nothing.

Each chat is due at ``now`` (today 12:00 UTC) with the limits off (SEND_RATE_LIMIT=0), as in
``benchmarks.dispatch``; results are appended to BENCHMARKS.md unless ``--no-record``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time as clock
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import yaml
from sqlalchemy import Table, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.domain.streaks import checkpoint_due
from bot.storage import learning
from bot.storage.models import CardRow, ChatRow, DeliveryRow, PersonRow, ReviewRow, ShownQuestionRow

REPO = Path(__file__).resolve().parents[1]
ALL_DAYS = 127
CHUNK_CHATS = 200


def question_ids(content: Path) -> list[str]:
    """The bank's question ids in bank order (read as YAML, like any other tool)."""
    ids: list[str] = []
    for path in sorted(content.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "deck" in data:
            ids += [str(q["id"]) for q in data.get("questions") or []]
    return ids


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def history_rows(
    chat_ids: Sequence[int],
    *,
    days: int,
    now: datetime,
    questions: Sequence[str],
    first_delivery_id: int,
    zone: str = "UTC",
    due: datetime | None = None,
) -> dict[type[Any], list[dict[str, Any]]]:
    """Rows for these chats: person, chat, and ``days`` days of deliveries, reviews, cards.

    Delivery ids are explicit (``first_delivery_id`` onwards, ``days`` per chat in order),
    so reviews can point at them without reading them back.
    """
    rows: dict[type[Any], list[dict[str, Any]]] = {
        PersonRow: [],
        ChatRow: [],
        DeliveryRow: [],
        ReviewRow: [],
        CardRow: [],
        ShownQuestionRow: [],
    }
    delivery_id = first_delivery_id
    count = len(questions)
    for chat in chat_ids:
        rows[PersonRow].append({"id": chat, "first_name": "B", "timezone": zone, "created_at": now})
        rows[ChatRow].append(
            {
                "id": chat,
                "kind": "private",
                "title": None,
                "active": True,
                "paused": False,
                "timezone": zone,
                "delivery_time": "12:00",
                "days": ALL_DAYS,
                "decks": "",
                "next_due_at": due,
                "last_delivered_on": None,
                "migrated_to": None,
                "created_at": now - timedelta(days=days + 1),
                "updated_at": now,
            }
        )
        last_review: dict[str, tuple[datetime, int]] = {}
        first_shown: dict[str, datetime] = {}
        for day in range(days, 0, -1):
            question = questions[(chat + day) % count]
            at = now - timedelta(days=day)
            rows[DeliveryRow].append(
                {
                    "id": delivery_id,
                    "chat_id": chat,
                    "question_id": question,
                    "kind": "daily",
                    "quiz_id": None,
                    "daily_on": at.date(),
                    "status": "sent",
                    "attempts": 1,
                    "lease_until": None,
                    "message_id": 10 + day,
                    "answer_message_id": 11 + day,
                    "revealed_at": at + timedelta(seconds=30),
                    "created_at": at,
                    "sent_at": at,
                }
            )
            graded = at + timedelta(minutes=2)
            rating = 1 + (chat + day) % 4
            rows[ReviewRow].append(
                {
                    "person_id": chat,
                    "question_id": question,
                    "delivery_id": delivery_id,
                    "chat_id": chat,
                    "rating": rating,
                    "source": "daily",
                    "reviewed_at": graded,
                    "local_date": graded.date(),
                    "utc_offset_minutes": 0,
                }
            )
            last_review[question] = (graded, rating)
            first_shown.setdefault(question, at)  # private: when first shown (bot/storage)
            delivery_id += 1
        rows[ShownQuestionRow] += [
            {"chat_id": chat, "question_id": question, "posted_at": at}
            for question, at in first_shown.items()
        ]
        for index, (question, (graded, rating)) in enumerate(sorted(last_review.items())):
            # Spread over -3 .. +56 days: a handful overdue, most in the coming weeks.
            card_due = now + timedelta(days=(chat * 7 + index * 13) % 60 - 3, hours=-1)
            rows[CardRow].append(
                {
                    "person_id": chat,
                    "question_id": question,
                    "due": card_due,
                    "state": {
                        "state": 2,
                        "step": None,
                        "stability": 10.0,
                        "difficulty": 5.0,
                        "due": card_due.isoformat(),
                        "last_review": graded.isoformat(),
                    },
                    "reps": 1,
                    "lapses": 1 if rating == 1 else 0,
                    "updated_at": graded,
                }
            )
    return rows


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


async def _copy(connection: Any, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY of these rows into the model's table (asyncpg's binary copy)."""
    if not rows:
        return
    table = _table(model)
    columns = [c.key for c in table.columns if c.key in rows[0]]
    json_columns = {c.key for c in table.columns if c.type.__class__.__name__ == "JSON"}
    records = [
        tuple(json.dumps(row[c]) if c in json_columns else row[c] for c in columns) for row in rows
    ]
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    await driver.copy_records_to_table(table.name, records=records, columns=columns)


async def seed_history(
    url: str,
    *,
    chats: int,
    days: int,
    now: datetime,
    content: Path,
    first_chat: int = 1,
    due: datetime | None = None,
    vacuum: bool = True,
) -> None:
    """Seed ``chats`` private chats with ``days`` days of history each (see the module doc).

    ``vacuum=False`` leaves PostgreSQL's tables analysed only, their visibility maps
    unset, as on a busy database where vacuum lags (the query-plan tests' view)."""
    questions = question_ids(content)
    engine = create_async_engine(url)
    postgres = engine.dialect.name == "postgresql"
    ids = list(range(first_chat, first_chat + chats))
    delivery_id = 1
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(text("SELECT max(id) FROM deliveries"))
            delivery_id = int(found or 0) + 1
        for chunk in _chunks(ids, CHUNK_CHATS):
            rows = history_rows(
                chunk,
                days=days,
                now=now,
                questions=questions,
                first_delivery_id=delivery_id,
                due=due,
            )
            delivery_id += days * len(chunk)
            async with engine.begin() as connection:
                for model in (
                    PersonRow,
                    ChatRow,
                    DeliveryRow,
                    ReviewRow,
                    CardRow,
                    ShownQuestionRow,
                ):
                    if postgres:
                        await _copy(connection, model, rows[model])
                    else:
                        for start in range(0, len(rows[model]), 5000):
                            await connection.execute(
                                insert(model), rows[model][start : start + 5000]
                            )
        await _write_streak_checkpoints(engine, ids, now=now)
        async with engine.begin() as connection:
            if postgres:
                await connection.execute(
                    text("SELECT setval('deliveries_id_seq', (SELECT max(id) FROM deliveries))")
                )
                await connection.execute(
                    text("SELECT setval('reviews_id_seq', (SELECT max(id) FROM reviews))")
                )
            if not (postgres and vacuum):
                await connection.execute(text("ANALYZE"))
        if postgres and vacuum:
            await settle(engine)
    finally:
        await engine.dispose()


async def settle(engine: AsyncEngine) -> None:
    """PostgreSQL after seeding as after a year of running: every table vacuumed and
    analysed (autovacuum would have visited them long ago; the index-only scans of a
    freshly written table still visit its heap) and the seeded pages written out
    (``CHECKPOINT``). Without it, autovacuum and the checkpointer start on the seeded
    tables during the measurement, beside the bot, on the same two cores."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
        try:
            await autocommit.execute(text("CHECKPOINT"))
        except DBAPIError:  # a role without pg_checkpoint: the pages are written later
            print("settle: CHECKPOINT not allowed for this role; skipped", flush=True)


async def _write_streak_checkpoints(
    engine: AsyncEngine, ids: Sequence[int], *, now: datetime
) -> None:
    """Each person's streak checkpoint, as a bot that ran all along would hold it (its
    readers move a checkpoint on once it lags a week: the reminders do daily), written
    by the bot's own functions."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    for chunk in _chunks(ids, CHUNK_CHATS):
        async with sessions() as session, session.begin():
            histories = await learning.study_histories(chunk, session=session)
            due = {p: checkpoint_due(h, now=now) for p, h in histories.items()}
            await learning.save_checkpoints(
                {p: fold for p, fold in due.items() if fold is not None}, session=session
            )


# --- the dispatch benchmark ------------------------------------------------------------


async def admin(server_url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE or DROP DATABASE)."""
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def migrate(url: str) -> None:
    """The schema, by the project's own migrations (the alembic command line)."""
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), "upgrade", "head"],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _python(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.history", *args],
        cwd=REPO,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return done.stdout


def _database_url(kind: str, directory: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{directory}/bench.sqlite3", None
    server_url = os.environ["TEST_DATABASE_URL"]
    name = f"interview_bot_history_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False), name


def dispatch_run(
    kind: str, *, chats: int, days: int, content: Path, startup: bool = False
) -> dict[str, float]:
    """Seed (in a child process), then measure one dispatch (in another child process)."""
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="history-") as directory:
        url, name = _database_url(kind, Path(directory))
        try:
            migrate(url)
            started = clock.perf_counter()
            _python(
                "seed",
                url,
                "--chats",
                str(chats),
                "--days",
                str(days),
                "--now",
                now.isoformat(),
                "--content",
                str(content),
                "--due",
                (now - timedelta(seconds=5)).isoformat(),
            )
            seeded = clock.perf_counter() - started
            print(f"  seeded {chats} chats x {days} days in {seeded:.0f} s", flush=True)
            out = _python("measure", url, "--chats", str(chats), "--now", now.isoformat())
            result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
            result["seed_s"] = seeded
            result["days"] = days
            if startup:  # every chat was just served: nothing is due at start-up
                first, *again = asyncio.run(_startup(url, content))
                result["startup_s"] = first
                result["startup_again_s"] = again[0] if again else first
                print(f"  start-up {first:.2f} s, again {result['startup_again_s']:.2f} s")
            return result
        finally:
            if name is not None:
                asyncio.run(
                    admin(
                        os.environ["TEST_DATABASE_URL"],
                        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                    )
                )


async def _startup(url: str, content: Path, runs: int = 2) -> list[float]:
    """Spawn → first getUpdates of ``python -m bot run`` on this database (nothing due):
    as benchmarks.peak's startup scenario, on a database with history."""
    from benchmarks.peak import FakeApi, start_bot, wait_ready

    api = FakeApi(limits=False)
    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="history-startup-") as directory:
        try:
            for _ in range(runs):
                await api.reset()
                bot = start_bot(
                    api,
                    url,
                    Path(directory) / "bot",
                    content,
                    {"SEND_RATE_LIMIT": "30", "DISPATCH_INTERVAL_SECONDS": "10"},
                )
                try:
                    seconds.append(await wait_ready(api, bot) - bot.started)
                finally:
                    bot.stop()
        finally:
            await api.close()
    return seconds


def _measure(url: str, chats: int, now: datetime) -> dict[str, float]:
    from benchmarks.dispatch import run_once  # imports the bot: only in the measuring child

    return asyncio.run(run_once(url, chats, now=now, seed=False))


async def _measure_reminders(url: str, chats: int, now: datetime) -> dict[str, float]:
    """Every seeded chat's streak reminder due at ``now``, then one ``remind_due`` against
    the lean fake Bot API (limits off): the reminder batch's own cost, reads included."""
    from telegram.ext import ExtBot

    from benchmarks.dispatch import _peak_rss_mb, _rss_mb
    from bot.content.check import load_checked_bank
    from bot.jobs.streak_reminders import remind_due
    from bot.service.config import Settings
    from bot.service.context import Services
    from bot.storage.database import create_engine, create_sessionmaker
    from bot.storage.models import ReminderRow
    from bot.telegram.http import AiohttpRequest
    from tests.support.bot_token import TOKEN

    postgres = "postgresql" in url
    engine = create_engine(url, pool_size=20, max_overflow=50) if postgres else create_engine(url)
    due = now - timedelta(seconds=5)
    async with engine.begin() as connection:
        for chunk in _chunks(list(range(1, chats + 1)), 5000):
            await connection.execute(
                insert(ReminderRow),
                [
                    {
                        "chat_id": i,
                        "enabled": True,
                        "remind_at": "12:00",
                        "next_at": due,
                        "last_on": None,
                        "updated_at": now,
                    }
                    for i in chunk
                ],
            )
        await connection.execute(text("ANALYZE"))
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
        content_dir=REPO / "content",
        send_rate_limit=0,
        _env_file=None,
    )
    services = Services(
        settings,
        load_checked_bank(settings.content_dir),
        engine,
        create_sessionmaker(engine),
        clock=lambda: now,
    )
    bot = ExtBot(TOKEN, base_url=f"{api_root}/bot", request=AiohttpRequest(connection_pool_size=32))
    rss_before = _rss_mb()
    cpu_start = clock.process_time()
    wall_start = clock.perf_counter()
    async with bot:
        sent = await remind_due(bot, services, now=now)
    wall = clock.perf_counter() - wall_start
    cpu = clock.process_time() - cpu_start
    await engine.dispose()
    server.stdin.close()
    received = int(server.stdout.readline().strip() or 0)
    server.wait(timeout=30)
    return {
        "chats": chats,
        "sent": sent,
        "received": received,
        "seconds": wall,
        "cpu_ms": 1000 * cpu / chats,
        "rss_before_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
    }


def reminders_run(kind: str, *, chats: int, days: int, content: Path) -> dict[str, float]:
    """Seed (in a child process), then time one reminder batch (in another child process)."""
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="history-") as directory:
        url, name = _database_url(kind, Path(directory))
        try:
            migrate(url)
            _python("seed", url, "--chats", str(chats), "--days", str(days),
                    "--now", now.isoformat(), "--content", str(content))  # fmt: skip
            out = _python("measure-reminders", url, "--chats", str(chats), "--now", now.isoformat())
            result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
            result["days"] = days
            return result
        finally:
            if name is not None:
                asyncio.run(
                    admin(
                        os.environ["TEST_DATABASE_URL"],
                        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                    )
                )


def _conditions() -> str:
    """The load average and the speed probe, read before the runs they describe."""
    from benchmarks.machine import speed_probe

    one, five, _ = os.getloadavg()
    return (
        f"load average at the start {one:.2f} {five:.2f}; speed probe {speed_probe():.2f} s "
        "(benchmarks.machine.speed_probe: lower is faster)"
    )


def _record(
    kind: str, chats: int, results: list[dict[str, float]], label: str, conditions: str
) -> str:
    from benchmarks.machine import machine

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    suffix = f" ({label})" if label else ""
    lines = [
        f"\n#### History: dispatch of {chats} due chats on {kind}{suffix} — {stamp}\n",
        f"Machine: {machine()}; {conditions}\n",
        "| history per chat | deliveries/s | CPU ms/delivery | RSS before → peak MB | wall s |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        history = f"{int(r['days'])} days" if r["days"] else "none"
        lines.append(
            f"| {history} | {r['per_second']:.0f} | {r['cpu_ms']:.2f} | "
            f"{r['rss_before_mb']:.0f} → {r['peak_rss_mb']:.0f} | {r['seconds']:.1f} |"
        )
    for r in results:
        if "startup_s" in r:
            lines.append(
                f"\nStart-up with {chats} chats x {int(r['days'])} days (spawn → first "
                f"getUpdates): {r['startup_s']:.2f} s cold data directory, "
                f"{r['startup_again_s']:.2f} s again.\n"
            )
    return "\n".join(lines) + "\n"


def _kinds(database: str) -> list[str]:
    has_postgres = bool(os.environ.get("TEST_DATABASE_URL"))
    return {
        "auto": ["postgresql"] if has_postgres else ["sqlite"],
        "both": ["sqlite", "postgresql"] if has_postgres else ["sqlite"],
    }.get(database, [database])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.history", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed", help="seed a migrated database")
    seed.add_argument("url")
    seed.add_argument("--chats", type=int, required=True)
    seed.add_argument("--days", type=int, required=True)
    seed.add_argument("--now", type=datetime.fromisoformat, required=True)
    seed.add_argument("--due", type=datetime.fromisoformat, default=None)
    seed.add_argument("--first-chat", type=int, default=1)
    seed.add_argument("--content", type=Path, default=REPO / "content")
    measure = commands.add_parser("measure", help="one dispatch of a seeded database (JSON)")
    measure.add_argument("url")
    measure.add_argument("--chats", type=int, required=True)
    measure.add_argument("--now", type=datetime.fromisoformat, required=True)
    dispatch = commands.add_parser("dispatch", help="seed + measure for each history length")
    dispatch.add_argument("--chats", type=int, default=5000)
    dispatch.add_argument("--days", type=int, nargs="+", default=[0, 180, 365])
    dispatch.add_argument(
        "--database", choices=["auto", "sqlite", "postgresql", "both"], default="auto"
    )
    dispatch.add_argument("--content", type=Path, default=REPO / "content")
    dispatch.add_argument("--label", default="")
    dispatch.add_argument(
        "--startup", action="store_true", help="also time the bot's start-up on each database"
    )
    dispatch.add_argument("--no-record", action="store_true")
    measure_reminders = commands.add_parser(
        "measure-reminders", help="every chat's reminder due, one remind_due (JSON)"
    )
    measure_reminders.add_argument("url")
    measure_reminders.add_argument("--chats", type=int, required=True)
    measure_reminders.add_argument("--now", type=datetime.fromisoformat, required=True)
    reminders = commands.add_parser(
        "reminders", help="seed + one reminder batch for each history length (prints a table)"
    )
    reminders.add_argument("--chats", type=int, default=2000)
    reminders.add_argument("--days", type=int, nargs="+", default=[30, 365])
    reminders.add_argument(
        "--database", choices=["auto", "sqlite", "postgresql", "both"], default="auto"
    )
    reminders.add_argument("--content", type=Path, default=REPO / "content")
    args = parser.parse_args(argv)
    if args.command == "seed":
        asyncio.run(
            seed_history(
                args.url,
                chats=args.chats,
                days=args.days,
                now=args.now,
                content=args.content,
                first_chat=args.first_chat,
                due=args.due,
            )
        )
    elif args.command == "measure":
        print(json.dumps(_measure(args.url, args.chats, args.now)))
    elif args.command == "measure-reminders":
        print(json.dumps(asyncio.run(_measure_reminders(args.url, args.chats, args.now))))
    elif args.command == "reminders":
        for kind in _kinds(args.database):
            print(f"| {kind} | days | chats | nudges sent | wall s | CPU ms/reminder | peak MB |")
            for days in args.days:
                r = reminders_run(kind, chats=args.chats, days=days, content=args.content)
                print(
                    f"| {kind} | {days} | {r['chats']:.0f} | {r['sent']:.0f} | "
                    f"{r['seconds']:.2f} | {r['cpu_ms']:.2f} | {r['peak_rss_mb']:.0f} |",
                    flush=True,
                )
    else:
        for kind in _kinds(args.database):
            conditions = _conditions()
            results = []
            for days in args.days:
                print(f"history dispatch: {kind}, {args.chats} chats, {days} days", flush=True)
                results.append(
                    dispatch_run(
                        kind,
                        chats=args.chats,
                        days=days,
                        content=args.content,
                        startup=args.startup,
                    )
                )
            name = "PostgreSQL" if kind == "postgresql" else "SQLite"
            text_ = _record(name, args.chats, results, args.label, conditions)
            print(text_, flush=True)
            if not args.no_record:
                with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as handle:
                    handle.write(text_)


if __name__ == "__main__":
    main()
