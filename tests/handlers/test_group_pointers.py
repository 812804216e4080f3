"""The group pointer memory (bot/handlers/group_pointers.py): once per member and question,
bounded, oldest forgotten first."""

from __future__ import annotations

from typing import Any

from bot.handlers.group_pointers import MEMORY, PointerMemory, pointer_memory


def test_a_key_is_new_once() -> None:
    memory = PointerMemory()
    assert memory.first_time((-100, 7, 1001))
    assert not memory.first_time((-100, 7, 1001))
    assert memory.first_time((-100, 7, 2002))  # another member
    assert memory.first_time((-100, 8, 1001))  # another question
    assert len(memory) == 3


def test_the_oldest_key_is_forgotten_past_the_size() -> None:
    memory = PointerMemory(size=2)
    assert memory.first_time((1, 1, 1))
    assert memory.first_time((1, 1, 2))
    assert memory.first_time((1, 1, 3))  # pushes (1, 1, 1) out
    assert len(memory) == 2
    assert not memory.first_time((1, 1, 3))
    assert memory.first_time((1, 1, 1))


def test_one_memory_per_running_bot() -> None:
    extras: dict[str, Any] = {}
    memory = pointer_memory(extras)
    assert memory.size == MEMORY == 10_000
    assert pointer_memory(extras) is memory
