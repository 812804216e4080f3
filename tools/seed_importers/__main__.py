"""Build deck YAML files from one of the two source documents (a one-off, not the running bot).

    python -m tools.seed_importers aman ../shared/seeds/000_f3be471e712f05c9.txt content/
    python -m tools.seed_importers flashcards ../shared/seeds/001_356b8c9b38feb751.txt content/

Re-running reproduces the committed files byte for byte; after import the YAML is the
source of truth (README "The question bank").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.content.loader import load_deck_file
from tools.seed_importers.aman import import_aman
from tools.seed_importers.flashcards import import_flashcards
from tools.seed_importers.yaml_writer import write_decks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.seed_importers",
        description="Build deck YAML files from a source document.",
    )
    parser.add_argument("format", choices=["aman", "flashcards"], help="the seed's shape")
    parser.add_argument("seed", type=Path, help="the source text file")
    parser.add_argument("out_dir", type=Path, nargs="?", default=Path("content"))
    return parser


def import_seed(kind: str, seed: Path, out_dir: Path) -> int:
    if not seed.is_file():
        print(f"no such file: {seed}", file=sys.stderr)
        return 1
    importer = import_aman if kind == "aman" else import_flashcards
    # Ids are unique bank-wide: avoid those of the other decks already in out_dir
    # (the decks this import rewrites are replaced whole, so theirs are free).
    produced = {deck.deck.id for deck in importer(seed, taken_ids=set())}
    taken = _ids_in_other_decks(out_dir, produced)
    for path in write_decks(importer(seed, taken_ids=taken), out_dir):
        print(f"wrote {path}")
    return 0


def _ids_in_other_decks(out_dir: Path, skip_decks: set[str]) -> set[str]:
    """Question ids of the valid deck files in ``out_dir`` other than ``skip_decks``."""
    taken: set[str] = set()
    for path in sorted(out_dir.glob("*.yaml")) if out_dir.is_dir() else []:
        loaded, _ = load_deck_file(path)
        if loaded is not None and loaded.deck.id not in skip_decks:
            taken |= {question.id for question in loaded.deck.questions}
    return taken


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return import_seed(args.format, args.seed, args.out_dir)


if __name__ == "__main__":
    sys.exit(main())
