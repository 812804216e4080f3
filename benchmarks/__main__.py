"""``make bench``: every benchmark, or the ones named.

    python -m benchmarks                       # all (about 10 minutes on 2 busy cores)
    python -m benchmarks taps stats            # some
    python -m benchmarks startup -- --runs 3   # options after -- go to benchmarks.peak

Scenarios: ``dispatch`` (10,000 chats, SQLite and PostgreSQL), ``dispatch-100k``
(100,000 chats on PostgreSQL), the peak scenarios of ``benchmarks.peak``:
``taps``, ``stats``, ``startup``; ``instances`` (1, 2 and 3 processes on one
PostgreSQL, benchmarks.instances); and a year of history (``benchmarks.history``):
``history`` (5,000 due chats with 0, 180 and 365 days of history, SQLite and
PostgreSQL) and ``history-stats`` (the stats/reveal/grade bursts from people with
365 days of history); ``rich-render`` (issue 17: rendering every answer of the bank
as rich messages and as today's HTML, benchmarks.rich_render); ``deck-import`` (reading
uploaded deck files of 2,000 questions: CSV, YAML, Anki packages,
benchmarks.deck_import); ``deck-parse-loop`` (the event loop's work while such a file is
read in a thread and in the worker process, benchmarks.deck_parse_loop); ``decks-taps``
(issue 18: Show answer taps during the broadcast of 100,000 chats, 20 % studying their own
decks, 10,000 decks stored, limits off then on: ``benchmarks.own_decks --taps``,
PostgreSQL). PostgreSQL runs need
TEST_DATABASE_URL; without it those are skipped with a message. Each benchmark appends
to BENCHMARKS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys

DISPATCH = ("dispatch", "dispatch-100k")
PEAK = ("taps", "stats", "startup")
HISTORY = ("history", "history-stats")
ORDER = (
    *DISPATCH,
    *PEAK,
    "instances",
    *HISTORY,
    "rich-render",
    "deck-import",
    "deck-parse-loop",
    "decks-taps",
)


def commands(scenario: str, extra: list[str]) -> list[list[str]]:
    python = sys.executable
    if scenario == "dispatch":
        return [[python, "-m", "benchmarks.dispatch"]]
    if scenario == "dispatch-100k":
        if not os.environ.get("TEST_DATABASE_URL"):
            print("dispatch-100k: skipped, PostgreSQL needs TEST_DATABASE_URL", flush=True)
            return []
        return [[python, "-m", "benchmarks.dispatch", "100000", "postgresql"]]
    if scenario == "decks-taps":
        if not os.environ.get("TEST_DATABASE_URL"):
            print("decks-taps: skipped, PostgreSQL needs TEST_DATABASE_URL", flush=True)
            return []
        return [[python, "-m", "benchmarks.own_decks", "--taps", *extra]]
    if scenario == "instances":
        if not os.environ.get("TEST_DATABASE_URL"):
            print("instances: skipped, PostgreSQL needs TEST_DATABASE_URL", flush=True)
            return []
        return [[python, "-m", "benchmarks.instances", *extra]]
    if scenario == "history":
        return [[python, "-m", "benchmarks.history", "dispatch", "--database", "both", *extra]]
    if scenario == "rich-render":
        return [[python, "-m", "benchmarks.rich_render", "--write", *extra]]
    if scenario == "deck-import":
        return [[python, "-m", "benchmarks.deck_import", *extra]]
    if scenario == "deck-parse-loop":
        return [[python, "-m", "benchmarks.deck_parse_loop", *extra]]
    if scenario == "history-stats":
        return [[python, "-m", "benchmarks.peak", "stats", "--history-days", "365", *extra]]
    return [[python, "-m", "benchmarks.peak", scenario, *extra]]


def main(argv: list[str]) -> int:
    names, extra = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    names = [name for name in names if name] or ["all"]
    chosen = list(ORDER) if "all" in names else names
    unknown = [name for name in chosen if name not in ORDER]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; choose from: all, {', '.join(ORDER)}")
        return 2
    for scenario in chosen:
        for command in commands(scenario, extra):
            print(f"$ {' '.join(command[1:])}", flush=True)
            status = subprocess.run(command, check=False).returncode
            if status != 0:
                print(f"{scenario}: failed with exit status {status}", flush=True)
                return status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
