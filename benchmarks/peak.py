"""Peak benchmarks (issue 7): taps during a broadcast, bursts of updates, start-up.

Black box: the real ``python -m bot run`` process, configured by environment
variables, against ``tests.support.fake_telegram_server`` (the test suite's fake
Bot API in its lean mode, in its own process, enforcing Telegram's flood limits
when asked). This driver seeds
the database directly (SQLAlchemy, the bot's table models; the schema comes
from ``alembic upgrade head``), injects updates through the fake's control
endpoint, and reads what the bot sent from the fake's request log. It imports
nothing else from the bot, so it measures whatever the bot becomes.

Scenarios:

- ``taps``: tap-to-answer latency of 40 "Show answer" taps at 5 taps/s, (a) idle
  and (b) 3 s into a broadcast of 600 chats due at once, with Telegram's limits
  on (SEND_RATE_LIMIT=30); (c) the throughput of a 600-chat broadcast alone.
- ``stats``: (after one /stats from another chat, as in a bot running for a while)
  1,000 simultaneous /stats updates from 1,000 chats with 20 reviews
  of history each, then 1,000 "Show answer" taps, then 1,000 grades; limits off
  (SEND_RATE_LIMIT=0): updates/s and bot CPU ms per update.
- ``startup``: 100,000 chats in PostgreSQL; spawn of the bot -> its first
  getUpdates reaching the API, a cold first run then warm runs (same data
  directory, i.e. the bot's working directory).

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (a throw-away
database next to it). ``startup`` needs PostgreSQL and is skipped without it.

    python -m benchmarks.peak taps
    python -m benchmarks.peak stats --updates 1000
    python -m benchmarks.peak startup --chats 100000 --runs 3
    python -m benchmarks.peak all --no-record

Results are printed and appended to BENCHMARKS.md (``--no-record`` to skip),
with the machine, the load average when the run started, and the command.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import math
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import insert, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from benchmarks.history import admin, migrate, seed_history
from benchmarks.machine import load_average, machine, speed_probe
from bot.storage.models import CardRow, ChatRow, DeliveryRow, PersonRow, ReviewRow
from bot.telegram import callbacks as cb
from tests.support.bot_token import TOKEN

REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ALL_DAYS = 127

# Chat id ranges of the scenarios (private chats: positive ids).
IDLE_TAPPERS = 1_000_001
BUSY_TAPPERS = 1_100_001
BROADCAST_B = 2_000_001
BROADCAST_C = 3_000_001
BURST_CHATS = 4_000_001
STARTUP_CHATS = 10_000_001


# --- measuring ----------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered) - 1e-9)))
    return ordered[rank - 1]


# --- the question bank (read as YAML, like any other tool would) --------------


@dataclass(frozen=True)
class BankIds:
    decks: tuple[str, ...]
    questions: tuple[str, ...]


def bank_ids(content: Path) -> BankIds:
    decks: list[str] = []
    questions: list[str] = []
    for path in sorted(content.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "deck" not in data:
            continue
        decks.append(str(data["deck"]["id"]))
        questions += [str(q["id"]) for q in data.get("questions") or []]
    if len(questions) < 30:
        raise SystemExit(f"the bank in {content} has too few questions for the benchmark")
    return BankIds(tuple(decks), tuple(questions))


# --- databases ----------------------------------------------------------------


def zone_near_noon(now: datetime) -> tuple[str, int]:
    """A fixed-offset zone where it is around noon now (no local midnight mid-run)."""
    offset = (12 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return ("UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"), offset * 60


@contextlib.asynccontextmanager
async def database(kind: str, directory: Path) -> AsyncIterator[str]:
    """A migrated, empty, throw-away database: its URL."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{directory}/bench.sqlite3"
        migrate(url)
        yield url
        return
    server_url = os.environ["TEST_DATABASE_URL"]
    name = f"interview_bot_peak_{uuid.uuid4().hex[:8]}"
    await admin(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        await admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def insert_rows(engine: AsyncEngine, model: type[Any], rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            await connection.execute(insert(model), rows[start : start + 5000])


async def insert_deliveries(engine: AsyncEngine, rows: list[dict[str, Any]]) -> list[int]:
    """Insert delivery rows; their ids, in order (the callback data needs them)."""
    ids: list[int] = []
    async with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            result = await connection.execute(
                insert(DeliveryRow).returning(DeliveryRow.id, sort_by_parameter_order=True),
                rows[start : start + 5000],
            )
            ids += [int(row[0]) for row in result]
    return ids


@dataclass
class Seed:
    """Common values of one seeding: now, the zone, the bank."""

    now: datetime
    zone: str
    offset_minutes: int
    bank: BankIds

    @property
    def today(self) -> date:
        return (self.now + timedelta(minutes=self.offset_minutes)).date()

    def people(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        return [
            {"id": i, "first_name": "B", "timezone": self.zone, "created_at": self.now} for i in ids
        ]

    def chats(self, ids: Iterable[int], *, due: datetime) -> list[dict[str, Any]]:
        local = self.now + timedelta(minutes=self.offset_minutes)
        return [
            {
                "id": i,
                "kind": "private",
                "active": True,
                "paused": False,
                "timezone": self.zone,
                "delivery_time": f"{local:%H:%M}",
                "days": ALL_DAYS,
                "decks": ",".join(self.bank.decks),
                "next_due_at": due,
                "created_at": self.now - timedelta(days=30),
                "updated_at": self.now,
            }
            for i in ids
        ]

    def delivery(
        self,
        chat_id: int,
        question_id: str,
        *,
        message_id: int,
        at: datetime,
        daily_on: date | None = None,
        revealed: bool = False,
    ) -> dict[str, Any]:
        return {
            "chat_id": chat_id,
            "question_id": question_id,
            "kind": "daily" if daily_on else "extra",
            "quiz_id": None,
            "daily_on": daily_on,
            "status": "sent",
            "attempts": 1,
            "lease_until": None,
            "message_id": message_id,
            "answer_message_id": message_id + 1 if revealed else None,
            "revealed_at": at + timedelta(seconds=30) if revealed else None,
            "created_at": at,
            "sent_at": at,
        }

    def not_due(self) -> datetime:
        return self.now + timedelta(hours=20)


def new_seed(content: Path) -> Seed:
    now = datetime.now(UTC).replace(microsecond=0)
    zone, offset = zone_near_noon(now)
    return Seed(now=now, zone=zone, offset_minutes=offset, bank=bank_ids(content))


# --- the fake Bot API and the bot process --------------------------------------


class FakeApi:
    """The fake Bot API process and a client for its control endpoints."""

    def __init__(self, *, limits: bool) -> None:
        command = [sys.executable, "-m", "tests.support.fake_telegram_server"]
        self.process = subprocess.Popen(
            [*command, "--limits"] if limits else command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert self.process.stdout is not None
        self.root = self.process.stdout.readline().strip()
        if not self.root.startswith("http"):
            raise SystemExit("the fake Bot API did not start")
        self.http = aiohttp.ClientSession()
        self.log: list[list[Any]] = []
        self.rejected = 0

    async def close(self) -> None:
        await self.http.close()
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    async def _call(self, action: str, body: object = None, **query: str) -> Any:
        url = f"{self.root}/control/{action}"
        async with self.http.post(url, json=body, params=query) as response:
            response.raise_for_status()
            return await response.json()

    async def inject(self, updates: list[dict[str, Any]]) -> tuple[list[int], float]:
        reply = await self._call("updates", {"updates": updates})
        return [int(i) for i in reply["ids"]], float(reply["at"])

    async def refresh(self) -> list[list[Any]]:
        """Fetch the new request records; all records so far."""
        reply = await self._call("log", since=str(len(self.log)))
        self.log += reply["log"]
        self.rejected = int(reply["rejected"])
        return self.log

    async def updates_log(self) -> dict[int, tuple[float, float | None]]:
        reply = await self._call("updates_log")
        return {int(k): (float(v[0]), v[1]) for k, v in reply.items()}

    async def reset(self) -> None:
        await self._call("reset")
        self.log = []
        self.rejected = 0

    async def wait_for(
        self, done: Callable[[list[list[Any]]], bool], *, within: float, what: str
    ) -> None:
        deadline = time.monotonic() + within
        while not done(await self.refresh()):
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out after {within:.0f} s waiting for {what}")
            await asyncio.sleep(0.05)

    async def quiet(self, *, after: int, gap: float = 0.5, within: float = 120) -> float:
        """Wait until the bot makes no request but getUpdates for ``gap`` s; the last one's time."""
        deadline = time.monotonic() + within
        while True:
            log = await self.refresh()
            busy = [r[0] for r in log[after:] if r[1] != "getupdates"]
            last = max(busy) if busy else 0.0
            if time.monotonic() - max(last, 0.0) >= gap or time.monotonic() > deadline:
                return last
            await asyncio.sleep(0.1)


@dataclass
class Bot:
    process: subprocess.Popen[bytes]
    started: float
    log_path: Path
    warms_up: bool = True
    """WARM_UP_AFTER_SECONDS is not 0: the bot logs "warmed up" a moment after start-up."""

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"the bot exited with {self.process.returncode}:\n{tail}")


def start_bot(
    api: FakeApi, url: str, workdir: Path, content: Path, extra_env: dict[str, str]
) -> Bot:
    """``python -m bot run`` in ``workdir`` (its data directory), configured by environment.

    ``{data}`` in an extra value stands for ``workdir`` (e.g. ``CACHE_DIR={data}/cache``).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BOT_", "TELEGRAM_", "DATABASE_", "SEND_", "DISPATCH_"))
    }
    env.update(
        {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.root,
            "DATABASE_URL": url,
            "CONTENT_DIR": str(content),
            "LOG_LEVEL": "INFO",
            **{key: value.replace("{data}", str(workdir)) for key, value in extra_env.items()},
        }
    )
    workdir.mkdir(parents=True, exist_ok=True)
    # The bot's modules byte-compiled, as pip leaves an installed package (the Docker
    # image) and as a second start finds them: with PYTHONDONTWRITEBYTECODE set (as on
    # the benchmark machine) every start would compile some 130 modules from source,
    # about 0.15 s of each start-up (cProfile of ``import bot.app``).
    compileall.compile_dir(REPO / "bot", quiet=1)
    log_path = workdir / "bot.log"
    with log_path.open("ab") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    warms_up = float(env.get("WARM_UP_AFTER_SECONDS", "1")) > 0
    return Bot(process, started, log_path, warms_up)


async def wait_ready(api: FakeApi, bot: Bot, *, within: float = 120) -> float:
    """Wait for the bot's first getUpdates; its arrival time."""
    deadline = time.monotonic() + within
    while True:
        log = await api.refresh()
        for record in log:
            if record[1] == "getupdates" and record[0] >= bot.started:
                return float(record[0])
        bot.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit("the bot did not poll for updates in time")
        await asyncio.sleep(0.05)


async def wait_warmed_up(bot: Bot, *, within: float = 60) -> None:
    """Wait for the bot's background warm-up (bot/study/warm_up.py, its "warmed up" log
    line): the figures are for a bot that has been running, not for its first seconds."""
    deadline = time.monotonic() + within
    while bot.warms_up and b"warmed up" not in bot.log_path.read_bytes():
        bot.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit("the bot did not warm up in time")
        await asyncio.sleep(0.1)


# --- updates --------------------------------------------------------------------


def _user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "B", "language_code": "en"}


def command_update(chat_id: int, command: str, message_id: int) -> dict[str, Any]:
    return {
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "B"},
            "from": _user(chat_id),
            "text": command,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }
    }


def button_update(
    chat_id: int, query_id: str, data: str, message_id: int, text_: str = "Question"
) -> dict[str, Any]:
    return {
        "callback_query": {
            "id": query_id,
            "from": _user(chat_id),
            "chat_instance": f"ci{chat_id}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()) - 60,
                "chat": {"id": chat_id, "type": "private", "first_name": "B"},
                "from": {"id": 999000, "is_bot": True, "first_name": "Bench"},
                "text": text_,
                "reply_markup": {
                    "inline_keyboard": [[{"text": "Show answer", "callback_data": data}]]
                },
            },
        }
    }


# Record fields: [t, method, chat_id, status, tag, ref]
SENT = ("sendmessage", "sendrichmessage")  # a question with a formula or code goes rich
SHOWN = (*SENT, "editmessagetext")  # an answer may be posted or edited in
CALLBACK = ("answercallbackquery",)
BY_CHAT, BY_REF = 2, 5


def first_ok(
    log: Sequence[Sequence[Any]], methods: Sequence[str], tag: str | None, key: int
) -> dict[Any, float]:
    """Accepted (200) records of ``methods`` with ``tag`` (None: any): the first time per
    chat (``BY_CHAT``) or per reference (``BY_REF``: callback query id, replied-to id)."""
    found: dict[Any, float] = {}
    for record in log:
        if record[1] in methods and record[3] == 200 and (tag is None or record[4] == tag):
            found.setdefault(record[key], float(record[0]))
    return found


# --- results -------------------------------------------------------------------


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [
            "| " + " | ".join(self.header) + " |",
            "|" + "---|" * len(self.header),
            *("| " + " | ".join(row) + " |" for row in self.rows),
        ]
        if self.notes:
            lines += ["", *self.notes]
        return "\n".join(lines)


def record(tables: list[Table], *, scenario: str, database_kind: str, load: str, label: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m benchmarks.peak " + shlex.join(sys.argv[1:])
    suffix = f" ({label})" if label else ""
    parts = [
        f"\n### Peak: {scenario}{suffix} — {stamp}\n",
        f"Machine: {machine()}; load average at start {load} (1, 5, 15 min; the 2 cores are "
        "shared with other engineers' work, so figures are noisy; the speed probe is "
        "benchmarks.machine.speed_probe, a fixed loop's CPU seconds: lower is faster)  ",
        f"Database: {database_kind}; command: `{command}`\n",
    ]
    for table in tables:
        parts += [f"{table.title}\n", table.markdown(), ""]
    return "\n".join(parts)


# --- scenario: taps --------------------------------------------------------------


@dataclass
class Options:
    database: str
    content: Path
    updates: int
    chats: int
    runs: int
    taps: int
    tap_rate: float
    broadcast: int
    broadcast_delay: float
    dispatch_interval: float
    extra_env: dict[str, str]
    history_days: int = 20


async def seed_taps(url: str, seed: Seed, options: Options) -> dict[int, int]:
    """Tappers with a sent question each; two broadcast sets, not yet due. Delivery per tapper."""
    engine = create_async_engine(url)
    try:
        tappers = [IDLE_TAPPERS + i for i in range(options.taps)]
        tappers += [BUSY_TAPPERS + i for i in range(options.taps)]
        broadcast = [BROADCAST_B + i for i in range(options.broadcast)]
        broadcast += [BROADCAST_C + i for i in range(options.broadcast)]
        everyone = tappers + broadcast
        await insert_rows(engine, PersonRow, seed.people(everyone))
        await insert_rows(engine, ChatRow, seed.chats(everyone, due=seed.not_due()))
        questions = seed.bank.questions
        at = seed.now - timedelta(minutes=5)
        rows = [
            seed.delivery(chat, questions[i % len(questions)], message_id=100 + i, at=at)
            for i, chat in enumerate(tappers)
        ]
        ids = await insert_deliveries(engine, rows)
        return dict(zip(tappers, ids, strict=True))
    finally:
        await engine.dispose()


async def make_due(url: str, chat_ids: Sequence[int]) -> float:
    """Make chats due now, as their delivery minute arriving would; when it was done.

    One transaction, in statements of 10,000 ids (a driver caps the bound parameters of
    one statement: asyncpg at 32,767), so 100,000 chats become due at the same instant.
    """
    engine = create_async_engine(url)
    ids = list(chat_ids)
    try:
        async with engine.begin() as connection:
            now = datetime.now(UTC) - timedelta(seconds=1)
            for start in range(0, len(ids), 10_000):
                chunk = ids[start : start + 10_000]
                await connection.execute(
                    update(ChatRow).where(ChatRow.id.in_(chunk)).values(next_due_at=now)
                )
        return time.monotonic()
    finally:
        await engine.dispose()


async def tap(
    api: FakeApi, deliveries: dict[int, int], chats: Sequence[int], rate: float, tag: str
) -> dict[int, tuple[str, int]]:
    """Show answer in each chat, ``rate`` taps a second; chat -> (query id, update id)."""
    sent: dict[int, tuple[str, int]] = {}
    start = time.monotonic()
    for index, chat in enumerate(chats):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        query_id = f"{tag}-{chat}"
        data = cb.encode(cb.Reveal(deliveries[chat]))
        ids, _ = await api.inject([button_update(chat, query_id, data, 100 + index)])
        sent[chat] = (query_id, ids[0])
    return sent


async def tap_latencies(
    api: FakeApi, taps: dict[int, tuple[str, int]], *, within: float
) -> tuple[list[float], list[float]]:
    """(answer posted, callback answered) latencies in seconds, from each tap's injection."""

    def done(log: list[list[Any]]) -> bool:
        posted = first_ok(log, SHOWN, "grades", BY_CHAT)
        return all(chat in posted for chat in taps)

    await api.wait_for(done, within=within, what="every tap's answer to be posted")
    await asyncio.sleep(0.5)  # the callback answers follow the posted answers
    log = await api.refresh()
    queued = await api.updates_log()
    posted = first_ok(log, SHOWN, "grades", BY_CHAT)
    answered = first_ok(log, CALLBACK, "callback", BY_REF)
    posted_s = [posted[chat] - queued[uid][0] for chat, (_, uid) in taps.items()]
    answered_s = [answered[qid] - queued[uid][0] for qid, uid in taps.values() if qid in answered]
    return posted_s, answered_s


def latency_row(name: str, posted: list[float], answered: list[float], rejected: int) -> list[str]:
    def fmt(values: list[float], q: float) -> str:
        return f"{percentile(values, q):.2f}" if values else "–"

    return [
        name,
        str(len(posted)),
        fmt(posted, 50),
        fmt(posted, 99),
        f"{max(posted):.2f}",
        fmt(answered, 50),
        fmt(answered, 99),
        str(rejected),
    ]


TAP_COLUMNS = [
    "phase",
    "taps",
    "answer posted p50",
    "p99",
    "max",
    "callback answered p50",
    "p99",
    "429s",
]
"""The columns of a tap-latency table (:func:`latency_row` makes its rows)."""


async def run_taps(options: Options, workdir: Path) -> list[Table]:
    seed = new_seed(options.content)
    async with database(options.database, workdir) as url:
        deliveries = await seed_taps(url, seed, options)
        api = FakeApi(limits=True)
        bot = start_bot(
            api,
            url,
            workdir / "bot",
            options.content,
            {
                "SEND_RATE_LIMIT": "30",
                "DISPATCH_INTERVAL_SECONDS": str(options.dispatch_interval),
                **options.extra_env,
            },
        )
        try:
            await wait_ready(api, bot)
            await wait_warmed_up(bot)
            await asyncio.sleep(max(2.0, options.dispatch_interval))  # the first tick, idle
            idle_chats = [IDLE_TAPPERS + i for i in range(options.taps)]
            busy_chats = [BUSY_TAPPERS + i for i in range(options.taps)]
            set_b = [BROADCAST_B + i for i in range(options.broadcast)]
            set_c = [BROADCAST_C + i for i in range(options.broadcast)]

            # (a) idle
            rejected0 = api.rejected
            taps_a = await tap(api, deliveries, idle_chats, options.tap_rate, "a")
            posted_a, answered_a = await tap_latencies(api, taps_a, within=300)
            bot.check_alive()
            await api.quiet(after=0)
            rejected_a = api.rejected - rejected0

            # (b) 3 s into a broadcast
            rejected0 = api.rejected
            mark = len(api.log)
            await make_due(url, set_b)
            targets_b = set(set_b)

            def broadcast_started(log: list[list[Any]]) -> bool:
                return any(r[1] in SENT and r[2] in targets_b for r in log[mark:])

            await api.wait_for(broadcast_started, within=120, what="the broadcast to start")
            first_b = min(r[0] for r in api.log[mark:] if r[1] in SENT and r[2] in targets_b)
            await asyncio.sleep(max(0.0, first_b + options.broadcast_delay - time.monotonic()))
            taps_b = await tap(api, deliveries, busy_chats, options.tap_rate, "b")
            posted_b, answered_b = await tap_latencies(api, taps_b, within=600)

            def all_delivered(targets: set[int], since: int) -> Callable[[list[list[Any]]], bool]:
                def check(log: list[list[Any]]) -> bool:
                    return len(
                        first_ok(log[since:], SENT, "question", BY_CHAT).keys() & targets
                    ) >= len(targets)

                return check

            await api.wait_for(all_delivered(targets_b, mark), within=600, what="broadcast (b)")
            bot.check_alive()
            await api.quiet(after=0)
            rejected_b = api.rejected - rejected0

            # (c) the broadcast alone
            rejected0 = api.rejected
            mark = len(api.log)
            cpu0 = bot.cpu()
            due_at = await make_due(url, set_c)
            targets_c = set(set_c)
            await api.wait_for(all_delivered(targets_c, mark), within=600, what="broadcast (c)")
            cpu = bot.cpu() - cpu0
            sends = [r for r in api.log[mark:] if r[1] in SENT and r[2] in targets_c]
            accepted = sorted(r[0] for r in sends if r[3] == 200)
            first_try = min(r[0] for r in sends)
            span = accepted[-1] - first_try
            rate = (len(accepted) - 1) / span if span > 0 else float("nan")
            rejected_c = api.rejected - rejected0
        finally:
            bot.stop()
            await api.close()

    taps_table = Table(
        f"Tap-to-answer latency, {options.taps} taps of Show answer at {options.tap_rate:g}/s, "
        f"Telegram's limits enforced by the fake, SEND_RATE_LIMIT=30 (seconds from the update "
        f"being available to getUpdates)",
        TAP_COLUMNS,
        [
            latency_row("(a) idle", posted_a, answered_a, rejected_a),
            latency_row(
                f"(b) {options.broadcast_delay:g} s into a broadcast of {options.broadcast} chats",
                posted_b,
                answered_b,
                rejected_b,
            ),
        ],
    )
    broadcast_table = Table(
        f"(c) Broadcast of {options.broadcast} chats due at once, nobody tapping",
        [
            "messages",
            "msg/s (first send → last accepted)",
            "% of 30/s",
            "due → last s",
            "429s",
            "bot CPU ms/message",
        ],
        [
            [
                str(len(accepted)),
                f"{rate:.1f}",
                f"{100 * rate / 30:.0f}%",
                f"{accepted[-1] - due_at:.1f}",
                str(rejected_c),
                f"{1000 * cpu / max(1, len(accepted)):.2f}",
            ]
        ],
        [
            f"The chats were made due by setting their next due instant to now while the bot "
            f'ran (DISPATCH_INTERVAL_SECONDS={options.dispatch_interval:g}, so "due → last" '
            f"includes up to one tick of waiting)."
        ],
    )
    return [taps_table, broadcast_table]


# --- scenario: stats / reveal / grade bursts -----------------------------------------


async def seed_bursts(
    url: str, seed: Seed, chats: int, history_days: int = 20, content: Path | None = None
) -> tuple[dict[int, int], dict[int, int]]:
    """Chats with ``history_days`` reviewed deliveries each, one sent question and one
    revealed answer. 20 days: the original seeding; otherwise benchmarks.history's
    (daily deliveries, reviews and cards for each past day, in UTC).

    Returns chat -> delivery id to reveal, chat -> delivery id to grade.
    """
    engine = create_async_engine(url)
    questions = seed.bank.questions
    try:
        ids = [BURST_CHATS + i for i in range(chats)]
        if history_days != 20:
            assert content is not None
            await seed_history(
                url,
                chats=chats,
                days=history_days,
                now=seed.now,
                content=content,
                first_chat=BURST_CHATS,
                due=seed.not_due(),
            )
            return await _reveal_and_grade_rows(engine, seed, ids, history_days)
        await insert_rows(engine, PersonRow, seed.people(ids))
        await insert_rows(engine, ChatRow, seed.chats(ids, due=seed.not_due()))
        history: list[dict[str, Any]] = []
        picks: list[tuple[int, str, int]] = []  # chat, question, day index
        for n, chat in enumerate(ids):
            for day in range(history_days):
                question = questions[(n + day) % len(questions)]
                at = seed.now - timedelta(days=history_days - day)
                local_day = seed.today - timedelta(days=history_days - day)
                history.append(
                    seed.delivery(
                        chat,
                        question,
                        message_id=10 + 2 * day,
                        at=at,
                        daily_on=local_day,
                        revealed=True,
                    )
                )
                picks.append((chat, question, day))
        history_ids = await insert_deliveries(engine, history)
        reviews: list[dict[str, Any]] = []
        cards: list[dict[str, Any]] = []
        for delivery_id, (chat, question, day) in zip(history_ids, picks, strict=True):
            at = seed.now - timedelta(days=history_days - day) + timedelta(minutes=2)
            rating = 1 + (chat + day) % 4
            reviews.append(
                {
                    "person_id": chat,
                    "question_id": question,
                    "delivery_id": delivery_id,
                    "chat_id": chat,
                    "rating": rating,
                    "source": "daily",
                    "reviewed_at": at,
                    "local_date": (at + timedelta(minutes=seed.offset_minutes)).date(),
                    "utc_offset_minutes": seed.offset_minutes,
                }
            )
            due = seed.now + timedelta(days=(day % 7) - 2)
            cards.append(
                {
                    "person_id": chat,
                    "question_id": question,
                    "due": due,
                    "state": {
                        "state": 2,
                        "step": None,
                        "stability": 2.0 + day,
                        "difficulty": 5.0,
                        "due": due.isoformat(),
                        "last_review": at.isoformat(),
                    },
                    "reps": 1,
                    "lapses": 1 if rating == 1 else 0,
                    "updated_at": at,
                }
            )
        await insert_rows(engine, ReviewRow, reviews)
        await insert_rows(engine, CardRow, cards)
        return await _reveal_and_grade_rows(engine, seed, ids, history_days)
    finally:
        await engine.dispose()


async def _reveal_and_grade_rows(
    engine: AsyncEngine, seed: Seed, ids: list[int], history_days: int
) -> tuple[dict[int, int], dict[int, int]]:
    """Each chat's question to reveal and revealed answer to grade (sent 10 minutes ago)."""
    questions = seed.bank.questions
    at = seed.now - timedelta(minutes=10)
    to_reveal = [
        seed.delivery(chat, questions[(n + history_days) % len(questions)], message_id=100, at=at)
        for n, chat in enumerate(ids)
    ]
    to_grade = [
        seed.delivery(
            chat,
            questions[(n + history_days + 1) % len(questions)],
            message_id=200,
            at=at,
            revealed=True,
        )
        for n, chat in enumerate(ids)
    ]
    reveal_ids = await insert_deliveries(engine, to_reveal)
    grade_ids = await insert_deliveries(engine, to_grade)
    return dict(zip(ids, reveal_ids, strict=True)), dict(zip(ids, grade_ids, strict=True))


@dataclass
class Burst:
    name: str
    updates: int
    seconds: float
    all_seconds: float
    cpu_ms: float
    poll_s: float

    def row(self) -> list[str]:
        return [
            self.name,
            str(self.updates),
            f"{self.updates / self.seconds:.0f}",
            f"{self.cpu_ms:.2f}",
            f"{self.seconds:.2f}",
            f"{self.all_seconds:.2f}",
            f"{self.poll_s:.2f}",
        ]


async def burst(
    api: FakeApi,
    bot: Bot,
    name: str,
    updates: list[dict[str, Any]],
    done: Callable[[list[list[Any]], int], dict[Any, float]],
    keys: set[Any],
) -> Burst:
    """Inject every update at once; wait until each key has its reply; rate and CPU."""
    await api.quiet(after=0)
    mark = len(api.log)
    cpu0 = bot.cpu()
    ids, at = await api.inject(updates)

    def complete(log: list[list[Any]]) -> bool:
        return keys <= done(log, mark).keys()

    await api.wait_for(complete, within=900, what=f"replies to {len(updates)} {name}")
    last_reply = max(v for k, v in done(api.log, mark).items() if k in keys)
    last_any = await api.quiet(after=mark)
    cpu = bot.cpu() - cpu0
    bot.check_alive()
    served = await api.updates_log()
    last_served = max((served[i][1] or at) for i in ids)
    return Burst(
        name,
        len(updates),
        last_reply - at,
        max(last_any, last_reply) - at,
        1000 * cpu / len(updates),
        last_served - at,
    )


async def run_bursts(options: Options, workdir: Path) -> list[Table]:
    seed = new_seed(options.content)
    chats = options.updates
    async with database(options.database, workdir) as url:
        # One chat more than the burst: its /stats comes first, as in a bot that has
        # been running for a while (the one-off import of the drawing library is not
        # part of the crowd's cost; README "The peak minute").
        print(f"seeding {chats + 1} chats, {options.history_days} days of history …", flush=True)
        reveal, grade = await seed_bursts(
            url, seed, chats + 1, options.history_days, options.content
        )
        api = FakeApi(limits=False)
        bot = start_bot(
            api,
            url,
            workdir / "bot",
            options.content,
            {"SEND_RATE_LIMIT": "0", "DISPATCH_INTERVAL_SECONDS": "60", **options.extra_env},
        )
        ids = [BURST_CHATS + i for i in range(chats)]
        try:
            await wait_ready(api, bot)
            await wait_warmed_up(bot)
            await asyncio.sleep(2.0)
            results = []

            def texts_to_chats(log: list[list[Any]], mark: int) -> dict[Any, float]:
                return first_ok(log[mark:], SENT, None, BY_CHAT)

            warm = BURST_CHATS + chats
            await burst(
                api, bot, "/stats", [command_update(warm, "/stats", 5000)], texts_to_chats, {warm}
            )
            await asyncio.sleep(1.0)  # past the picture's pause (STATS_PICTURE_SHARE)
            stats_updates = [command_update(chat, "/stats", 5000) for chat in ids]
            results.append(await burst(api, bot, "/stats", stats_updates, texts_to_chats, set(ids)))

            def answers_posted(log: list[list[Any]], mark: int) -> dict[Any, float]:
                return first_ok(log[mark:], SHOWN, "grades", BY_CHAT)

            reveal_updates = [
                button_update(chat, f"r-{chat}", cb.encode(cb.Reveal(reveal[chat])), 100)
                for chat in ids
            ]
            results.append(
                await burst(api, bot, "Show answer", reveal_updates, answers_posted, set(ids))
            )

            def callbacks_answered(log: list[list[Any]], mark: int) -> dict[Any, float]:
                return first_ok(log[mark:], CALLBACK, "callback", BY_REF)

            grade_updates = [
                button_update(
                    chat, f"g-{chat}", cb.encode(cb.Grade(grade[chat], 3)), 201, "Model answer"
                )
                for chat in ids
            ]
            results.append(
                await burst(
                    api,
                    bot,
                    "grade (Good)",
                    grade_updates,
                    callbacks_answered,
                    {f"g-{chat}" for chat in ids},
                )
            )
        finally:
            bot.stop()
            await api.close()
    return [
        Table(
            f"{chats} simultaneous updates from {chats} private chats "
            f"({options.history_days} reviews of history "
            "each), limits off (SEND_RATE_LIMIT=0)",
            [
                "updates",
                "n",
                "updates/s",
                "bot CPU ms/update",
                "last reply s",
                "all requests done s",
                "last update fetched s",
            ],
            [result.row() for result in results],
            [
                "updates/s = n / (injection → the last update's reply: the /stats message, "
                "the posted answer, the answered callback of a grade). CPU is the bot "
                "process's user+system time from injection until the bot fell quiet (edits "
                'included), divided by n. "last update fetched" is when the bot\'s '
                "getUpdates took the last update."
            ],
        )
    ]


# --- scenario: start-up -----------------------------------------------------------


async def seed_startup(url: str, seed: Seed, chats: int) -> None:
    engine = create_async_engine(url)
    try:
        for start in range(0, chats, 20_000):
            ids = range(STARTUP_CHATS + start, STARTUP_CHATS + min(chats, start + 20_000))
            await insert_rows(engine, PersonRow, seed.people(ids))
            await insert_rows(engine, ChatRow, seed.chats(ids, due=seed.not_due()))
    finally:
        await engine.dispose()


async def run_startup(options: Options, workdir: Path) -> list[Table]:
    seed = new_seed(options.content)
    rows: list[list[str]] = []
    async with database(options.database, workdir) as url:
        print(f"seeding {options.chats} chats …", flush=True)
        await seed_startup(url, seed, options.chats)
        api = FakeApi(limits=False)
        data_dir = workdir / "bot"  # the same data directory for every run
        try:
            for run in range(1, options.runs + 1):
                await api.reset()
                bot = start_bot(
                    api,
                    url,
                    data_dir,
                    options.content,
                    {
                        "SEND_RATE_LIMIT": "30",
                        "DISPATCH_INTERVAL_SECONDS": "10",
                        **options.extra_env,
                    },
                )
                try:
                    polled = await wait_ready(api, bot)
                    first = min(r[0] for r in api.log if r[0] >= bot.started)
                    cpu = bot.cpu()
                finally:
                    bot.stop()
                kind = "first (cold data directory)" if run == 1 else "again (warm)"
                rows.append(
                    [
                        f"{run}: {kind}",
                        f"{polled - bot.started:.2f}",
                        f"{first - bot.started:.2f}",
                        f"{cpu:.2f}",
                    ]
                )
                print(" | ".join(rows[-1]), flush=True)
        finally:
            await api.close()
    return [
        Table(
            f"Start-up with {options.chats} chats: spawn of `python -m bot run` → its first "
            "getUpdates reaching the API",
            [
                "run",
                "spawn → first getUpdates s",
                "spawn → first API request s",
                "bot CPU s until then",
            ],
            rows,
            [
                "Every run uses the same working directory (the bot's data directory); run 1 "
                "starts with it empty. Python's bytecode caches and the OS page cache are warm "
                "in every run."
            ],
        )
    ]


# --- entry point ---------------------------------------------------------------------


SCENARIOS: dict[str, Callable[[Options, Path], Coroutine[Any, Any, list[Table]]]] = {
    "taps": run_taps,
    "stats": run_bursts,
    "startup": run_startup,
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.peak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument(
        "--database",
        choices=["auto", "sqlite", "postgresql"],
        default="auto",
        help="auto: PostgreSQL when TEST_DATABASE_URL is set, else SQLite "
        "(startup: PostgreSQL only)",
    )
    parser.add_argument("--content", type=Path, default=REPO / "content")
    parser.add_argument("--updates", type=int, default=1000, help="stats: chats/updates per burst")
    parser.add_argument(
        "--history-days",
        type=int,
        default=20,
        help="stats: days of history per chat (a delivery, a review each; cards)",
    )
    parser.add_argument("--chats", type=int, default=100_000, help="startup: chats seeded")
    parser.add_argument("--runs", type=int, default=2, help="startup: bot starts (1st cold)")
    parser.add_argument("--taps", type=int, default=40)
    parser.add_argument("--tap-rate", type=float, default=5.0, help="taps per second")
    parser.add_argument("--broadcast", type=int, default=600, help="taps: chats due at once")
    parser.add_argument(
        "--broadcast-delay",
        type=float,
        default=3.0,
        help="taps: seconds into the broadcast when (b)'s taps start",
    )
    parser.add_argument(
        "--dispatch-interval",
        type=float,
        default=1.0,
        help="taps: DISPATCH_INTERVAL_SECONDS of the bot",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the bot (repeatable); {data} in a value stands for the "
        "bot's working (data) directory",
    )
    parser.add_argument("--label", default="", help="a note for the heading, e.g. before")
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    has_postgres = bool(os.environ.get("TEST_DATABASE_URL"))
    extra_env = dict(item.split("=", 1) for item in args.env)
    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    for scenario in scenarios:
        kind = args.database
        if kind == "auto":
            kind = "postgresql" if has_postgres or scenario == "startup" else "sqlite"
        if kind == "postgresql" and not has_postgres:
            print(f"peak {scenario}: skipped, PostgreSQL needs TEST_DATABASE_URL", flush=True)
            continue
        options = Options(
            database=kind,
            content=args.content.resolve(),
            updates=args.updates,
            chats=args.chats,
            runs=args.runs,
            taps=args.taps,
            tap_rate=args.tap_rate,
            broadcast=args.broadcast,
            broadcast_delay=args.broadcast_delay,
            dispatch_interval=args.dispatch_interval,
            extra_env=extra_env,
            history_days=args.history_days,
        )
        load = f"{load_average()}; speed probe {speed_probe():.2f} s"
        print(f"peak {scenario} on {kind} (load average {load}) …", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"peak-{scenario}-") as directory:
            tables = asyncio.run(SCENARIOS[scenario](options, Path(directory)))
        database_kind = "PostgreSQL" if kind == "postgresql" else "SQLite"
        text_ = record(
            tables, scenario=scenario, database_kind=database_kind, load=load, label=args.label
        )
        print(text_, flush=True)
        if not args.no_record:
            with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as handle:
                handle.write(text_)


if __name__ == "__main__":
    main()
