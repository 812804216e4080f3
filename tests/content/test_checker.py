"""The bank checker: every kind of problem, with file:line:column, on small broken banks."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from bot.content.cache import CACHE_FILE, load_bank_cached
from bot.content.check import check_bank
from bot.service.cli import main

GOOD_DECK = """\
deck:
  id: {deck_id}
  title: Sample
  description: A tiny deck for tests.
  source:
    name: Tests
    attribution: Written for the test suite.
questions:
  - id: {question_id}
    question: What is a test?
    answer: |
      A check that **can fail**.
    tags: [testing]
    difficulty: easy
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(directory: Path) -> list[str]:
    report = check_bank(directory)
    return [f"{Path(p.path).name}:{p.line}:{p.column}: {p.message}" for p in report.problems]


def test_clean_bank_passes(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD_DECK.format(deck_id="a", question_id="q-one"))
    report = check_bank(tmp_path)
    assert report.problems == ()
    assert report.bank is not None
    assert len(report.bank) == 1


def test_yaml_syntax_error_has_position(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "deck:\n  id: [broken\nquestions: []\n")
    (problem,) = problems_of(tmp_path)
    assert problem.startswith("a.yaml:3:")
    assert "YAML syntax error" in problem


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = GOOD_DECK.format(deck_id="a", question_id="q-one").replace(
        "    answer: |", "    anwser: |"
    )
    write(tmp_path, "a.yaml", text)
    found = problems_of(tmp_path)
    assert len(found) == 2, found
    assert any(
        p.startswith("a.yaml:11:5: unknown key 'anwser' (did you mean 'answer'?)") for p in found
    )
    assert any("missing required key 'answer'" in p and p.startswith("a.yaml:9:") for p in found)


def test_wrong_type_points_at_the_value(tmp_path: Path) -> None:
    text = GOOD_DECK.format(deck_id="a", question_id="q-one").replace("[testing]", "7")
    write(tmp_path, "a.yaml", text)
    (problem,) = problems_of(tmp_path)
    assert problem.startswith("a.yaml:13:11: questions[0].tags:")


def test_bad_difficulty_and_bad_id(tmp_path: Path) -> None:
    text = GOOD_DECK.format(deck_id="a", question_id="Not A Slug").replace(
        "difficulty: easy", "difficulty: brutal"
    )
    write(tmp_path, "a.yaml", text)
    found = problems_of(tmp_path)
    assert any(p.startswith("a.yaml:9:9: questions[0].id:") for p in found)
    assert any(p.startswith("a.yaml:14:17: questions[0].difficulty:") for p in found)


def test_empty_answer(tmp_path: Path) -> None:
    text = GOOD_DECK.format(deck_id="a", question_id="q-one").replace(
        "    answer: |\n      A check that **can fail**.\n", '    answer: "  "\n'
    )
    write(tmp_path, "a.yaml", text)
    (problem,) = problems_of(tmp_path)
    assert problem == "a.yaml:11:13: questions[0].answer: must not be empty"


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD_DECK.format(deck_id="a", question_id="same"))
    write(tmp_path, "b.yaml", GOOD_DECK.format(deck_id="b", question_id="same"))
    (problem,) = problems_of(tmp_path)
    assert problem.startswith("b.yaml:9:9: duplicate question id 'same' (also at ")
    assert "a.yaml:9" in problem


def test_duplicate_key_in_one_mapping(tmp_path: Path) -> None:
    text = GOOD_DECK.format(deck_id="a", question_id="q-one").replace(
        "    tags: [testing]", "    tags: [testing]\n    tags: [again]"
    )
    write(tmp_path, "a.yaml", text)
    (problem,) = problems_of(tmp_path)
    assert problem == "a.yaml:14:5: duplicate key 'questions[0].tags'"


def test_question_too_long_for_one_message(tmp_path: Path) -> None:
    long_question = "Why " + "really " * 700 + "?"
    text = GOOD_DECK.format(deck_id="a", question_id="q-one").replace(
        "What is a test?", long_question
    )
    write(tmp_path, "a.yaml", text)
    (problem,) = problems_of(tmp_path)
    assert problem.startswith("a.yaml:10:15: q-one: question does not fit one Telegram message")


def test_not_a_mapping_and_empty_directory(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == [f"{tmp_path.name}:1:1: no *.yaml deck files found"]
    write(tmp_path, "a.yaml", "- just\n- a list\n")
    assert problems_of(tmp_path) == ["a.yaml:1:1: expected a mapping with 'deck' and 'questions'"]


def test_cli_check_exit_codes_and_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "a.yaml", GOOD_DECK.format(deck_id="a", question_id="q-one"))
    assert main(["content", "check", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == "OK: 1 decks, 1 questions (a 1)"
    write(tmp_path, "b.yaml", GOOD_DECK.format(deck_id="b", question_id="q-one"))
    assert main(["content", "check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "duplicate question id 'q-one'" in err
    assert "1 problem(s) found" in err


def test_cli_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a.yaml", GOOD_DECK.format(deck_id="a", question_id="q-one"))
    assert main(["content", "stats", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 questions in 1 decks" in out
    assert "testing" in out
    assert "easy" in out


def test_answer_that_cannot_be_rendered(tmp_path: Path) -> None:
    text = GOOD_DECK.format(deck_id="a", question_id="q-one").replace(
        "      A check that **can fail**.\n", "      ```\n      ```\n"
    )
    write(tmp_path, "a.yaml", text)
    (problem,) = problems_of(tmp_path)
    assert problem == (
        "a.yaml:11:13: q-one: answer cannot be rendered: the answer renders to an empty message"
    )


LONGEST = "d" * 50  # the longest deck id or tag a button carries as it is
TOO_LONG = "a-very-long-deck-id-" + "x" * 31  # 51 characters


def test_ids_too_long_for_button_callback_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD_DECK.format(deck_id=LONGEST, question_id="q-one").replace(
        "[testing]", f"[{LONGEST}]"
    )
    write(tmp_path, "a.yaml", text)
    assert problems_of(tmp_path) == []

    text = GOOD_DECK.format(deck_id=TOO_LONG, question_id="q-one").replace(
        "[testing]", f"[testing, {TOO_LONG}]"
    )
    write(tmp_path, "a.yaml", text)
    limit = "is longer than 50 characters, too long for a button's callback data"
    assert problems_of(tmp_path) == [
        f"a.yaml:2:7: deck id '{TOO_LONG}' {limit}",
        f"a.yaml:13:21: q-one: tag '{TOO_LONG}' {limit}",
    ]
    assert main(["content", "check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f":2:7: deck id '{TOO_LONG}' {limit}" in err
    assert "2 problem(s) found" in err


def test_the_bot_still_loads_a_bank_with_long_ids_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Start-up (a full check, then from the cache) loads it and logs one line each time."""
    bank_dir, cache_dir = tmp_path / "bank", tmp_path / "cache"
    bank_dir.mkdir()
    text = GOOD_DECK.format(deck_id=TOO_LONG, question_id="q-one")
    write(bank_dir, "a.yaml", text)
    line = (
        "deck ids or tags longer than 50 characters (buttons carry a hash of them; "
        f"`content check` shows where): {TOO_LONG}"
    )
    for start in ("checked", "cached"):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot.content"):
            bank = load_bank_cached(bank_dir, cache_dir)
        assert bank.deck_ids == (TOO_LONG,), start
        assert [r.getMessage() for r in caplog.records] == [line], start
    assert (cache_dir / CACHE_FILE).exists()
