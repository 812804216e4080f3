"""Every upload limit, each with its own message; nothing is kept past one."""

from __future__ import annotations

import io
import zipfile

import pytest
import zstandard

from bot.content.imports import (
    DeckUpload,
    UploadLimits,
    parse_deck_upload,
    problems_message,
    size_refusal,
)
from tests.content.imports.anki_packages import NOTES, collection, old_package

SMALL = UploadLimits(max_unpacked_bytes=1_000_000, max_questions=2)


def _refusal(upload: DeckUpload) -> str:
    assert upload.deck is None
    assert upload.refusal is not None, upload
    assert problems_message(upload) == upload.refusal
    return upload.refusal


def test_an_unknown_kind_of_file_lists_what_is_accepted() -> None:
    assert _refusal(parse_deck_upload("notes.docx", b"PK...")) == (
        "I can't read \u201cnotes.docx\u201d. Send a deck as .yaml or .yml (this bot's deck "
        "format), .csv or .tsv (a spreadsheet with question and answer columns, saved as "
        "UTF-8) or .apkg (an Anki deck package)."
    )
    assert _refusal(parse_deck_upload("README", b"text")).startswith(
        "I can't read \u201cREADME\u201d"
    )


def test_file_size() -> None:
    limits = UploadLimits(max_file_bytes=2 * 2**20)
    data = b"question,answer\n" + b"x" * (2 * 2**20)
    assert _refusal(parse_deck_upload("big.csv", data, limits=limits)) == (
        "This file is 2 MB; a deck file can be at most 2 MB."
    )
    assert _refusal(parse_deck_upload("big.csv", b"x" * (10 * 2**20 + 1))) == (
        "This file is 10 MB; a deck file can be at most 10 MB."
    )
    assert _refusal(parse_deck_upload("empty.yaml", b"  \n")) == "This file is empty."
    # Asked before downloading, from the Document's file_size: the same message.
    assert size_refusal(10 * 2**20) is None
    assert size_refusal(15 * 2**20 + 2**19) == (
        "This file is 15.5 MB; a deck file can be at most 10 MB."
    )


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("many.csv", b"question,answer\nA?,a\nB?,b\nC?,c\n"),
        (
            "many.yaml",
            b"questions:\n"
            + b"".join(b'  - {id: q%d, question: "Q%d?", answer: A}\n' % (i, i) for i in range(3)),
        ),
        ("many.apkg", old_package(media={})),
    ],
)
def test_number_of_questions(name: str, data: bytes) -> None:
    refusal = _refusal(parse_deck_upload(name, data, limits=SMALL))
    assert "a deck can have at most 2 questions" in refusal or (
        "; a deck can have at most 2." in refusal
    )
    assert refusal.endswith("Split it into smaller decks.")


def test_question_and_answer_length() -> None:
    data = ("question,answer\n" + "q" * 1001 + ",a\nok?," + "a" * 20_001 + "\n").encode()
    upload = parse_deck_upload("long.csv", data)
    assert upload.problems == (
        "row 2, column 'question': the question is 1,001 characters long; at most 1,000 "
        "are allowed",
        "row 3, column 'answer': the answer is 20,001 characters long; at most 20,000 are allowed",
    )


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


BOMB_MESSAGE = (
    "This package unpacks to more than 50 MB; a deck package can hold at most that much. "
    "Leave out the media when you export."
)


def test_zip_bomb() -> None:
    package = _zip("collection.anki2", bytes(51 * 2**20))
    assert len(package) < 100_000  # small to send, huge to unpack
    assert _refusal(parse_deck_upload("bomb.apkg", package)) == BOMB_MESSAGE


def test_zstd_bomb_declared_and_undeclared() -> None:
    declared = zstandard.ZstdCompressor().compress(bytes(51 * 2**20))
    assert _refusal(parse_deck_upload("b.apkg", _zip("collection.anki21b", declared))) == (
        BOMB_MESSAGE
    )
    # A frame that does not say its size: caught while decompressing, at the cap.
    stream = io.BytesIO()
    with zstandard.ZstdCompressor(write_content_size=False).stream_writer(
        stream, closefd=False
    ) as writer:
        writer.write(bytes(2_000_000))
    frame = stream.getvalue()
    assert zstandard.frame_content_size(frame) == -1
    package = _zip("collection.anki21b", frame)
    assert _refusal(parse_deck_upload("b.apkg", package, limits=SMALL)) == (
        BOMB_MESSAGE.replace("50 MB", "0 MB")
    )


def test_a_current_package_within_limits_still_reads() -> None:
    frame = zstandard.ZstdCompressor().compress(collection())
    upload = parse_deck_upload("ok.apkg", _zip("collection.anki21b", frame))
    assert upload.deck is not None
    assert len(upload.deck.questions) == len(NOTES)


def test_billion_laughs() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    upload = parse_deck_upload("lol.yaml", "\n".join(lines).encode())
    assert upload.problems == (
        "line 4, column 14: more than 20 YAML aliases (*name); write the values out instead",
    )


def test_few_aliases_of_a_huge_list() -> None:
    items = ",".join(["1"] * 70_000)
    text = f"questions: []\nbig: &big [{items}]\nc: [*big, *big, *big]\n"
    upload = parse_deck_upload("wide.yaml", text.encode())
    [problem] = upload.problems
    assert problem == (
        "line 3, column 17: the YAML holds more than 200,000 values, aliases expanded; "
        "a deck needs far fewer"
    )


def test_deep_nesting() -> None:
    upload = parse_deck_upload("deep.yaml", b"questions: " + b"[" * 5000 + b"]" * 5000)
    assert upload.problems == (
        "line 1, column 23: nested more than 12 levels deep; a deck needs far fewer",
    )


def test_problems_message_lists_twenty_then_counts_the_rest() -> None:
    data = b"question,answer\n" + b"".join(b"Q%d?,\n" % i for i in range(25))
    upload = parse_deck_upload("empty-answers.csv", data)
    message = problems_message(upload)
    lines = message.split("\n")
    assert lines[0] == "The deck was not imported: 25 problems to fix first."
    assert lines[1] == "• row 2, column 'answer': answer must not be empty"
    assert lines[20] == "• row 21, column 'answer': answer must not be empty"
    assert lines[21:] == ["… and 5 more."]
    one = problems_message(parse_deck_upload("one.csv", b"question,answer\nQ?,\n"))
    assert one == (
        "The deck was not imported: 1 problem to fix first.\n"
        "• row 2, column 'answer': answer must not be empty"
    )
