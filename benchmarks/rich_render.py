"""Issue 17: rendering answers as rich messages, over the whole bank.

- CPU per answer (``time.process_time``) for today's Telegram-HTML render
  (``render_answer``) and the rich-message render (``render_rich_answer``):
  cold (memo caches cleared; each answer rendered 3 times, its fastest kept)
  and cached (the memoised second call, which is what the bot pays after the
  first reveal of an answer in a process);
- messages per revealed answer before (HTML parts of at most 4,096
  characters) and after (rich messages), private and group form;
- the largest rich answer against the limits, and how many questions would be
  sent as rich messages (they hold a formula or code).

    python -m benchmarks.rich_render [--write]   # --write appends the section to BENCHMARKS.md
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.content.loader import load_bank
from bot.rendering import answer as html_answer
from bot.rendering import rich
from bot.rendering.answer import render_answer
from bot.rendering.rich import measure_rich, needs_rich, render_rich_answer

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3
HEADER_HTML = "<b>Model answer</b>"
HEADER = "Model answer"


def _cold_ms(
    answers: list[str], render: Callable[[str], object], clear: Callable[[], None]
) -> list[float]:
    """Per answer, the fastest of ROUNDS renders with the memo cache cleared before each."""
    best = [float("inf")] * len(answers)
    for _ in range(ROUNDS):
        for index, text in enumerate(answers):
            clear()
            start = time.process_time()
            render(text)
            best[index] = min(best[index], 1000 * (time.process_time() - start))
    return best


def _cached_us(answers: list[str], render: Callable[[str], object]) -> list[float]:
    for text in answers:
        render(text)
    samples = []
    for text in answers:
        start = time.perf_counter_ns()
        for _ in range(100):
            render(text)
        samples.append((time.perf_counter_ns() - start) / 100 / 1000)
    return samples


def _spread(samples: list[float], unit: str, digits: int) -> str:
    return f"{statistics.median(samples):.{digits}f} / {max(samples):.{digits}f} {unit}"


def _parts_line(counts: list[int]) -> str:
    histogram = Counter(counts)
    over = sum(1 for count in counts if count > 1)
    shape = ", ".join(f"{parts}: {histogram[parts]}" for parts in sorted(histogram))
    return (
        f"{sum(counts)} messages for {len(counts)} answers ({sum(counts) / len(counts):.3f} per "
        f"answer); {over} answers need more than one (answers by number of messages: {shape})"
    )


def main(argv: list[str]) -> int:
    bank = load_bank(ROOT / "content")
    questions = list(bank)
    answers = [question.answer for question in questions]
    render_answer("warm-up: *imports* and $x$")  # parser set-up, not an answer's cost
    render_rich_answer("warm-up: *imports* and $x$")

    def html(text: str) -> object:
        return render_answer(text, header=HEADER_HTML)

    def rich_private(text: str) -> object:
        return render_rich_answer(text, header=HEADER)

    html_cold = _cold_ms(answers, html, html_answer._render_answer.cache_clear)
    rich_cold = _cold_ms(answers, rich_private, rich._render_answer.cache_clear)
    html_cached = _cached_us(answers, html)
    rich_cached = _cached_us(answers, rich_private)

    before = [len(render_answer(text, header=HEADER_HTML)) for text in answers]
    before_group = [len(render_answer(text, header=HEADER_HTML, spoiler=True)) for text in answers]
    after = [len(render_rich_answer(text, header=HEADER)) for text in answers]
    after_group = [len(render_rich_answer(text, header=HEADER, hidden=True)) for text in answers]
    sizes = [
        measure_rich(render_rich_answer(text, header=HEADER, hidden=True)[0]) for text in answers
    ]
    largest = max(sizes, key=lambda size: size.chars)
    rich_questions = sum(1 for question in questions if needs_rich(question.question))
    rich_answers = sum(1 for text in answers if needs_rich(text))

    section = "\n".join(
        [
            f"## Issue 17: rich answers — rendering — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the start. "
            "Command: `python -m benchmarks.rich_render --write`. The whole bank "
            f"({len(answers)} answers); CPU is `time.process_time`, cold = memo caches cleared, "
            f"fastest of {ROUNDS} per answer; cached = the memoised call (wall time, 100 calls).",
            "",
            "| render per answer | cold: median / max | cached: median / max |",
            "|---|---|---|",
            f"| today's HTML (`render_answer`) | {_spread(html_cold, 'ms', 2)} "
            f"| {_spread(html_cached, 'µs', 2)} |",
            f"| rich message (`render_rich_answer`) | {_spread(rich_cold, 'ms', 2)} "
            f"| {_spread(rich_cached, 'µs', 2)} |",
            "",
            "Messages per revealed answer:",
            "",
            f"- before (HTML, 4,096 characters a message): {_parts_line(before)}; group form "
            f"(spoiler): {_parts_line(before_group)}.",
            f"- after (rich messages): {_parts_line(after)}; group form (`<details>`): "
            f"{_parts_line(after_group)}.",
            f"- The largest rich answer (group form): {largest.chars:,} characters of "
            f"{rich.RICH_TEXT_LIMIT:,}, {largest.blocks} blocks of {rich.RICH_MAX_BLOCKS}; the "
            f"deepest nesting of any answer: {max(size.depth for size in sizes)} of "
            f"{rich.RICH_MAX_DEPTH}.",
            f"- Questions holding a formula or code (sent as rich messages): {rich_questions} "
            f"of {len(questions)}; answers holding one: {rich_answers}.",
            "",
        ]
    )
    print(section)
    if "--write" in argv:
        with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as out:
            out.write("\n" + section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
