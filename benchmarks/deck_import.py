"""Deck import benchmark (issue 18): reading an uploaded deck file, checks included.

Times ``parse_deck_upload`` (the whole pure pipeline: decoding, parsing, HTML to
Markdown for Anki, the bank checker's validation and rendering of every question) on

- a 2,000-question CSV, as a spreadsheet exports it (question, answer with a list and a
  formula, tags), and its YAML export (the bank's format);
- a 2,000-note Anki package, fields in Anki's editor HTML, in the older format
  (``collection.anki2``, written by genanki) and the current one (the same collection
  zstd-compressed as ``collection.anki21b``).

Each file is read ``--runs`` times (default 5) in this process; the table gives the
median and worst wall and CPU time, and the process's peak RSS. Appends a section to
BENCHMARKS.md unless ``--no-record``.

    python -m benchmarks.deck_import [--runs N] [--no-record]
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import resource
import sqlite3
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import genanki
import zstandard

from benchmarks.machine import machine
from bot.content.exports import deck_to_yaml
from bot.content.imports import DeckUpload, parse_deck_upload, problems_message
from bot.domain.content import Deck, Source

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = 2000
_WORDS = [
    "gradient",
    "attention",
    "token",
    "embedding",
    "variance",
    "bias",
    "layer",
    "softmax",
    "loss",
    "batch",
]


def _words(n: int, seed: int) -> str:
    return " ".join(_WORDS[(seed * 7 + i * 3) % len(_WORDS)] for i in range(n))


def spreadsheet_rows() -> list[tuple[str, str, str]]:
    """Question, Markdown answer (~600 characters), tags: a realistic deck's sizes."""
    rows = []
    for i in range(QUESTIONS):
        answer = "\n".join(
            [
                f"In short: {_words(20, i)}.",
                "",
                f"- **{_WORDS[i % 10]}**: {_words(18, i + 1)}",
                f"- *{_WORDS[(i + 3) % 10]}*: {_words(18, i + 2)}, with \\(x_{{{i}}}^2\\)",
                f"- {_words(22, i + 3)}",
            ]
        )
        rows.append((f"Question {i}: what about {_words(8, i)}?", answer, "ml, nlp"))
    return rows


def csv_file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["question", "answer", "tags"])
    writer.writerows(spreadsheet_rows())
    return ("\ufeff" + out.getvalue()).encode()


def yaml_file() -> bytes:
    upload = parse_deck_upload("bench.csv", csv_file())
    assert upload.deck is not None
    deck = Deck(
        id="bench",
        title="Bench",
        description="Benchmark deck.",
        source=Source(name="Benchmark", attribution="Generated."),
        questions=upload.deck.questions,
    )
    return deck_to_yaml(deck).encode()


def anki_collection() -> bytes:
    model = genanki.Model(
        1_607_392_319,
        "Basic",
        fields=[{"name": "Front"}, {"name": "Back"}],
        templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{Back}}"}],
    )
    deck = genanki.Deck(2_059_400_110, "Bench::Anki")
    for i, (question, _, _) in enumerate(spreadsheet_rows()):
        back = (
            f"<div>In short: {_words(20, i)}.</div>"
            f"<ul><li><b>{_WORDS[i % 10]}</b>: {_words(18, i + 1)}</li>"
            f"<li><i>{_WORDS[(i + 3) % 10]}</i>: {_words(18, i + 2)}, with "
            f"\\(x_{{{i}}}^2\\)</li><li>{_words(22, i + 3)}&nbsp;&amp; more</li></ul>"
        )
        deck.add_note(
            genanki.Note(model=model, fields=[question, back], tags=["ml", "nlp"], guid=f"n{i}")
        )
    with closing(sqlite3.connect(":memory:")) as db:
        genanki.Package(deck).write_to_db(db.cursor(), 1.7e9, itertools.count(1_700_000_000_000))
        db.commit()
        return db.serialize()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def measure(name: str, data: bytes, runs: int) -> tuple[list[float], list[float], DeckUpload]:
    walls, cpus = [], []
    upload = parse_deck_upload(name, data)  # warm-up: imports, caches
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        upload = parse_deck_upload(name, data)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    if upload.deck is None or len(upload.deck.questions) != QUESTIONS:
        raise SystemExit(f"{name}: not imported: {problems_message(upload)}")
    return walls, cpus, upload


def main(argv: list[str]) -> int:
    record = "--no-record" not in argv
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 5
    collection = anki_collection()
    files: list[tuple[str, str, Callable[[], bytes]]] = [
        ("CSV, 2,000 questions", "bench.csv", csv_file),
        ("YAML, 2,000 questions", "bench.yaml", yaml_file),
        (
            "Anki .apkg (collection.anki2), 2,000 notes",
            "bench.apkg",
            lambda: _zip({"collection.anki2": collection, "media": b"{}"}),
        ),
        (
            "Anki .apkg (collection.anki21b, zstd), 2,000 notes",
            "bench.apkg",
            lambda: _zip({"collection.anki21b": zstandard.ZstdCompressor().compress(collection)}),
        ),
    ]
    one, five, _ = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n### Deck import: 2,000 questions per file — {stamp}\n",
        f"Machine: {machine()}; load average at the start {one:.2f} {five:.2f}. "
        f"`python -m benchmarks.deck_import --runs {runs}`: `parse_deck_upload` on each "
        f"file {runs} times after a warm-up (parse, convert, validate and render-check "
        "every question).\n",
        "| file | size KB | wall s median (max) | CPU s median (max) | CPU ms/question |",
        "|---|---|---|---|---|",
    ]
    for label, name, make in files:
        data = make()
        walls, cpus, _ = measure(name, data, runs)
        cpu = statistics.median(cpus)
        lines.append(
            f"| {label} | {len(data) / 1024:.0f} | {statistics.median(walls):.2f} "
            f"({max(walls):.2f}) | {cpu:.2f} ({max(cpus):.2f}) | {1000 * cpu / QUESTIONS:.2f} |"
        )
        print(lines[-1], flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"\nPeak RSS of the benchmark process: {peak:.0f} MB.\n")
    text = "\n".join(lines) + "\n"
    print(text)
    if record:
        with (REPO / "BENCHMARKS.md").open("a", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
