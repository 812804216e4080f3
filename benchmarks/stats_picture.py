"""CPU for one /stats picture, and for the grade buttons' interval preview.

The picture: a year of reviews on three days out of four, 30 days of forecast, the
five decks of the real bank. Measured with ``time.process_time`` (this process's
CPU, all threads), after one warm-up picture that pays matplotlib's import.

    python -m benchmarks.stats_picture [pictures]
"""

from __future__ import annotations

import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta

from bot.domain.intervals import button_intervals
from bot.domain.progress import daily_counts
from bot.domain.srs import Rating, review
from bot.rendering.progress_picture import GroupPicture, PersonPicture, render_group, render_person


def person_picture() -> PersonPicture:
    rng = random.Random(7)
    today = date(2026, 12, 1)
    days: list[date] = []
    for back in range(365):
        if rng.random() < 0.75:
            days += [today - timedelta(days=back)] * rng.choice([1, 1, 2, 3, 5, 8])
    decks = ["Deep Learning", "NLP", "Machine Learning", "Misc", "PMLDL oral (flashcards)"]
    return PersonPicture(
        title="Ada's progress",
        today=today,
        heatmap=daily_counts(days, today=today),
        forecast=[rng.randint(0, 6) for _ in range(30)],
        retention=[(deck, rng.uniform(0.5, 1), rng.randint(5, 60)) for deck in decks],
        current_streak=12,
        longest_streak=47,
    )


def cpu_ms(function: object, argument: object, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        function(argument)  # type: ignore[operator]
        samples.append(1000 * (time.process_time() - start))
    return samples


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    person = person_picture()
    group = GroupPicture(
        "ML study group", person.today, person.heatmap, [("Ada", 120), ("Bob", 77)], 9
    )
    start = time.process_time()
    render_person(person)
    first = 1000 * (time.process_time() - start)
    people = cpu_ms(render_person, person, repeat)
    groups = cpu_ms(render_group, group, repeat)
    now = datetime(2026, 3, 4, 9, tzinfo=UTC)
    card = review(None, Rating.GOOD, now - timedelta(days=2))
    start = time.process_time()
    for _ in range(1000):
        button_intervals(card, now)
    preview = time.process_time() - start  # ms per preview = seconds for 1000
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"first picture (imports matplotlib): {first:.0f} ms CPU")
    print(
        f"person picture: median {statistics.median(people):.0f} ms, "
        f"max {max(people):.0f} ms CPU ({repeat} pictures)"
    )
    print(f"group picture: median {statistics.median(groups):.0f} ms, max {max(groups):.0f} ms")
    print(f"grade-button preview (4 FSRS reviews): {preview:.3f} ms CPU")


if __name__ == "__main__":
    main()
