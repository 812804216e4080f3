"""Which group members were already pointed to the private chat for a question.

A reply to a question in a group gets one line saying typed answers are checked in
private (bot/handlers/typed.py), once per member and question: a lively group replying
to the daily question should not get a pointer for every reply (the group's 20 messages
a minute are precious). The memory is in this process only and bounded; after a restart,
or once ``MEMORY`` newer pointers pushed a key out, a member may get the line again,
which is harmless.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

from bot.service.extras import kept

MEMORY = 10_000
_KEY = "typed_group_pointers"

PointerKey = tuple[int, int, int]  # (group chat id, delivery id, member id)


class PointerMemory:
    """A bounded memory of pointers sent, oldest forgotten first."""

    def __init__(self, size: int = MEMORY) -> None:
        self.size = size
        self._seen: OrderedDict[PointerKey, None] = OrderedDict()

    def first_time(self, key: PointerKey) -> bool:
        """True the first time ``key`` is seen (and remember it)."""
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)


def pointer_memory(extras: MutableMapping[str, Any]) -> PointerMemory:
    """The running bot's memory (in ``bot_data.extras``), made on first use."""
    return kept(extras, _KEY, PointerMemory, PointerMemory)
