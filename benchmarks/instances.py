"""Multi-instance broadcast benchmark (issue 14): 1, 2, 3 bot processes on one PostgreSQL.

Black box, like benchmarks.peak: N real ``python -m bot run`` processes in webhook
mode (default SEND_RATE_LIMIT=30) on one throw-away PostgreSQL database, behind the
test suite's fake Bot API in its lean mode (tests.support.fake_telegram_server),
enforcing Telegram's flood limits and POSTing updates to the instances in turn, like a
load balancer. For each N:

1. **Broadcast**: ``--broadcast`` chats fall due at once. Measured: questions/s overall
   (first send → last accepted), against the 30/s budget; 429s; duplicates (questions
   beyond the first in a chat).
2. **Taps during a broadcast**: another ``--broadcast`` chats fall due; 3 s after the
   first question went out, ``--taps`` people tap "Show answer" at ``--tap-rate``/s
   (their updates spread over the instances). Measured: tap → posted answer p50/p99
   on every instance; 429s; duplicates.
3. **kill -9** (N ≥ 2): another ``--broadcast`` chats fall due; when a third of them
   are served, one instance is killed with SIGKILL. Measured: due → last question
   (the killed instance's claimed, unsent deliveries wait for their lease,
   DELIVERY_LEASE_SECONDS, before another instance takes them over), 429s and
   duplicates (a question the killed process sent but had not recorded is sent again:
   at-least-once).

    TEST_DATABASE_URL=postgresql+asyncpg://... python -m benchmarks.instances
    python -m benchmarks.instances --instances 2 --broadcast 600 --no-record
    make bench SCENARIO=instances ARGS="--instances 1,2"

Results are printed and appended to BENCHMARKS.md (``--no-record`` to skip).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.machine import load_average, machine
from benchmarks.peak import (
    BY_CHAT,
    REPO,
    SENT,
    SHOWN,
    Bot,
    FakeApi,
    Seed,
    Table,
    button_update,
    database,
    first_ok,
    insert_deliveries,
    insert_rows,
    make_due,
    new_seed,
    percentile,
    start_bot,
)
from bot.storage.models import ChatRow, PersonRow
from bot.telegram import callbacks as cb

TAPPERS = 5_000_001
ALONE = 5_500_001
BROADCAST = 6_000_001
KILLED = 7_000_001
SECRET = "bench-webhook-secret"
WEBHOOK_URL = "https://bench.example.test/tg"
BUDGET = 30.0


@dataclass
class Options:
    instances: list[int]
    broadcast: int
    taps: int
    tap_rate: float
    tap_delay: float
    content: Path
    record: bool
    label: str


@dataclass
class Result:
    instances: int
    sent: int
    rate: float
    rejected: str
    duplicates: int
    busiest: int
    taps: dict[int, list[float]]  # instance -> tap latencies
    tap_rejected: str = "0"
    tap_duplicates: int = 0
    kill_finish: float | None = None
    kill_after: float | None = None
    kill_rejected: str | None = None
    kill_duplicates: int | None = None
    kill_sent: int | None = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed(url: str, seed: Seed, options: Options) -> dict[int, int]:
    """Tappers with a sent question each; three broadcast sets, not yet due."""
    engine = create_async_engine(url)
    try:
        tappers = [TAPPERS + i for i in range(options.taps)]
        broadcast = [ALONE + i for i in range(options.broadcast)]
        broadcast += [BROADCAST + i for i in range(options.broadcast)]
        broadcast += [KILLED + i for i in range(options.broadcast)]
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


async def wait_healthy(roots: Sequence[str], bots: Sequence[Bot], within: float = 120) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        for root, bot in zip(roots, bots, strict=True):
            while True:
                bot.check_alive()
                try:
                    async with http.get(f"{root}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{root} never became healthy")
                await asyncio.sleep(0.1)


def questions_to(log: Sequence[Sequence[Any]], targets: set[int]) -> list[Sequence[Any]]:
    """Accepted question messages sent to the target chats."""
    return [
        r for r in log if r[1] in SENT and r[3] == 200 and r[4] == "question" and r[2] in targets
    ]


MESSAGES = (*SENT, "editmessagetext", "editmessagereplymarkup")


def busiest_second(log: Sequence[Sequence[Any]]) -> int:
    """The most messages the fake accepted in any one-second window (its limit: 30)."""
    times = sorted(r[0] for r in log if r[1] in MESSAGES and r[3] == 200)
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def rejected_by(api: FakeApi) -> dict[str, int]:
    reply = await api._call("log", since=str(10**9))
    return {str(k): int(v) for k, v in reply["rejected_by"].items()}


def rejections(before: dict[str, int], after: dict[str, int]) -> str:
    """429s between two readings, with the limit each broke ("2 (overall)")."""
    delta = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
    total = sum(delta.values())
    return f"{total} ({', '.join(f'{n} {k}' for k, n in sorted(delta.items()))})" if total else "0"


def duplicates(sends: Sequence[Sequence[Any]]) -> int:
    return sum(count - 1 for count in Counter(r[2] for r in sends).values() if count > 1)


async def served(api: FakeApi, targets: set[int], since: int, share: float, within: float) -> None:
    need = len(targets) * share

    def done(log: list[list[Any]]) -> bool:
        return len({r[2] for r in questions_to(log[since:], targets)}) >= need

    await api.wait_for(done, within=within, what=f"{share:.0%} of the broadcast")


async def run(n: int, options: Options, workdir: Path) -> Result:
    seeded = new_seed(options.content)
    async with database("postgresql", workdir / f"n{n}") as url:
        deliveries = await seed(url, seeded, options)
        api = FakeApi(limits=True)
        ports = [free_port() for _ in range(n)]
        roots = [f"http://127.0.0.1:{port}" for port in ports]
        bots = [
            start_bot(
                api,
                url,
                workdir / f"n{n}" / f"bot{index}",
                options.content,
                {
                    "SEND_RATE_LIMIT": str(BUDGET),
                    "DISPATCH_INTERVAL_SECONDS": "1",
                    "WEBHOOK_URL": WEBHOOK_URL,
                    "WEBHOOK_SECRET": SECRET,
                    "HTTP_LISTEN": f"127.0.0.1:{port}",
                },
            )
            for index, port in enumerate(ports)
        ]
        try:
            await wait_healthy(roots, bots)
            await api._call("config", {"webhook_endpoints": [f"{root}/tg" for root in roots]})
            await asyncio.sleep(2.0)  # every instance's first dispatcher tick, idle

            # 1. The broadcast alone: its throughput.
            targets = {ALONE + i for i in range(options.broadcast)}
            rejected0, mark = await rejected_by(api), len(await api.refresh())
            await make_due(url, sorted(targets))
            await served(api, targets, mark, 1.0, 600)
            log = await api.refresh()
            sends = questions_to(log[mark:], targets)
            accepted = sorted(r[0] for r in sends)
            span = accepted[-1] - accepted[0]
            rate = (len({r[2] for r in sends}) - 1) / span if span > 0 else float("nan")
            result = Result(
                n,
                len(sends),
                rate,
                rejections(rejected0, await rejected_by(api)),
                duplicates(sends),
                busiest_second(log[mark:]),
                {},
            )
            await api.quiet(after=len(log), gap=1.0)

            # 2. The broadcast with taps 3 s into it: the taps' latency on every instance.
            targets = {BROADCAST + i for i in range(options.broadcast)}
            rejected0, mark = await rejected_by(api), len(await api.refresh())
            await make_due(url, sorted(targets))
            await served(api, targets, mark, 1 / options.broadcast, 120)
            first = min(r[0] for r in questions_to(api.log[mark:], targets))
            await asyncio.sleep(max(0.0, first + options.tap_delay - time.monotonic()))
            taps = await tap(api, deliveries, options)
            await served(api, targets, mark, 1.0, 600)
            log = await api.refresh()
            sends = questions_to(log[mark:], targets)
            queued = await api._call("updates_log")
            posted = first_ok(log, SHOWN, "grades", BY_CHAT)
            result.taps = {index: [] for index in range(n)}
            for chat, update_id in taps.items():
                entry = queued[str(update_id)]
                if chat in posted and entry[2] is not None:
                    result.taps[int(entry[2])].append(posted[chat] - entry[0])
            result.tap_rejected = rejections(rejected0, await rejected_by(api))
            result.tap_duplicates = duplicates(sends)
            await api.quiet(after=len(log), gap=1.0)

            # 2. kill -9 of one instance in the middle of a broadcast.
            if n >= 2:
                targets = {KILLED + i for i in range(options.broadcast)}
                rejected0, mark = await rejected_by(api), len(await api.refresh())
                due = await make_due(url, sorted(targets))
                await served(api, targets, mark, 1 / 3, 600)
                bots[0].process.send_signal(signal.SIGKILL)
                killed = time.monotonic()
                await served(api, targets, mark, 1.0, 900)
                await asyncio.sleep(2.0)  # a late duplicate would come now
                log = await api.refresh()
                sends = questions_to(log[mark:], targets)
                last = max(r[0] for r in sends)
                result.kill_finish = last - due
                result.kill_after = last - killed
                result.kill_rejected = rejections(rejected0, await rejected_by(api))
                result.kill_duplicates = duplicates(sends)
                result.kill_sent = len(sends)
            for bot in bots[1:] if n >= 2 else bots:
                bot.check_alive()
            return result
        finally:
            for bot in bots:
                bot.stop()
            await api.close()


async def tap(api: FakeApi, deliveries: dict[int, int], options: Options) -> dict[int, int]:
    """Show answer in each tapper's chat at ``tap_rate``/s; chat -> update id."""
    sent: dict[int, int] = {}
    start = time.monotonic()
    for index, chat in enumerate(sorted(deliveries)):
        delay = start + index / options.tap_rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = cb.encode(cb.Reveal(deliveries[chat]))
        ids, _ = await api.inject([button_update(chat, f"t-{chat}", data, 100 + index)])
        sent[chat] = ids[0]
    return sent


def tables(results: list[Result], options: Options) -> list[Table]:
    def tap_cell(values: list[float]) -> str:
        if not values:
            return "–"
        return f"{percentile(values, 50):.2f} / {percentile(values, 99):.2f} ({len(values)})"

    broadcast = Table(
        f"(1) Broadcast of {options.broadcast} chats due at once, nobody tapping; Telegram's "
        "limits enforced by the fake, SEND_RATE_LIMIT=30 on each instance (questions/s: first "
        "send → last accepted)",
        [
            "instances",
            "questions",
            "questions/s overall",
            "% of 30/s",
            "busiest second (messages)",
            "429s",
            "duplicates",
        ],
    )
    for result in results:
        broadcast.rows.append(
            [
                str(result.instances),
                str(result.sent),
                f"{result.rate:.1f}",
                f"{100 * result.rate / BUDGET:.0f}%",
                str(result.busiest),
                result.rejected,
                str(result.duplicates),
            ]
        )
    taps = Table(
        f"(2) Another {options.broadcast} chats due at once; {options.taps} taps of Show answer "
        f"at {options.tap_rate:g}/s starting {options.tap_delay:g} s into the broadcast, spread "
        "over the instances by the fake's webhook (seconds from the update queued to its "
        "answer posted)",
        ["instances", "tap → answer p50 / p99 s (taps), per instance", "429s", "duplicates"],
    )
    for result in results:
        taps.rows.append(
            [
                str(result.instances),
                "; ".join(tap_cell(result.taps[i]) for i in sorted(result.taps)),
                result.tap_rejected,
                str(result.tap_duplicates),
            ]
        )
    kill = Table(
        f"(3) kill -9 of one instance when a third of another {options.broadcast} due chats "
        "were served (DELIVERY_LEASE_SECONDS=60, the default: the killed instance's claimed "
        "deliveries are taken over when their lease runs out)",
        ["instances", "questions", "due → last question s", "kill → last s", "429s", "duplicates"],
    )
    for result in results:
        if result.kill_finish is None:
            continue
        kill.rows.append(
            [
                str(result.instances),
                str(result.kill_sent),
                f"{result.kill_finish:.1f}",
                f"{result.kill_after:.1f}",
                str(result.kill_rejected),
                str(result.kill_duplicates),
            ]
        )
    return [broadcast, taps, kill] if kill.rows else [broadcast, taps]


def record(parts: list[Table], options: Options, load: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m benchmarks.instances " + shlex.join(sys.argv[1:])
    suffix = f" ({options.label})" if options.label else ""
    text = [
        f"\n### Multi-instance broadcast{suffix} — {stamp}\n",
        f"Machine: {machine()}; load average at start {load} (1, 5, 15 min; the 2 cores are "
        "shared with other engineers' work and with every instance, the fake and PostgreSQL, "
        "so figures are noisy)  ",
        f"Database: PostgreSQL; command: `{command}`\n",
    ]
    for table in parts:
        text += [f"{table.title}\n", table.markdown(), ""]
    return "\n".join(text)


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", default="1,2,3", help="comma-separated counts")
    parser.add_argument("--broadcast", type=int, default=900)
    parser.add_argument("--taps", type=int, default=40)
    parser.add_argument("--tap-rate", type=float, default=5.0)
    parser.add_argument("--tap-delay", type=float, default=3.0)
    parser.add_argument("--content", type=Path, default=REPO / "content")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    return Options(
        instances=[int(n) for n in str(args.instances).split(",") if n.strip()],
        broadcast=args.broadcast,
        taps=args.taps,
        tap_rate=args.tap_rate,
        tap_delay=args.tap_delay,
        content=args.content,
        record=not args.no_record,
        label=args.label,
    )


async def main_async(options: Options) -> None:
    load = load_average()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-instances-") as directory:
        for n in options.instances:
            print(f"{n} instance(s)...", flush=True)
            results.append(await run(n, options, Path(directory)))
    text = record(tables(results, options), options, load)
    print(text)
    if options.record:
        with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as handle:
            handle.write(text)


def main(argv: Sequence[str] | None = None) -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        raise SystemExit("instances: several instances need PostgreSQL; set TEST_DATABASE_URL")
    asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    main()
