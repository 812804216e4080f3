"""A checked bank, remembered by its content: start-up does not re-render an unchanged bank.

Checking the bank renders every question and answer as Telegram would see
them (seconds for 310 questions), and parsing the YAML with positions takes
most of a second more. Neither result changes unless the deck files or the
code that loads and renders them change, so after a successful check the bank
is written as JSON under the data directory, keyed by a SHA-256 of both. The
next start with the same key reads that JSON (milliseconds) instead; any edit
to a deck file, or an upgrade of the loader or renderer, misses the key and
runs the full check, whose problems still stop start-up with file:line:column.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from bot.domain.content import Bank, Deck
from bot.domain.topics import TOPIC_KEY_MAX, long_topic_keys

log = logging.getLogger(__name__)

CACHE_FILE = "bank-cache.json"
FORMAT = 1
_PACKAGE = Path(__file__).resolve().parents[1]
# The code whose output the check depends on: loading, the bank model, rendering, texts.
_CODE = (
    "content/loader.py",
    "content/check.py",
    "content/yaml_source.py",
    "domain/content.py",
    "rendering",  # the texts are there too
)


def bank_key(directory: Path) -> str:
    """SHA-256 of the deck files (names and bytes) and of the code that checks them."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in [*files, *_code_files()]:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _code_files() -> list[Path]:
    paths: list[Path] = []
    for name in _CODE:
        path = _PACKAGE / name
        paths += sorted(path.glob("*.py")) if path.is_dir() else [path]
    return paths


def load_bank_cached(directory: Path, cache_dir: Path | None) -> Bank:
    """The checked bank: from the cache when the key matches, else checked and cached.

    Raises BankError (from the full check) when the bank has problems; a cache
    that cannot be read or written only costs the full check.
    """
    # The YAML loader and the renderer are imported only when the check runs.
    from bot.content.check import load_checked_bank

    if cache_dir is None or not directory.is_dir():
        return _warn_long_ids(load_checked_bank(directory))
    key = bank_key(directory)
    path = cache_dir / CACHE_FILE
    cached = _read(path, key)
    if cached is not None:
        return _warn_long_ids(cached)
    bank = load_checked_bank(directory)
    _write(path, key, bank)
    return _warn_long_ids(bank)


def _warn_long_ids(bank: Bank) -> Bank:
    """One line for deck ids or tags `content check` refuses but the bot can still serve."""
    long_ids = long_topic_keys(bank)
    if long_ids:
        log.warning(
            "deck ids or tags longer than %d characters (buttons carry a hash of them; "
            "`content check` shows where): %s",
            TOPIC_KEY_MAX,
            ", ".join(long_ids),
        )
    return bank


def _read(path: Path, key: str) -> Bank | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        return Bank(tuple(Deck.model_validate(deck) for deck in data["decks"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, ValidationError) as error:
        log.warning("ignoring the bank cache %s: %s", path, error)
        return None


def _write(path: Path, key: str, bank: Bank) -> None:
    """Write atomically (temporary file, then rename): a crash never leaves half a cache."""
    data = {"key": key, "decks": [deck.model_dump(mode="json") for deck in bank.decks]}
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".bank-cache-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        log.warning("could not write the bank cache %s: %s", path, error)
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
