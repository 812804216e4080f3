"""Answer-check benchmark: the offline checker's quality on the evaluation set, and its CPU.

Quality: the hand-written cases in tests/answer_eval/cases.yaml (the same figures
tests/domain/test_answer_eval.py guards). CPU: process time of ``check_answer`` per typed
answer, for the evaluation cases and for a stress set (every question of the bank answered
with its own model answer cut to 4,000 characters, the longest input the bot accepts), plus
the one-off cost of building the bank's index (scikit-learn import included). Prints a
Markdown section and, with ``--write``, appends it to BENCHMARKS.md.

    python -m benchmarks.answer_check [--write]
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.content.loader import load_bank
from bot.domain.answer_check import MAX_ANSWER_CHARS, bank_index, check_answer
from bot.domain.srs import Rating
from tests.answer_eval.evaluate import HOLDOUT, figures, load_cases, run

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 5


def _cpu_ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"median {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms"


def main(argv: list[str]) -> int:
    bank = load_bank(ROOT / "content")
    started = time.process_time()
    index = bank_index(bank)
    build_ms = (time.process_time() - started) * 1000

    cases = load_cases()
    result = figures(bank, run(bank, cases))
    holdout = figures(bank, run(bank, load_cases(HOLDOUT)))

    eval_samples: list[float] = []
    for _ in range(REPEAT):
        for case in cases:
            points = index.points(case.question)
            t0 = time.process_time()
            check_answer(points, case.answer)
            eval_samples.append((time.process_time() - t0) * 1000)
    # Stress: the longest answer the bot accepts, once on topic (its own model answer, mostly
    # exact matches) and once off topic (another question's answer: every term of every
    # point goes through the fuzzy lookup, the expensive path).
    stress_samples: list[float] = []
    questions = list(bank)
    for position, question in enumerate(questions):
        points = index.points(question.id)
        other = questions[(position + 1) % len(questions)]
        for source in (question.answer, other.answer + " " + question.question):
            typed = (source * (1 + MAX_ANSWER_CHARS // len(source)))[:MAX_ANSWER_CHARS]
            t0 = time.process_time()
            check_answer(points, typed)
            stress_samples.append((time.process_time() - t0) * 1000)

    grades = result.grades
    table = ["| class | Again | Hard | Good | Easy |", "|---|---|---|---|---|"]
    for kind in ("good", "partial", "poor"):
        row = [str(grades[kind][rating]) for rating in Rating]
        table.append(f"| {kind} | " + " | ".join(row) + " |")
    cpu = os.cpu_count()
    section = "\n".join(
        [
            f"### Offline answer checker — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Machine: {platform.machine()}, {cpu} cores, Python {platform.python_version()}. "
            "Command: `python -m benchmarks.answer_check --write`.",
            "",
            f"- Evaluation set: {result.cases} cases, {result.questions} questions, "
            f"{result.decks} decks.",
            f"- (good, partial) and (partial, poor) pairs of the same question ordered "
            f"correctly: **{result.ordered} of {result.pairs} "
            f"({100 * result.ordered_share:.0f}%)** (goal >= 90%).",
            f"- Poor answers suggested Good or Easy: **{result.poor_good_or_easy}** (goal 0).",
            f"- Held-out set (`tests/answer_eval/holdout.yaml`, written after the thresholds "
            f"were chosen): {holdout.cases} cases, {holdout.questions} questions; pairs "
            f"ordered **{holdout.ordered} of {holdout.pairs}**, poor suggested Good or Easy "
            f"**{holdout.poor_good_or_easy}**, partial suggested Good or Easy "
            f"{holdout.grades['partial'][Rating.GOOD] + holdout.grades['partial'][Rating.EASY]}"
            f" of {sum(holdout.grades['partial'].values())}.",
            "- Suggested grades by class:",
            "",
            *table,
            "",
            f"- CPU per answer, evaluation cases (x{REPEAT}): {_cpu_ms(eval_samples)}.",
            f"- CPU per answer, stress ({len(stress_samples)} answers of {MAX_ANSWER_CHARS} "
            "characters, on and off topic, to every question): "
            f"{_cpu_ms(stress_samples)} (goal <= 50 ms).",
            f"- Building the bank's index once (scikit-learn import, TF-IDF fit, key points "
            f"of {len(bank)} questions): {build_ms:.0f} ms CPU, off the event loop on first "
            "use.",
            *(["- Misordered: " + "; ".join(result.misordered)] if result.misordered else []),
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
