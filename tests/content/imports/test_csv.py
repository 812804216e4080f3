"""Spreadsheet decks: .csv and .tsv as Excel and Google Sheets export them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.imports import parse_deck_upload, problems_message
from bot.domain.content import Question


def test_excel_csv_with_a_bom_quoted_cells_and_every_column() -> None:
    data = (
        "\ufeffQuestion,Answer,Tags,ID,Difficulty\r\n"
        '"What is BPE?","Byte-pair encoding:\r\n- merges frequent pairs","NLP, Tokenization",'
        "bpe,Hard\r\n"
        ",,,,\r\n"  # spreadsheets export empty trailing rows
        "What is a token?,A unit of text,,,\r\n"
    ).encode()
    upload = parse_deck_upload("NLP_basics.csv", data)
    assert upload.deck is not None, problems_message(upload)
    assert upload.deck.title == "NLP basics"  # from the file name
    assert upload.deck.questions == (
        Question(
            id="bpe",
            question="What is BPE?",
            answer="Byte-pair encoding:\n- merges frequent pairs",
            tags=("nlp", "tokenization"),
            difficulty="hard",
        ),
        Question(id="q-837fc204d7a7", question="What is a token?", answer="A unit of text"),
    )


def test_ids_without_an_id_column_are_stable_hashes_of_the_question() -> None:
    first = parse_deck_upload("a.csv", b"question,answer\nWhat is a token?,One answer\n")
    again = parse_deck_upload(
        "b.csv", b"answer,question\nAnother answer,  What is  a token? \n", title="Mine"
    )
    assert first.deck is not None
    assert again.deck is not None
    assert first.deck.questions[0].id == again.deck.questions[0].id == "q-837fc204d7a7"
    assert again.deck.title == "Mine"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("semicolons.csv", b"question;answer;tags\nWhat is BPE?;Byte pairs;nlp\n"),
        ("tabs.tsv", b"question\tanswer\ttags\nWhat is BPE?\tByte pairs\tnlp\n"),
        ("tabs-in-csv.csv", b"question\tanswer\ttags\nWhat is BPE?\tByte pairs\tnlp\n"),
    ],
)
def test_other_separators(name: str, data: bytes) -> None:
    upload = parse_deck_upload(name, data)
    assert upload.deck is not None, problems_message(upload)
    [question] = upload.deck.questions
    assert (question.question, question.answer, question.tags) == (
        "What is BPE?",
        "Byte pairs",
        ("nlp",),
    )


def test_problems_name_the_row_and_column() -> None:
    data = (
        b"question,answer,id,difficulty\n"
        b"What is BPE?,Byte pairs,bpe,\n"
        b"What is a token?,A unit,Not A Slug,\n"
        b"What is a lemma?,A base form,,extreme\n"
        b"What is BPE really?,Pairs,bpe,\n"
        b"What is a stem?,,,\n"
        b"Too,many,cells,easy,here\n"
    )
    upload = parse_deck_upload("deck.csv", data)
    assert upload.deck is None
    assert upload.problems == (
        "row 3, column 'id': the id must be lower-case letters and digits joined by single "
        "dashes (like what-is-attention)",
        "row 4, column 'difficulty': difficulty: Input should be 'easy', 'medium' or 'hard'",
        "row 5, column 'id': id 'bpe' is used twice (first at row 2, column 'id')",
        "row 6, column 'answer': answer must not be empty",
        "row 7: 5 cells but the header names 4 columns (a cell with the separator in it "
        "must be in double quotes)",
    )


def test_duplicate_id_without_an_id_column() -> None:
    upload = parse_deck_upload("d.csv", b"question,answer\nSame?,One\nSame?,Two\n")
    assert upload.problems == (
        "row 3, column 'question': the same question as row 2, column 'question'",
    )


def test_header_problems() -> None:
    upload = parse_deck_upload("d.csv", b"questoin,answer,notes\nA?,B\n")
    assert upload.problems == (
        "row 1, column 1: unknown column 'questoin' (did you mean 'question'?); the columns "
        "are question, answer, tags, id, difficulty",
        "row 1, column 3: unknown column 'notes'; the columns are question, answer, tags, "
        "id, difficulty",
        "row 1: the header has no 'question' column (it needs question and answer; "
        "optional: tags, id, difficulty)",
    )


def test_not_utf8_says_how_to_save_it() -> None:
    upload = parse_deck_upload("d.csv", "question,answer\nCafé?,Oui\n".encode("cp1252"))
    assert upload.problems == (
        "line 2: the file is not UTF-8 text; save it as \u201cCSV UTF-8\u201d (Excel) or "
        "download it as CSV (Google Sheets)",
    )


def test_a_header_only_file_has_no_questions() -> None:
    upload = parse_deck_upload("d.csv", b"question,answer\n")
    assert upload.problems == ("the file has no questions",)


def test_the_readme_example_imports() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```csv\n", 1)[1].split("```\n", 1)[0]
    upload = parse_deck_upload("NLP_basics.csv", example.encode())
    assert upload.deck is not None, problems_message(upload)
    assert upload.deck.title == "NLP basics"
    bpe, softmax = upload.deck.questions
    assert (bpe.id, bpe.tags, bpe.difficulty) == ("q-931ffe813958", ("nlp", "tokenization"), "easy")
    assert bpe.answer.endswith("pair.\n- used by GPT tokenizers")
    assert softmax.answer.startswith("\\( \\mathrm{softmax}(x)_i")
    assert (softmax.tags, softmax.difficulty) == (("math",), None)
