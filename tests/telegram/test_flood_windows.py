"""The flood limits' arithmetic at exact instants: given these sends, the next free instant is X.

bot/telegram/flood_windows.py is pure (``now`` passed in), so these tests state
the instants outright, as py-fsrs's tests state intervals. The times are
binary fractions (0.25, 0.5...) so every expected instant is exact in floating
point and a boundary off by one place or one comparison shows.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from bot.telegram.flood_windows import (
    BROADCAST_BURST,
    JITTER_MARGIN,
    PRIVATE_PERIOD_SECONDS,
    PRUNE_EVERY_SECONDS,
    ChatWindows,
    SlidingWindow,
    Slot,
    TokenBucket,
    overall_window,
)
from bot.telegram.limits import (
    GROUP_MESSAGES_PER_MINUTE,
    MESSAGES_PER_SECOND,
    PRIVATE_BURST,
    PRIVATE_MESSAGES_PER_SECOND,
)


def sent(window: SlidingWindow, *responded_at: float) -> list[Slot]:
    """Sends whose responses came at these instants."""
    slots = []
    for at in responded_at:
        slot = window.take()
        slot.responded_at = at
        slots.append(slot)
    return slots


# -- SlidingWindow ---------------------------------------------------------------------------


def test_a_window_with_room_is_free_now() -> None:
    window = SlidingWindow(3, 2.0)
    assert window.free_at(0.0) == 0.0
    sent(window, 0.25, 0.5)
    assert window.free_at(0.75) == 0.75


def test_a_full_window_is_free_a_period_after_its_oldest_response() -> None:
    window = SlidingWindow(3, 2.0)
    sent(window, 0.25, 0.5, 0.75)
    assert window.free_at(1.0) == 2.25
    assert window.free_at(2.25) == 2.25
    assert window.free_at(3.0) == 3.0


def test_a_full_window_waits_while_its_oldest_send_is_in_flight() -> None:
    window = SlidingWindow(2, 2.0)
    first = window.take()
    sent(window, 0.5)
    assert window.free_at(1.0) == math.inf
    first.responded_at = 1.25
    assert window.free_at(1.5) == 3.25


def test_a_send_in_a_full_window_drops_the_oldest_and_the_next_oldest_decides() -> None:
    window = SlidingWindow(3, 2.0)
    sent(window, 0.25, 0.5, 0.75)
    sent(window, 2.5)  # at 2.25 the first aged out
    # Now 0.5, 0.75 and 2.5 hold the places: free a period after 0.5.
    assert window.free_at(1.0) == 2.5
    assert window.free_at(2.25) == 2.5
    assert window.free_at(2.75) == 2.75


def test_a_window_has_been_idle_exactly_a_period_after_its_last_response() -> None:
    window = SlidingWindow(3, 2.0)
    assert window.has_been_idle(0.0)
    sent(window, 0.25, 0.75)
    assert not window.has_been_idle(2.5)
    assert window.has_been_idle(2.75)


def test_a_window_with_a_send_in_flight_has_not_been_idle() -> None:
    window = SlidingWindow(3, 2.0)
    sent(window, 0.25)
    window.take()
    assert not window.has_been_idle(1000.0)


def test_the_overall_window_holds_a_seconds_worth_with_the_margin() -> None:
    window = overall_window(MESSAGES_PER_SECOND)
    assert window.limit == MESSAGES_PER_SECOND
    assert window.period == JITTER_MARGIN * MESSAGES_PER_SECOND / MESSAGES_PER_SECOND


def test_a_fractional_overall_rate_is_one_message_per_its_inverse() -> None:
    window = overall_window(0.5)
    assert window.limit == 1
    assert window.period == JITTER_MARGIN * 2.0
    sent(window, 0.25)
    assert window.free_at(0.5) == 0.25 + JITTER_MARGIN * 2.0


# -- TokenBucket -----------------------------------------------------------------------------


def test_a_bucket_lets_its_capacity_go_at_once_then_one_per_interval() -> None:
    bucket = TokenBucket(capacity=3, rate=4.0)
    for _ in range(3):
        assert bucket.ready_at(1.0) == 1.0
        bucket.take(1.0)
    assert bucket.ready_at(1.0) == 1.25
    assert bucket.ready_at(1.125) == 1.25
    bucket.take(1.25)
    assert bucket.ready_at(1.25) == 1.5


def test_a_bucket_refills_to_its_capacity_and_no_more() -> None:
    bucket = TokenBucket(capacity=3, rate=4.0)
    for _ in range(3):
        bucket.take(1.0)
    # Idle for 10 s: 40 tokens' worth, but only 3 fit.
    for _ in range(3):
        assert bucket.ready_at(11.0) == 11.0
        bucket.take(11.0)
    assert bucket.ready_at(11.0) == 11.25


def test_a_partly_refilled_bucket_is_ready_when_the_token_is_whole() -> None:
    bucket = TokenBucket(capacity=1, rate=2.0)
    bucket.take(0.0)
    assert bucket.ready_at(0.25) == 0.5
    assert bucket.ready_at(0.5) == 0.5


# -- ChatWindows -----------------------------------------------------------------------------


def test_a_chat_never_sent_to_is_free_now() -> None:
    chats = ChatWindows()
    assert chats.free_at(42, 3.0) == 3.0
    assert len(chats) == 0


def test_a_private_chat_gets_a_burst_then_waits_a_period_after_the_first() -> None:
    chats = ChatWindows(private_limit=3, private_period=4.0)
    for responded_at in (0.25, 0.5, 0.75):
        assert chats.free_at(42, 0.75) == 0.75
        chats.take(42).responded_at = responded_at
    assert chats.free_at(42, 1.0) == 4.25
    assert chats.free_at(43, 1.0) == 1.0


def test_negative_and_named_chats_are_groups() -> None:
    chats = ChatWindows(group_limit=2, group_period=60.0, private_limit=3, private_period=4.0)
    for chat in (-100123, "@channel"):
        chats.take(chat).responded_at = 0.5
        chats.take(chat).responded_at = 0.75
        assert chats.free_at(chat, 1.0) == 60.5


def test_the_default_chat_limits_are_telegrams_with_the_margin() -> None:
    chats = ChatWindows()
    for _ in range(GROUP_MESSAGES_PER_MINUTE):
        chats.take(-1).responded_at = 0.5
    assert chats.free_at(-1, 1.0) == 0.5 + 60.0 * JITTER_MARGIN
    for _ in range(PRIVATE_BURST):
        chats.take(1).responded_at = 0.5
    assert PRIVATE_PERIOD_SECONDS == PRIVATE_BURST / PRIVATE_MESSAGES_PER_SECOND
    assert chats.free_at(1, 1.0) == 0.5 + PRIVATE_PERIOD_SECONDS * JITTER_MARGIN


def test_prune_forgets_idle_chats_at_most_every_few_seconds() -> None:
    chats = ChatWindows(private_limit=3, private_period=4.0)
    chats.take(1).responded_at = 0.5  # idle from 4.5
    chats.take(2).responded_at = 2.0  # idle from 6.0
    chats.take(3)  # in flight
    chats.prune(4.75)  # too soon after the last prune (at 0)
    assert len(chats) == 3
    chats.prune(PRUNE_EVERY_SECONDS)
    assert len(chats) == 2
    assert chats.free_at(1, 5.0) == 5.0
    chats.prune(9.75)  # too soon after the prune at 5
    assert len(chats) == 2
    chats.prune(10.0)
    assert len(chats) == 1  # chat 3 is still in flight


def test_broadcast_pacing_lets_a_burst_go_then_one_per_thirtieth() -> None:
    bucket = TokenBucket(capacity=BROADCAST_BURST, rate=30.0)
    for _ in range(BROADCAST_BURST):
        assert bucket.ready_at(0.0) == 0.0
        bucket.take(0.0)
    assert bucket.ready_at(0.0) == 1 / 30


def test_a_bucket_is_ready_the_instant_the_token_becomes_whole() -> None:
    bucket = TokenBucket(capacity=2, rate=4.0)
    bucket.take(0.0)
    bucket.take(0.0)
    bucket.take(0.25)  # the token refilled at 0.25
    assert bucket.ready_at(0.375) == 0.5


def test_the_windows_and_the_queue_policy_import_no_event_loop_telegram_or_database() -> None:
    """Pure as bot/domain is: a fresh interpreter importing them loads none of these."""
    code = (
        "import json, sys, bot.telegram.flood_windows, bot.telegram.send_queue; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    )
    heavy = ("asyncio", "telegram", "sqlalchemy", "bot.storage", "bot.telegram.ratelimit")
    assert [m for m in loaded if m.startswith(heavy)] == []
