"""The offline answer checker: key points, coverage, the suggested grade (exact values)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.domain import answer_check as ac
from bot.domain.content import Bank, Deck, Question, Source
from bot.domain.srs import Rating

REPO = Path(__file__).resolve().parents[2]


def _bank(*questions: tuple[str, str, str]) -> Bank:
    filler = [
        ("filler-1", "What is a model?", "A model maps inputs to outputs. It is trained on data."),
        ("filler-2", "What is data?", "Data are examples. A model learns from the data."),
        ("filler-3", "What is training?", "Training fits the model to the data with a loss."),
    ]
    source = Source(name="Tests", attribution="Written for the tests.")
    items = tuple(
        Question(id=qid, question=text, answer=answer)
        for qid, text, answer in [*questions, *filler]
    )
    return Bank((Deck(id="t", title="T", description="d", source=source, questions=items),))


DROPOUT = (
    "dropout",
    "What is dropout?",
    "- Dropout randomly zeroes activations during training.\n"
    "- It acts as a regularizer and reduces overfitting.\n"
    "- At inference all units are kept and activations are rescaled.",
)


def previews(bank: Bank, question_id: str) -> list[str]:
    return [point.preview for point in ac.bank_index(bank).points(question_id)]


def test_top_level_list_items_are_the_key_points() -> None:
    bank = _bank(DROPOUT)
    assert sorted(previews(bank, "dropout")) == [
        "At inference all units are kept and activations…",
        "Dropout randomly zeroes activations during training.",
        "It acts as a regularizer and reduces overfitting.",
    ]


def test_a_lone_item_with_sub_items_is_opened_up() -> None:
    answer = (
        "- An isotropic cluster spreads equally in all directions:\n"
        "  - Equal variance along every axis.\n"
        "  - Spherical shape around the centroid."
    )
    bank = _bank(("iso", "What is an isotropic cluster?", answer))
    assert sorted(previews(bank, "iso")) == [
        "An isotropic cluster spreads equally in all directions",
        "Equal variance along every axis.",
        "Spherical shape around the centroid.",
    ]


def test_a_short_lead_in_is_not_a_point() -> None:
    answer = (
        "- Rule of thumb:\n  - Standardize Gaussian data.\n  - Normalize data of varied scales."
    )
    bank = _bank(("rule", "When to scale?", answer))
    assert sorted(previews(bank, "rule")) == [
        "Normalize data of varied scales.",
        "Standardize Gaussian data.",
    ]


def test_an_answer_without_a_list_is_split_into_sentences() -> None:
    answer = (
        "Sampled softmax approximates the full softmax, e.g. for large vocabularies. "
        "It scores the true word against a random sample of other words."
    )
    bank = _bank(("ss", "What is sampled softmax?", answer))
    assert sorted(previews(bank, "ss")) == [
        "It scores the true word against a random…",
        "Sampled softmax approximates the full softmax, e.g. for…",
    ]


def test_at_most_eight_points_the_most_distinctive_first() -> None:
    words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"
    ]  # fmt: skip
    answer = "\n".join(f"- The {w} method uses {w}ing and {w}ish data." for w in words)
    answer += "\n- The model uses data."  # the least distinctive: only common words
    bank = _bank(("many", "List methods.", answer))
    points = ac.bank_index(bank).points("many")
    assert len(points) == ac.MAX_POINTS
    assert all("The model uses data" not in point.text for point in points)
    scores = [point.distinctiveness for point in points]
    assert scores == sorted(scores, reverse=True)


def test_points_without_content_are_dropped_and_code_still_gives_a_point() -> None:
    answer = "- Thus,\n- Mean is below sixty.\n- Mode is above sixty."
    bank = _bank(
        ("skew", "Left skew?", answer),
        ("code", "Attention in code?", "```python\nsoftmax(q @ k.T) @ v\n```"),
    )
    assert sorted(previews(bank, "skew")) == ["Mean is below sixty.", "Mode is above sixty."]
    assert previews(bank, "code") == ["softmax(q @ k.T) @ v"]


def test_terms_are_stemmed_without_stop_words() -> None:
    assert ac.terms("The regularization regularizes the weights") == [
        "regular",
        "regular",
        "weight",
    ]


def test_coverage_with_stems_other_words_and_typos() -> None:
    bank = _bank(DROPOUT)
    points = ac.bank_index(bank).points("dropout")
    feedback = ac.check_answer(
        points,
        "Dropuot randomly zeroes some activations while training; it is a regularizer "
        "against overfitting.",
    )
    covered = {v.point.preview: v.covered for v in feedback.verdicts}
    assert covered == {
        "Dropout randomly zeroes activations during training.": True,
        "It acts as a regularizer and reduces overfitting.": True,
        "At inference all units are kept and activations…": False,
    }
    assert (feedback.covered, feedback.total) == (2, 3)
    assert feedback.suggested == Rating.GOOD


def test_no_idea_one_word_and_off_topic_answers_are_again() -> None:
    bank = _bank(DROPOUT)
    points = ac.bank_index(bank).points("dropout")
    for typed in ["no idea", "dropout", "", "Gradient descent follows the negative gradient."]:
        feedback = ac.check_answer(points, typed)
        assert (feedback.covered, feedback.suggested) == (0, Rating.AGAIN), typed


def test_restating_the_question_earns_little() -> None:
    bank = _bank(DROPOUT)
    points = ac.bank_index(bank).points("dropout")
    feedback = ac.check_answer(points, "Dropout is dropout, what dropout is.")
    assert feedback.covered == 0


def test_a_complete_answer_is_easy_and_the_check_is_deterministic() -> None:
    bank = _bank(DROPOUT)
    points = ac.bank_index(bank).points("dropout")
    typed = (
        "It zeroes random activations in training, regularizes and reduces overfitting; at "
        "inference every unit is kept and activations are rescaled."
    )
    first = ac.check_answer(points, typed)
    assert (first.covered, first.total, first.suggested) == (3, 3, Rating.EASY)
    assert ac.check_answer(points, typed) == first


def test_only_the_first_4000_characters_are_read() -> None:
    bank = _bank(DROPOUT)
    points = ac.bank_index(bank).points("dropout")
    typed = "x " * 2000 + "Dropout randomly zeroes activations during training."
    assert ac.check_answer(points, typed).covered == 0


def _verdicts(*scores: float) -> list[ac.PointVerdict]:
    point = ac.KeyPoint("p", "p", (("p", 1.0),), 1.0)
    return [ac.PointVerdict(point, score >= 1.0, score) for score in scores]


@pytest.mark.parametrize(
    ("scores", "rating", "score"),
    [
        ((1.0, 1.0, 1.0), Rating.EASY, 1.0),
        ((1.0, 1.0, 0.5), Rating.GOOD, 0.6 * 2 / 3 + 0.4 * 2.5 / 3),
        ((1.0, 0.0), Rating.GOOD, 0.5),
        ((1.0, 0.0, 0.0), Rating.HARD, 0.6 / 3 + 0.4 / 3),
        ((0.6, 0.0), Rating.HARD, 0.4 * 0.3),
        ((0.1, 0.0, 0.0), Rating.AGAIN, 0.4 * 0.1 / 3),
        ((), Rating.AGAIN, 0.0),
    ],
)
def test_suggested_grade_from_the_coverage(
    scores: tuple[float, ...], rating: Rating, score: float
) -> None:
    suggested, computed = ac.suggest_grade(_verdicts(*scores), typed_terms=10)
    assert suggested == rating
    assert computed == pytest.approx(score)


def test_fewer_than_two_typed_terms_is_again() -> None:
    assert ac.suggest_grade(_verdicts(1.0), typed_terms=1) == (Rating.AGAIN, 0.0)


def test_the_index_is_built_once_per_bank() -> None:
    bank = _bank(DROPOUT)
    assert ac.bank_index(bank) is ac.bank_index(bank)
    assert ac.bank_index(_bank(DROPOUT)) is not ac.bank_index(bank)


def _modules_after(statement: str) -> set[str]:
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    return set(json.loads(result.stdout))


# Nor numpy, matplotlib, alembic or yaml: timezonefinder, the stats picture, migrations and
# the bank's YAML loader are all imported when first needed (start-up stays under 2 s).
HEAVY = (
    "sklearn",
    "scipy",
    "rapidfuzz",
    "snowballstemmer",
    "openai",
    "numpy",
    "matplotlib",
    "alembic",
    "yaml",
    # Deck files (issue 18) and the formula check: read on the first upload or check.
    # (Not zstandard: httpx, which PTB imports, loads it whenever it is installed.)
    "genanki",
    "latex2mathml",
)


def test_start_up_does_not_import_the_checkers_libraries() -> None:
    """scikit-learn and friends cost over a second: loaded on the first typed answer only."""
    loaded = _modules_after("import bot.app")
    assert sorted(name for name in loaded if name.split(".")[0] in HEAVY) == []


def test_math_reads_as_text_in_points() -> None:
    answer = (
        "- Say \\(d = 1000\\), then \\(T^2 d\\) grows fast.\n- Attention costs \\(O(T^2)\\) memory."
    )
    bank = _bank(("math", "Why is attention slow?", answer))
    assert sorted(previews(bank, "math")) == [
        "Attention costs O(T²) memory.",
        "Say d = 1000, then T² d grows…",
    ]
