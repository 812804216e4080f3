"""Decks in the bank's YAML format, with every problem at its line and column."""

from __future__ import annotations

from pathlib import Path

from bot.content.imports import UploadLimits, parse_deck_upload, problems_message
from bot.content.loader import load_deck_file
from bot.domain.content import Question

REPO = Path(__file__).resolve().parents[3]


def test_a_bank_deck_file_is_accepted_as_it_is() -> None:
    path = REPO / "content" / "machine-learning.yaml"
    upload = parse_deck_upload(path.name, path.read_bytes())
    loaded, problems = load_deck_file(path)
    assert loaded is not None
    assert not problems
    assert upload.deck is not None, problems_message(upload)
    assert upload.deck.title == "Machine Learning"
    assert upload.deck.description == loaded.deck.description
    assert upload.deck.questions == loaded.deck.questions


def test_the_deck_header_is_optional() -> None:
    data = b"questions:\n  - id: bpe\n    question: What is BPE?\n    answer: Byte pairs.\n"
    upload = parse_deck_upload("my_nlp.yml", data)
    assert upload.deck is not None
    assert upload.deck.title == "my nlp"
    assert upload.deck.questions == (
        Question(id="bpe", question="What is BPE?", answer="Byte pairs."),
    )


def test_problems_have_line_and_column() -> None:
    data = b"""\
deck:
  title: Mine
  idd: mine
questions:
  - id: Not A Slug
    question: What?
    answer: That.
  - id: two
    question: ""
    anwser: x
  - id: three
    question: Fine?
    answer: Fine.
    tags: [ok, Bad Tag]
    difficulty: extreme
  - just a string
  - id: three
    question: Again?
    answer: Again.
extra: 1
"""
    upload = parse_deck_upload("mine.yaml", data)
    assert upload.deck is None
    assert upload.problems == (
        "line 20, column 1: unknown key 'extra'; allowed keys: deck, questions",
        "line 3, column 3: unknown key 'deck.idd'; allowed keys: id, title, description, "
        "source, notes",
        "line 5, column 9: the id must be lower-case letters and digits joined by single "
        "dashes (like what-is-attention)",
        "line 9, column 15: question must not be empty",
        "line 8, column 5: the answer is missing",
        "line 10, column 13: unknown key 'anwser' (did you mean 'answer'?); allowed keys: "
        "id, question, answer, tags, difficulty",
        "line 14, column 11: tag 2 ('Bad Tag') must be lower-case letters and digits joined "
        "by single dashes (like what-is-attention)",
        "line 15, column 17: difficulty: Input should be 'easy', 'medium' or 'hard'",
        "line 16, column 5: a question must be a mapping (id, question, answer)",
        "line 17, column 9: id 'three' is used twice (first at line 11, column 9)",
    )


def test_syntax_errors_and_wrong_shapes() -> None:
    upload = parse_deck_upload("bad.yaml", b"questions:\n  - id: a\n   question: [\n")
    assert len(upload.problems) == 1
    assert upload.problems[0].startswith("line 3, column ")
    assert "YAML syntax error" in upload.problems[0]
    upload = parse_deck_upload("list.yaml", b"- a\n- b\n")
    assert upload.problems == (
        "line 1, column 1: expected a mapping with a 'questions' list (and optionally a "
        "'deck' mapping), as in content/README.md",
    )


def test_rendering_problems_come_from_the_bank_checker() -> None:
    """The same per-question check as ``interview-bot content check``."""
    data = (
        "questions:\n  - id: long\n    question: " + "word " * 900 + "\n    answer: a\n"
    ).encode()
    upload = parse_deck_upload("long.yaml", data, title="Long")
    assert upload.problems == (
        "line 3, column 15: the question is 4,499 characters long; at most 1,000 are allowed",
    )
    data = (
        "questions:\n  - id: wide\n    question: " + "word " * 900 + "\n    answer: a\n"
    ).encode()
    limits = UploadLimits(max_question_chars=5000)
    upload = parse_deck_upload("wide.yaml", data, title="Long", limits=limits)
    assert upload.problems == (
        "line 3, column 15: question does not fit one Telegram message: the question is "
        "4540 UTF-16 units long, over the 4096 limit",
    )
