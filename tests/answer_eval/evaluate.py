"""The evaluation of the offline answer checker on the hand-written cases in cases.yaml.

Shared by the test that guards the figures (tests/domain/test_answer_eval.py) and the
benchmark that reports them with CPU time (benchmarks/answer_check.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from bot.domain.answer_check import Feedback, bank_index, check_answer
from bot.domain.content import Bank
from bot.domain.srs import Rating

CASES = Path(__file__).with_name("cases.yaml")
HOLDOUT = Path(__file__).with_name("holdout.yaml")
Class = Literal["good", "partial", "poor"]
ORDER: tuple[tuple[Class, Class], ...] = (("good", "partial"), ("partial", "poor"))


@dataclass(frozen=True)
class Case:
    question: str
    kind: Class
    answer: str


@dataclass(frozen=True)
class Result:
    case: Case
    feedback: Feedback


@dataclass(frozen=True)
class Figures:
    cases: int
    questions: int
    decks: int
    pairs: int
    ordered: int
    poor_good_or_easy: int
    grades: dict[Class, Counter[Rating]]
    misordered: list[str]

    @property
    def ordered_share(self) -> float:
        return self.ordered / self.pairs if self.pairs else 0.0


def load_cases(path: Path = CASES) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Case(c["question"], c["class"], str(c["answer"])) for c in data["cases"]]


def run(bank: Bank, cases: list[Case]) -> list[Result]:
    index = bank_index(bank)
    return [Result(case, check_answer(index.points(case.question), case.answer)) for case in cases]


def figures(bank: Bank, results: list[Result]) -> Figures:
    by_question: dict[str, dict[Class, list[Result]]] = {}
    for result in results:
        by_question.setdefault(result.case.question, {}).setdefault(result.case.kind, [])
        by_question[result.case.question][result.case.kind].append(result)
    pairs = ordered = 0
    misordered: list[str] = []
    for question, kinds in sorted(by_question.items()):
        for better, worse in ORDER:
            for high in kinds.get(better, []):
                for low in kinds.get(worse, []):
                    pairs += 1
                    if high.feedback.score > low.feedback.score:
                        ordered += 1
                    else:
                        misordered.append(
                            f"{question}: {better} {high.feedback.score:.2f} <= "
                            f"{worse} {low.feedback.score:.2f}"
                        )
    grades: dict[Class, Counter[Rating]] = {
        "good": Counter(),
        "partial": Counter(),
        "poor": Counter(),
    }
    for result in results:
        grades[result.case.kind][result.feedback.suggested] += 1
    poor_high = sum(
        1
        for result in results
        if result.case.kind == "poor" and result.feedback.suggested in {Rating.GOOD, Rating.EASY}
    )
    decks = {bank.deck_of(result.case.question) for result in results}
    return Figures(
        cases=len(results),
        questions=len(by_question),
        decks=len({deck.id for deck in decks if deck is not None}),
        pairs=pairs,
        ordered=ordered,
        poor_good_or_easy=poor_high,
        grades=grades,
        misordered=misordered,
    )
