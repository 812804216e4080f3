"""Objects kept once per running bot in ``bot_data.extras``, made on first use.

The /stats picture cache and drawing throttle, the model grader's client and the group
pointer memory each live as long as the process, not as a module global (a test's bot, or
a second Application in one process, gets its own).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

T = TypeVar("T")


def kept(extras: MutableMapping[str, Any], key: str, kind: type[T], make: Callable[[], T]) -> T:
    """``extras[key]`` if it is a ``kind``, else a new one from ``make()``, kept there."""
    value = extras.get(key)
    if not isinstance(value, kind):
        value = make()
        extras[key] = value
    return value
