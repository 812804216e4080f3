"""The checked bank is cached by content hash: an unchanged bank is not checked again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.content import cache
from bot.content.cache import CACHE_FILE, bank_key, load_bank_cached
from bot.content.check import load_checked_bank
from bot.content.loader import load_bank
from bot.content.problems import BankError
from tests.support.bot_harness import small_bank, write_bank


@pytest.fixture
def bank_dir(tmp_path: Path) -> Path:
    return write_bank(small_bank(), tmp_path / "content")


def test_first_load_checks_and_writes_the_cache(bank_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    bank = load_bank_cached(bank_dir, cache)
    assert bank.decks == load_checked_bank(bank_dir).decks
    stored = json.loads((cache / CACHE_FILE).read_text(encoding="utf-8"))
    assert stored["key"] == bank_key(bank_dir)
    assert [deck["id"] for deck in stored["decks"]] == ["ml", "nlp"]


def test_an_unchanged_bank_comes_from_the_cache(bank_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_bank_cached(bank_dir, cache)
    # Prove the second load reads the cache, not the YAML: give the cached copy
    # of the first question a text the files do not have.
    path = cache / CACHE_FILE
    stored = json.loads(path.read_text(encoding="utf-8"))
    stored["decks"][0]["questions"][0]["question"] = "Served from the cache?"
    path.write_text(json.dumps(stored), encoding="utf-8")
    bank = load_bank_cached(bank_dir, cache)
    assert bank.decks[0].questions[0].question == "Served from the cache?"


def test_an_edited_deck_is_checked_again(bank_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_bank_cached(bank_dir, cache)
    deck = bank_dir / "ml.yaml"
    deck.write_text(
        deck.read_text(encoding="utf-8").replace("L1 vs L2", "L1 or L2"), encoding="utf-8"
    )
    bank = load_bank_cached(bank_dir, cache)
    assert bank.question("l1-vs-l2") is not None
    assert "L1 or L2" in bank.question("l1-vs-l2").question  # type: ignore[union-attr]


def test_a_broken_bank_still_stops_with_positions(bank_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_bank_cached(bank_dir, cache)
    (bank_dir / "nlp.yaml").write_text("deck: [unclosed\n", encoding="utf-8")
    with pytest.raises(BankError) as raised:
        load_bank_cached(bank_dir, cache)
    assert "nlp.yaml:" in str(raised.value)


def test_an_unreadable_cache_costs_only_the_check(bank_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CACHE_FILE).write_text("{not json", encoding="utf-8")
    bank = load_bank_cached(bank_dir, cache)
    assert len(bank) == 5
    assert json.loads((cache / CACHE_FILE).read_text(encoding="utf-8"))["key"] == bank_key(bank_dir)


def test_the_real_bank_round_trips_through_the_cache_format(tmp_path: Path) -> None:
    """Every question of the real bank survives JSON and back (loaded without the
    render check, which tests/rendering/test_render_bank.py covers)."""
    bank = load_bank(Path(__file__).resolve().parents[2] / "content")
    path = tmp_path / CACHE_FILE
    cache._write(path, "key", bank)
    restored = cache._read(path, "key")
    assert restored is not None
    assert restored.decks == bank.decks
    assert cache._read(path, "another key") is None
