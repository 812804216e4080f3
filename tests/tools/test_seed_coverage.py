"""The committed bank covers both seed documents, and the importers reproduce it exactly.

The seeds live outside the repository (``../shared/seeds``); without them
these tests are skipped. Headings are extracted here independently of the
importer: every table-of-contents entry of the web page, every stand-alone
question line of its body, and every flashcard prompt must be a question in
``content/`` or be named (in “quotes”) in the notes of a deck built from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.domain.content import DeckFile
from tools.seed_importers.aman import SECTIONS, TRAILING, import_aman
from tools.seed_importers.flashcards import import_flashcards
from tools.seed_importers.yaml_writer import write_decks

REPO = Path(__file__).resolve().parents[2]
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
PAGE = SEEDS / "000_f3be471e712f05c9.txt"
CARDS = SEEDS / "001_356b8c9b38feb751.txt"
CONTENT = REPO / "content"
PAGE_DECKS = ("deep-learning", "nlp", "machine-learning", "misc")
CARD_DECK = "pmldl-oral"

pytestmark = pytest.mark.skipif(
    not (PAGE.is_file() and CARDS.is_file()),
    reason=f"seed documents not found in {SEEDS} (they are kept outside the repository)",
)


def _load(deck_id: str) -> DeckFile:
    path = CONTENT / f"{deck_id}.yaml"
    return DeckFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _page_headings() -> list[str]:
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    toc: list[str] = []
    index = 1
    while lines[index].startswith("- "):
        toc.append(lines[index][2:].strip())
        index += 1
    headings = [entry for entry in toc if entry not in SECTIONS and entry not in TRAILING]
    body = lines[index:]
    for number, line in enumerate(body[1:-1], start=1):
        stand_alone = not line.startswith("-") and body[number - 1] != "-"
        answered = body[number + 1].startswith("-")
        if stand_alone and answered and line.endswith("?") and not line.startswith("Q:"):
            headings.append(line)
    return headings


def _covered(heading: str, decks: list[DeckFile]) -> bool:
    questions = {q.question for deck in decks for q in deck.questions}
    notes = " ".join(deck.deck.notes or "" for deck in decks)
    return heading in questions or f"“{heading}”" in notes


def test_every_page_heading_is_a_question_or_explained_in_the_notes() -> None:
    decks = [_load(deck_id) for deck_id in PAGE_DECKS]
    headings = _page_headings()
    assert len(headings) > 250
    missing = [heading for heading in headings if not _covered(heading, decks)]
    assert missing == []


def test_every_flashcard_prompt_is_a_question() -> None:
    lines = [line for line in CARDS.read_text(encoding="utf-8").splitlines() if line.strip()]
    prompts = [line.strip() for line in lines[1::2]]
    deck = _load(CARD_DECK)
    assert [q.question for q in deck.questions] == prompts
    assert len(prompts) == 65


def test_question_counts_answers_and_ids() -> None:
    page_decks = [_load(deck_id) for deck_id in PAGE_DECKS]
    cards = _load(CARD_DECK)
    assert sum(len(deck.questions) for deck in page_decks) >= 220
    assert len(cards.questions) == 65
    everything = [q for deck in [*page_decks, cards] for q in deck.questions]
    assert all(q.answer.strip() for q in everything)
    assert all(1 <= len(q.tags) <= 4 for q in everything)
    ids = [q.id for q in everything]
    assert len(ids) == len(set(ids))


def test_importers_reproduce_the_committed_files(tmp_path: Path) -> None:
    taken: set[str] = set()
    decks = import_aman(PAGE, taken_ids=taken)
    decks += import_flashcards(CARDS, taken_ids=taken)
    written = write_decks(decks, tmp_path)
    assert [path.name for path in written] == [f"{d}.yaml" for d in (*PAGE_DECKS, CARD_DECK)]
    for path in written:
        committed = (CONTENT / path.name).read_bytes()
        assert path.read_bytes() == committed, f"{path.name} differs from content/{path.name}"
