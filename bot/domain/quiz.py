"""Quizzes: parsing ``/quiz`` arguments, the private summary and the group scoreboard."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.srs import Rating

_NUMBER = re.compile(r"[-+]?[0-9]+")
DEFAULT_QUESTIONS = 5
MAX_QUESTIONS = 20
EXPIRES_AFTER = timedelta(days=1)
POINTS = {Rating.AGAIN: 0, Rating.HARD: 1, Rating.GOOD: 2, Rating.EASY: 3}


class QuizInputError(ValueError):
    """Bad /quiz arguments; the message says what is accepted, with an example."""


@dataclass(frozen=True)
class QuizRequest:
    topic: str
    count: int


def parse_quiz_args(args: Sequence[str]) -> QuizRequest:
    """``nlp 10`` → (nlp, 10); ``machine learning`` → (machine learning, 5)."""
    words = list(args)
    count = DEFAULT_QUESTIONS
    if words and _NUMBER.fullmatch(words[-1]):
        number = words.pop()
        # A number of thousands of digits is no count (and int() refuses over 4,300).
        count = int(number) if len(number) <= 6 else MAX_QUESTIONS + 1
        if not 1 <= count <= MAX_QUESTIONS:
            raise QuizInputError(f"A quiz has 1 to {MAX_QUESTIONS} questions, e.g. /quiz nlp 10.")
    topic = " ".join(words).strip()
    if not topic:
        raise QuizInputError("Name a deck or a tag, e.g. /quiz nlp 10, or send /quiz to pick one.")
    return QuizRequest(topic, count)


def is_expired(updated_at: datetime, now: datetime) -> bool:
    return now - updated_at >= EXPIRES_AFTER


@dataclass(frozen=True)
class QuizGrade:
    person_id: int
    question_id: str
    rating: Rating


@dataclass(frozen=True)
class QuizSummary:
    """One person's quiz: how many of each grade, how long, what to review again."""

    answered: int
    total: int
    by_rating: dict[Rating, int]
    duration: timedelta
    review_again: tuple[str, ...]


def summarize(
    grades: Iterable[QuizGrade], *, question_ids: Sequence[str], started: datetime, ended: datetime
) -> QuizSummary:
    graded = {grade.question_id: grade.rating for grade in grades}
    counts = Counter(graded.values())
    again = tuple(q for q in question_ids if graded.get(q) in {Rating.AGAIN, Rating.HARD})
    return QuizSummary(
        answered=len(graded),
        total=len(question_ids),
        by_rating={rating: counts.get(rating, 0) for rating in Rating},
        duration=ended - started,
        review_again=again,
    )


@dataclass(frozen=True)
class ScoreLine:
    person_id: int
    points: int
    graded: int


def scoreboard(grades: Iterable[QuizGrade]) -> list[ScoreLine]:
    """Group quiz ranking: points (Easy 3, Good 2, Hard 1, Again 0), then grades given."""
    points: Counter[int] = Counter()
    graded: Counter[int] = Counter()
    for grade in grades:
        points[grade.person_id] += POINTS[grade.rating]
        graded[grade.person_id] += 1
    lines = [ScoreLine(person, points[person], graded[person]) for person in graded]
    return sorted(lines, key=lambda line: (-line.points, -line.graded, line.person_id))


def format_duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"
