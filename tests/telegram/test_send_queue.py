"""The queue policy on its own: which waiter goes next, given when each one's limits free it.

bot/telegram/send_queue.py has no clock: ``next_to_go`` is handed ``free_at`` (here a
table, or "everyone is free") and answers the waiter to let go now, or the earliest
instant one can. The limiter's end-to-end order is tests/telegram/test_ratelimit.py.
"""

from __future__ import annotations

import math

from bot.telegram.send_queue import SendQueue, Traffic, Waiter

INTERACTIVE, BROADCAST = Traffic.INTERACTIVE, Traffic.BROADCAST


def free(waiter: Waiter, now: float) -> float:
    return now


def order(queue: SendQueue[Waiter]) -> list[Waiter]:
    """Let every waiter go, one by one, as next_to_go picks them."""
    went: list[Waiter] = []
    while True:
        chosen, earliest = queue.next_to_go(0.0, free)
        if chosen is None:
            assert earliest is None
            return went
        queue.remove(chosen)
        went.append(chosen)


def test_replies_go_before_broadcast_that_arrived_earlier() -> None:
    queue: SendQueue[Waiter] = SendQueue()
    b1 = queue.add(Waiter(BROADCAST, 1, paid=False))
    b2 = queue.add(Waiter(BROADCAST, 2, paid=False))
    r3 = queue.add(Waiter(INTERACTIVE, 3, paid=False))
    r4 = queue.add(Waiter(INTERACTIVE, 4, paid=False))
    assert order(queue) == [r3, r4, b1, b2]


def test_one_chats_requests_keep_their_order_whatever_their_class() -> None:
    queue: SendQueue[Waiter] = SendQueue()
    b1 = queue.add(Waiter(BROADCAST, 1, paid=False))
    r1 = queue.add(Waiter(INTERACTIVE, 1, paid=False))
    b1_again = queue.add(Waiter(BROADCAST, 1, paid=False))
    assert order(queue) == [b1, r1, b1_again]


def test_a_broadcast_send_ahead_of_its_chats_reply_is_lifted_before_other_broadcast() -> None:
    queue: SendQueue[Waiter] = SendQueue()
    b2 = queue.add(Waiter(BROADCAST, 2, paid=False))
    b1 = queue.add(Waiter(BROADCAST, 1, paid=False))
    r1 = queue.add(Waiter(INTERACTIVE, 1, paid=False))
    chosen, _ = queue.next_to_go(0.0, free)
    assert chosen is b1
    assert (b1.lifted, b1.counts_as_reply) == (True, True)
    assert (b2.lifted, b2.counts_as_reply) == (False, False)
    queue.remove(b1)
    assert order(queue) == [r1, b2]


def test_a_waiter_not_free_is_passed_over_and_the_earliest_instant_reported() -> None:
    queue: SendQueue[Waiter] = SendQueue()
    r1 = queue.add(Waiter(INTERACTIVE, 1, paid=False))
    b2 = queue.add(Waiter(BROADCAST, 2, paid=False))
    b3 = queue.add(Waiter(BROADCAST, 3, paid=False))
    at = {r1: 2.5, b2: 1.5, b3: 0.25}
    assert queue.next_to_go(0.25, lambda w, now: max(now, at[w])) == (b3, None)
    queue.remove(b3)
    assert queue.next_to_go(0.25, lambda w, now: max(now, at[w])) == (None, 1.5)
    assert queue.next_to_go(2.5, lambda w, now: max(now, at[w])) == (r1, None)


def test_nothing_free_while_sends_are_in_flight_reports_infinity() -> None:
    queue: SendQueue[Waiter] = SendQueue()
    queue.add(Waiter(BROADCAST, 1, paid=False))
    assert queue.next_to_go(0.0, lambda w, now: math.inf) == (None, math.inf)


def test_requests_without_a_chat_are_not_held_behind_a_chat() -> None:
    queue: SendQueue[Waiter] = SendQueue()
    b1 = queue.add(Waiter(BROADCAST, 1, paid=False))
    no_chat = queue.add(Waiter(INTERACTIVE, None, paid=False))
    assert order(queue) == [no_chat, b1]


def test_waiting_counts_by_class_and_by_budget() -> None:
    changes: list[tuple[Traffic, int]] = []
    queue: SendQueue[Waiter] = SendQueue(lambda traffic, n: changes.append((traffic, n)))
    queue.add(Waiter(BROADCAST, 1, paid=False))
    queue.add(Waiter(BROADCAST, 2, paid=True))
    reply = queue.add(Waiter(INTERACTIVE, 3, paid=False))
    queue.add(Waiter(INTERACTIVE, None, paid=False))
    assert (queue.waiting(), queue.waiting(INTERACTIVE), queue.waiting(BROADCAST)) == (4, 2, 2)
    assert queue.waiting_for(paid=False) == (2, 1)
    assert queue.waiting_for(paid=True) == (1, 0)
    queue.remove(reply)
    assert changes == [
        (BROADCAST, 1),
        (BROADCAST, 2),
        (INTERACTIVE, 1),
        (INTERACTIVE, 2),
        (INTERACTIVE, 1),
    ]
    assert [w.chat for w in queue.drain()] == [None, 1, 2]
    assert queue.waiting() == 0


def test_a_lifted_broadcast_send_takes_its_arrival_turn_among_the_replies() -> None:
    queue: SendQueue[Waiter] = SendQueue()
    b1 = queue.add(Waiter(BROADCAST, 1, paid=False))
    r2 = queue.add(Waiter(INTERACTIVE, 2, paid=False))
    r1 = queue.add(Waiter(INTERACTIVE, 1, paid=False))
    assert order(queue) == [b1, r2, r1]
