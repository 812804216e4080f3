"""Telegram's flood limits (bot/telegram/limits.py) enforced as the Bot API does, for the fake.

More than 30 messages in any second overall, more than 20 in any minute in one group,
or more than about one a second in one private chat (a burst of 3 allowed) is answered
429 with ``parameters.retry_after``. Messages are ``send*``, ``copyMessage``,
``forwardMessage`` and ``editMessage*`` requests; answering a callback query, setting
commands or reading a chat is not a message. A rejected request is not counted.
"""

from __future__ import annotations

import math
from collections import Counter, deque

from bot.telegram.limits import GROUP_MESSAGES_PER_MINUTE as GROUP_PER_MINUTE
from bot.telegram.limits import MESSAGES_PER_SECOND as OVERALL_PER_SECOND
from bot.telegram.limits import PRIVATE_BURST, is_message
from bot.telegram.limits import PRIVATE_MESSAGES_PER_SECOND as PRIVATE_PER_SECOND

__all__ = ["FloodLimits", "is_message", "retry_after"]


class FloodLimits:
    """Sliding windows (overall, per group) and token buckets (per private chat)."""

    def __init__(
        self,
        *,
        overall_per_second: int = OVERALL_PER_SECOND,
        group_per_minute: int = GROUP_PER_MINUTE,
        private_per_second: float = PRIVATE_PER_SECOND,
        private_burst: int = PRIVATE_BURST,
    ) -> None:
        self.overall_per_second = overall_per_second
        self.group_per_minute = group_per_minute
        self.private_per_second = private_per_second
        self.private_burst = private_burst
        self.overall: deque[float] = deque()
        self.private: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self.groups: dict[int | str, deque[float]] = {}
        self.rejected = 0
        self.rejected_by: Counter[str] = Counter()  # "overall", "group", "private"

    def admit(self, chat_id: int | str | None, now: float) -> float:
        """0 if the message may go now (and count it), else seconds until it could."""
        while self.overall and self.overall[0] <= now - 1.0:
            self.overall.popleft()
        if len(self.overall) >= self.overall_per_second:
            return self._reject("overall", self.overall[0] + 1.0 - now)
        if isinstance(chat_id, str) or (chat_id is not None and chat_id < 0):
            window = self.groups.setdefault(chat_id, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= self.group_per_minute:
                return self._reject("group", window[0] + 60.0 - now)
            window.append(now)
        elif chat_id is not None:
            burst = float(self.private_burst)
            tokens, at = self.private.get(chat_id, (burst, now))
            tokens = min(burst, tokens + (now - at) * self.private_per_second)
            if tokens < 1.0:
                return self._reject("private", (1.0 - tokens) / self.private_per_second)
            self.private[chat_id] = (tokens - 1.0, now)
        self.overall.append(now)
        return 0.0

    def _reject(self, limit: str, wait: float) -> float:
        self.rejected += 1
        self.rejected_by[limit] += 1
        return max(wait, 1e-6)


def retry_after(wait: float) -> int:
    """Telegram's ``retry_after``: whole seconds, at least 1."""
    return max(1, math.ceil(wait))
