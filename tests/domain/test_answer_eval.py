"""The offline checker on the hand-written evaluation set: the figures BENCHMARKS.md reports.

These are quality gates, not timings: a change to the checker that orders fewer answer
pairs correctly, or suggests Good or Easy for a poor answer, fails here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from bot.content.loader import load_bank
from bot.domain.answer_check import MAX_ANSWER_CHARS, MAX_POINTS, bank_index, check_answer
from bot.domain.content import Bank
from bot.domain.srs import Rating
from bot.rendering.typed_texts import FeedbackView, PointLine, feedback_text
from tests.answer_eval.evaluate import CASES, HOLDOUT, Figures, figures, load_cases, run
from tests.support.telegram_html import telegram_html_problems

REPO = Path(__file__).resolve().parents[2]


@cache
def _bank() -> Bank:
    return load_bank(REPO / "content")


@pytest.fixture(scope="module", params=[CASES, HOLDOUT], ids=["cases", "holdout"])
def evaluation(request: pytest.FixtureRequest) -> Figures:
    """The figures of the tuning set and of the held-out set, each held to the goals."""
    bank = _bank()
    return figures(bank, run(bank, load_cases(request.param)))


def test_the_set_is_large_enough_and_covers_every_deck() -> None:
    bank = _bank()
    cases = load_cases()
    assert len(cases) >= 40
    decks = {bank.deck_of(case.question) for case in cases}
    assert {deck.id for deck in decks if deck is not None} == set(bank.deck_ids)
    for case in cases:
        assert bank.question(case.question) is not None, case.question
    kinds = {(case.question, case.kind) for case in cases}
    for question in {case.question for case in cases}:
        assert {kind for q, kind in kinds if q == question} == {"good", "partial", "poor"}


def test_pairs_of_the_same_question_are_ordered(evaluation: Figures) -> None:
    assert evaluation.ordered_share >= 0.9, "\n".join(evaluation.misordered)


def test_a_poor_answer_is_never_suggested_good_or_easy(evaluation: Figures) -> None:
    assert evaluation.poor_good_or_easy == 0


def test_good_answers_are_mostly_suggested_good_or_easy(evaluation: Figures) -> None:
    grades = evaluation.grades["good"]
    assert grades[Rating.GOOD] + grades[Rating.EASY] >= 0.8 * sum(grades.values())


def test_every_question_of_the_bank_has_key_points_and_a_valid_feedback_message() -> None:
    bank = _bank()
    index = bank_index(bank)
    for question in bank:
        points = index.points(question.id)
        assert 1 <= len(points) <= MAX_POINTS, question.id
        feedback = check_answer(points, question.answer)
        if len(question.answer) <= MAX_ANSWER_CHARS:  # only the first 4,000 characters count
            assert feedback.covered == feedback.total, f"its own answer covers {question.id}"
        view = FeedbackView(
            [PointLine(v.point.preview, v.covered) for v in feedback.verdicts],
            feedback.suggested,
            "Checked offline.",
            advice="Say <more> & less.",
            truncated=True,
        )
        assert telegram_html_problems(feedback_text(view), limit=4096) == [], question.id
