"""People's decks in memory: a bounded LRU, keyed by (deck id, version).

The built-in bank is loaded once and kept; people's decks are loaded from the
database when a chat needs them (bot/study/banks.py) and kept here while they are
used. The cache is bounded twice, by decks and by characters (an own deck holds up
to 2,000 questions of up to 21,000 characters), so the process's memory does not
grow with the number of decks stored. A new version of a deck (a replace) has a new
key: the old version is dropped when the new one is put, and never served again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from bot.domain.content import Deck
from bot.domain.own_decks import deck_weight

MAX_DECKS = 1000
MAX_CHARACTERS = 8_000_000
"""About 8-30 MB of text, whatever the number of decks stored."""


@dataclass(frozen=True)
class _Entry:
    version: int
    deck: Deck
    weight: int


class DeckCache:
    """An LRU of own decks (bank :class:`Deck` values, ids namespaced), one version per deck."""

    def __init__(self, *, max_decks: int = MAX_DECKS, max_characters: int = MAX_CHARACTERS):
        self.max_decks = max_decks
        self.max_characters = max_characters
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._weight = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def characters(self) -> int:
        return self._weight

    def has(self, deck_id: int) -> bool:
        """Whether some version of the deck is held (a loader then reads its header only)."""
        return deck_id in self._entries

    def get(self, deck_id: int, version: int) -> Deck | None:
        """The deck at this version, marked as just used; None if not held."""
        entry = self._entries.get(deck_id)
        if entry is None or entry.version != version:
            self.misses += 1
            return None
        self._entries.move_to_end(deck_id)
        self.hits += 1
        return entry.deck

    def put(self, deck_id: int, version: int, deck: Deck) -> None:
        """Hold this version (replacing an older one), evicting the least recently used.

        A deck heavier than the whole budget is not held (it is served once, uncached).
        """
        old = self._entries.pop(deck_id, None)
        if old is not None:
            self._weight -= old.weight
        weight = deck_weight(deck)
        if weight > self.max_characters:
            return
        self._entries[deck_id] = _Entry(version, deck, weight)
        self._weight += weight
        while len(self._entries) > self.max_decks or self._weight > self.max_characters:
            _, evicted = self._entries.popitem(last=False)
            self._weight -= evicted.weight

    def drop(self, deck_id: int) -> None:
        """Forget a deck (deleted or replaced by this process)."""
        old = self._entries.pop(deck_id, None)
        if old is not None:
            self._weight -= old.weight
