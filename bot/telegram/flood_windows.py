"""Telegram's flood limits as arithmetic on instants: sliding windows and a token bucket.

Pure: every method takes ``now`` (the event loop's clock, in seconds) and no
asyncio or PTB is involved, so the instants they answer are tested exactly
(tests/telegram/test_flood_windows.py). The rate limiter (bot/telegram/ratelimit.py)
asks them when a request may go and tells them when it went and when its
response came; the numbers themselves are Telegram's (bot/telegram/limits.py).

Why sliding windows and not ``aiolimiter``: its leaky bucket lets a full
bucket's worth through in a burst on top of the steady rate, so a window of one
second can see twice the rate (a 429 from Telegram). Here a limit is a sliding
window (a deque per key): at most ``n`` sends in any ``period`` seconds, each
send counted until ``period`` after its response came back, so however late a
request reaches Telegram the bot itself provokes no 429s.
"""

from __future__ import annotations

import math
from collections import deque

from bot.telegram.limits import (
    GROUP_MESSAGES_PER_MINUTE,
    PRIVATE_BURST,
    PRIVATE_MESSAGES_PER_SECOND,
)

# A private chat: a burst of PRIVATE_BURST, and as many per PRIVATE_BURST seconds on
# average (Telegram's "about one a second", bot/telegram/limits.py).
PRIVATE_PERIOD_SECONDS = PRIVATE_BURST / PRIVATE_MESSAGES_PER_SECOND
# A send holds its place in a window until ``period`` after its response (see
# SlidingWindow); 1 % on top covers clock rounding between here and Telegram.
JITTER_MARGIN = 1.01
# Chats idle for a whole window are forgotten at most this often (ChatWindows.prune).
PRUNE_EVERY_SECONDS = 5.0
# Free broadcast sends may go this many at once; then one per 1/rate seconds.
BROADCAST_BURST = 3


class Slot:
    """One send's place in a window: in flight (``responded_at`` is infinite) until
    its response came, then counted until a period after ``responded_at``."""

    __slots__ = ("responded_at",)

    def __init__(self) -> None:
        self.responded_at = math.inf


class SlidingWindow:
    """At most ``limit`` sends in any ``period`` seconds, counted as Telegram counts them.

    Telegram counts a message when it arrives, which is some time after the
    limiter lets it go (more under load) and before its response comes back.
    So a send occupies its place in the window until ``period`` after its
    response: never sooner than it could have arrived. Network jitter then
    cannot squeeze one message too many into Telegram's window.
    """

    __slots__ = ("_slots", "period")

    def __init__(self, limit: int, period: float) -> None:
        self._slots: deque[Slot] = deque(maxlen=limit)
        self.period = period

    @property
    def limit(self) -> int:
        """How many sends fit in one period."""
        return self._slots.maxlen or 0

    def free_at(self, now: float) -> float:
        """The earliest instant (>= now) at which one more send fits; infinite while
        the oldest send of a full window is still in flight."""
        slots = self._slots
        if len(slots) < (slots.maxlen or 0):
            return now
        return max(now, slots[0].responded_at + self.period)

    def take(self) -> Slot:
        """Count one send (in flight until its ``responded_at`` is set); the oldest
        place of a full window is dropped, which ``free_at`` said had aged out."""
        slot = Slot()
        self._slots.append(slot)
        return slot

    def has_been_idle(self, now: float) -> bool:
        """Nothing sent within the last period (and nothing in flight): the window
        holds no information any more and can be forgotten."""
        return not self._slots or self._slots[-1].responded_at + self.period <= now


class TokenBucket:
    """``capacity`` sends at once, refilled at ``rate`` per second.

    Free broadcast sends are paced with it rather than let go in a block of the
    overall window's size: a block holds every place until a period after its
    responses, so a reply arriving meanwhile waited for the whole block to age
    out (half a second on average at 30/s). Paced, a place frees every 1/rate s
    and a waiting reply takes the next one.
    """

    __slots__ = ("_counted_at", "_tokens", "capacity", "rate")

    def __init__(self, *, capacity: int, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self._tokens = float(capacity)
        # When ``_tokens`` was last counted (the last take); never taken: full.
        self._counted_at = -math.inf

    def _level(self, now: float) -> float:
        if self._counted_at == -math.inf:
            return self._tokens
        return min(self.capacity, self._tokens + (now - self._counted_at) * self.rate)

    def ready_at(self, now: float) -> float:
        """The earliest instant (>= now) with a whole token."""
        level = self._level(now)
        return now if level >= 1 else now + (1 - level) / self.rate

    def take(self, now: float) -> None:
        """Spend one token at ``now`` (the caller asked ``ready_at`` first)."""
        self._tokens = self._level(now) - 1
        self._counted_at = now


def overall_window(overall_rate: float) -> SlidingWindow:
    """The bot's overall budget: ``overall_rate`` messages a second, as a window of
    ``round(rate)`` sends per (about) one second. A fractional rate (say 0.5/s)
    becomes 1 message per 2 s."""
    per_window = max(1, round(overall_rate))
    return SlidingWindow(per_window, JITTER_MARGIN * per_window / max(overall_rate, 1e-9))


class ChatWindows:
    """Each chat's own limit: a group's (``group_limit`` a minute) or a private chat's
    (a burst of ``private_limit`` per ``private_period`` seconds). A chat id is a
    group when negative or a string (``"@channel"``)."""

    __slots__ = (
        "_group_limit",
        "_group_period",
        "_last_prune",
        "_private_limit",
        "_private_period",
        "windows",
    )

    def __init__(
        self,
        *,
        group_limit: int = GROUP_MESSAGES_PER_MINUTE,
        group_period: float = 60.0 * JITTER_MARGIN,
        private_limit: int = PRIVATE_BURST,
        private_period: float = PRIVATE_PERIOD_SECONDS * JITTER_MARGIN,
    ) -> None:
        self._group_limit = group_limit
        self._group_period = group_period
        self._private_limit = private_limit
        self._private_period = private_period
        # The chats sent to lately (read only outside: the limiter reads it directly
        # on its hot path rather than through ``free_at``).
        self.windows: dict[int | str, SlidingWindow] = {}
        self._last_prune = 0.0

    def __len__(self) -> int:
        """How many chats are remembered (a broadcast touches many; ``prune`` forgets)."""
        return len(self.windows)

    def free_at(self, chat: int | str, now: float) -> float:
        """The earliest instant (>= now) at which ``chat`` may receive one more send."""
        window = self.windows.get(chat)
        return now if window is None else window.free_at(now)

    def take(self, chat: int | str) -> Slot:
        """Count one send to ``chat``."""
        window = self.windows.get(chat)
        if window is None:
            group = isinstance(chat, str) or chat < 0
            window = (
                SlidingWindow(self._group_limit, self._group_period)
                if group
                else SlidingWindow(self._private_limit, self._private_period)
            )
            self.windows[chat] = window
        return window.take()

    def prune(self, now: float) -> None:
        """Forget chats that sent nothing within their window, at most once every
        PRUNE_EVERY_SECONDS (a broadcast touches many chats once)."""
        if now - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = now
        idle = [chat for chat, window in self.windows.items() if window.has_been_idle(now)]
        for chat in idle:
            del self.windows[chat]
