"""Decks to files people take elsewhere: our YAML format and Anki packages.

``deck_to_yaml`` writes the bank's own format (content/README.md), which the content
loader and the upload reader both load back to the same questions; ``deck_to_apkg``
writes an Anki package with genanki, which every Anki version imports.
"""

from __future__ import annotations

from bot.content.exports.anki import deck_to_apkg
from bot.content.exports.yaml_deck import deck_to_yaml

__all__ = ["deck_to_apkg", "deck_to_yaml"]
