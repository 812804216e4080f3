"""What reading a large deck file costs everyone else (issue 18): the event loop's work
while a 2,000-question CSV is read by the bot's deck reader (bot/service/deck_parser.py)
in a thread of the process (``DECK_PARSE_WORKERS=0``) and in a worker process (``1``, the
default).

The loop's work stands for the replies to other people: a task that spends 2 ms of CPU
per "reply" and yields, as many as it can while the file is read. The table gives the
replies per second (500 at most: one core to itself) and the read's wall time, for each
mode, ``--runs`` times (default 2). Appends a section to BENCHMARKS.md unless
``--no-record``.

    python -m benchmarks.deck_parse_loop [--runs N] [--no-record]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime

from benchmarks.deck_import import REPO, csv_file
from benchmarks.machine import machine
from bot.service.deck_parser import DeckParser

REPLY_MS = 2.0


def _busy(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


async def one_read(workers: int, data: bytes) -> tuple[float, float]:
    """(replies per second while the file was read, the read's wall seconds)."""
    parser = DeckParser(workers)
    try:
        await parser.call(len, b"warm-up")  # the worker started, as after the first file
        reading = True
        replies = 0

        async def loop_work() -> None:
            nonlocal replies
            while reading:
                _busy(REPLY_MS)
                replies += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(loop_work())
        started = time.perf_counter()
        upload = await parser.parse("bench.csv", data, title=None)
        wall = time.perf_counter() - started
        reading = False
        await task
    finally:
        await parser.close()
    if upload is None or upload.deck is None:
        raise SystemExit("the benchmark file was not imported")
    return replies / wall, wall


def main(argv: list[str]) -> int:
    record = "--no-record" not in argv
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 2
    data = csv_file()
    one, five, _ = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n### Deck file read beside the event loop — {stamp}\n",
        f"Machine: {machine()}; load average at the start {one:.2f} {five:.2f}. "
        f"`python -m benchmarks.deck_parse_loop --runs {runs}`: a 2,000-question CSV read "
        f"while the loop does {REPLY_MS:.0f} ms CPU 'replies' back to back (500/s at most).\n",
        "| DECK_PARSE_WORKERS | replies/s median (min) | read wall s median |",
        "|---|---|---|",
    ]
    for workers in (0, 1):
        results = [asyncio.run(one_read(workers, data)) for _ in range(runs)]
        rates = [rate for rate, _ in results]
        walls = [wall for _, wall in results]
        mode = "0 (a thread)" if workers == 0 else f"{workers} (a process)"
        lines.append(
            f"| {mode} | {statistics.median(rates):.0f} ({min(rates):.0f}) | "
            f"{statistics.median(walls):.1f} |"
        )
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if record:
        with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
