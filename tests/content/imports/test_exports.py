"""Exports load back: YAML through both our loaders, .apkg through our Anki reader."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.content.check import telegram_checks
from bot.content.exports import deck_to_apkg, deck_to_yaml
from bot.content.exports.anki import anki_id, markdown_to_anki_html
from bot.content.formulas import formula_problems
from bot.content.imports import parse_deck_upload, problems_message
from bot.content.loader import load_deck_file
from bot.domain.content import Deck, Question, Source
from tests.support.bot_harness import small_bank

SOURCE = Source(name="Tests", attribution="Written for the tests.")
# Characters that mean something to YAML, Markdown, TeX or HTML, line breaks, Unicode.
_ALPHABET = st.sampled_from(
    list("abc XYZ019") + list("*_`$\\#-:|>{}[]()&<'\"%@!,.?\n\t") + ["é", "—", "😀", "\u2028"]
)
_TEXT = st.text(_ALPHABET, min_size=1, max_size=60).filter(lambda s: bool(s.strip()))
_SLUG = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)


@st.composite
def decks(draw: st.DrawFn) -> Deck:
    ids = draw(st.lists(_SLUG, min_size=1, max_size=4, unique=True))
    questions = tuple(
        Question(
            id=qid,
            question=draw(_TEXT),
            answer=draw(_TEXT),
            tags=tuple(draw(st.lists(_SLUG, max_size=2, unique=True))),
            difficulty=draw(st.sampled_from([None, "easy", "medium", "hard"])),
        )
        for qid in ids
    )
    return Deck(
        id=draw(_SLUG),
        title=draw(_TEXT.map(lambda s: s[:64])).strip() or "T",
        description="A deck.",
        source=SOURCE,
        questions=questions,
    )


def _accepted(deck: Deck) -> bool:
    """What the checker accepts: the bank's per-question checks, formulas included."""
    return not any(list(telegram_checks(deck, q)) or formula_problems(q) for q in deck.questions)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(decks())
def test_yaml_export_reimports_to_the_same_questions(deck: Deck) -> None:
    """For any deck the checker accepts: export, upload, same questions."""
    assume(_accepted(deck))
    text = deck_to_yaml(deck)
    upload = parse_deck_upload("deck.yaml", text.encode())
    assert upload.deck is not None, problems_message(upload)
    assert upload.deck.questions == deck.questions
    assert upload.deck.title == deck.title.strip()


def test_yaml_export_loads_with_the_bank_loader(tmp_path: Path) -> None:
    for deck in small_bank().decks:
        path = tmp_path / f"{deck.id}.yaml"
        path.write_text(deck_to_yaml(deck), encoding="utf-8")
        loaded, problems = load_deck_file(path)
        assert problems == []
        assert loaded is not None
        assert loaded.deck == deck


def test_yaml_export_writes_answers_as_literal_blocks() -> None:
    deck = small_bank().decks[1]
    assert deck_to_yaml(deck) == (
        "deck:\n"
        "  id: nlp\n"
        "  title: NLP\n"
        "  description: Language models.\n"
        "  source:\n"
        "    name: Test source\n"
        "    attribution: Written for the tests.\n"
        "questions:\n"
        "- id: attention\n"
        "  question: What is attention?\n"
        "  answer: |-\n"
        "    ```python\n"
        "    softmax(q @ k.T) @ v\n"
        "    ```\n"
        "  tags:\n"
        "  - attention\n"
        "  difficulty: medium\n"
        "- id: bpe\n"
        "  question: What is BPE?\n"
        "  answer: Byte-pair encoding <merges> frequent pairs & more.\n"
        "  difficulty: medium\n"
    )


def test_apkg_export_reads_back_with_our_reader() -> None:
    bank = small_bank()
    for deck in bank.decks:
        data = deck_to_apkg(deck, timestamp=1_700_000_000.0)
        upload = parse_deck_upload(f"{deck.id}.apkg", data)
        assert upload.deck is not None, problems_message(upload)
        assert upload.deck.title == deck.title
        assert upload.dropped_media == 0
        # Anki has no difficulty; everything else comes back (escaping may differ).
        back = upload.deck.questions
        assert [q.id for q in back] == [q.id for q in deck.questions]
        assert [q.tags for q in back] == [q.tags for q in deck.questions]
        assert [q.question for q in back] == [q.question for q in deck.questions]
    ml, nlp = bank.decks
    ml_back = parse_deck_upload("ml.apkg", deck_to_apkg(ml)).deck
    nlp_back = parse_deck_upload("nlp.apkg", deck_to_apkg(nlp)).deck
    assert ml_back is not None
    assert nlp_back is not None
    assert [q.answer for q in ml_back.questions[:2]] == [q.answer for q in ml.questions[:2]]
    assert nlp_back.questions[0].answer == nlp.questions[0].answer  # the fenced code
    assert nlp_back.questions[1].answer == "Byte-pair encoding \\<merges> frequent pairs \\& more."


def test_apkg_has_stable_ids_and_what_anki_needs() -> None:
    deck = small_bank().decks[0]
    data = deck_to_apkg(deck, timestamp=1_700_000_000.0)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["collection.anki2", "media"]
        assert archive.read("media") == b"{}"
        image = archive.read("collection.anki2")
    with closing(sqlite3.connect(":memory:")) as db:
        db.deserialize(image)
        mids = {mid for (mid,) in db.execute("SELECT DISTINCT mid FROM notes")}
        guids = [g for (g,) in db.execute("SELECT guid FROM notes ORDER BY id")]
        dids = {did for (did,) in db.execute("SELECT DISTINCT did FROM cards")}
    assert mids == {anki_id("model", "ml")}
    assert dids == {anki_id("deck", "ml")}
    assert guids == [q.id for q in deck.questions]
    assert anki_id("model", "ml") == anki_id("model", "ml") != anki_id("model", "nlp")
    assert 1 << 30 <= anki_id("deck", "ml") < 1 << 31


def test_markdown_to_anki_html_keeps_formulas_for_mathjax() -> None:
    assert markdown_to_anki_html("Loss \\(a_1 * b_2\\) and $x$, `\\(code\\)`") == (
        "<p>Loss \\(a_1 * b_2\\) and \\(x\\), <code>\\(code\\)</code></p>"
    )
    assert markdown_to_anki_html("- **a** < b\n\n$$E$$") == (
        "<ul>\n<li><strong>a</strong> &lt; b</li>\n</ul>\n<p>\\[E\\]</p>"
    )
