"""Sending: transient errors are retried with backoff, permanent ones classified.

A send that may have arrived (timeout, dropped connection, 5xx) is retried once and
counted; one that never left is retried with the whole backoff; ``RetryAfter`` is the
rate limiter's (tests/telegram/test_ratelimit.py) and not retried again here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.service.metrics import AMBIGUOUS_SENDS
from bot.telegram.sending import Blocked, Migrated, NotSentError, Rejected, Sent, Transient, deliver


def failing(
    errors: list[Exception], result: int = 42
) -> tuple[Callable[[], Awaitable[int]], list[int]]:
    calls: list[int] = []

    async def call() -> int:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return call, calls


async def no_sleep(seconds: float) -> None:
    slept.append(seconds)


slept: list[float] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    slept.clear()


def ambiguous_count() -> float:
    return float(AMBIGUOUS_SENDS._value.get())


async def test_a_send_that_never_left_is_retried_with_backoff() -> None:
    call, calls = failing([NotSentError("refused"), NotSentError("refused")])
    before = ambiguous_count()
    assert await deliver(call, sleep=no_sleep) == Sent(42)
    assert len(calls) == 3
    assert slept == [0.5, 1.0]
    assert ambiguous_count() == before


async def test_a_send_that_may_have_arrived_is_retried_once_and_counted() -> None:
    call, calls = failing([TimedOut()])
    before = ambiguous_count()
    assert await deliver(call, sleep=no_sleep) == Sent(42)
    assert len(calls) == 2
    assert slept == [0.5]
    assert ambiguous_count() == before + 1


@pytest.mark.parametrize("error", [TimedOut(), NetworkError("502 Bad Gateway")])
async def test_a_second_ambiguous_failure_is_not_retried(error: Exception) -> None:
    call, calls = failing([NotSentError("refused"), TimedOut(), error])
    before = ambiguous_count()
    assert isinstance(await deliver(call, sleep=no_sleep), Transient)
    assert len(calls) == 3
    assert ambiguous_count() == before + 2


async def test_retry_after_is_left_to_the_rate_limiter() -> None:
    call, calls = failing([RetryAfter(7)])
    assert isinstance(await deliver(call, sleep=no_sleep), Transient)
    assert len(calls) == 1
    assert slept == []


async def test_gives_up_after_the_backoff_schedule() -> None:
    call, calls = failing([NotSentError("x")] * 5)
    assert isinstance(await deliver(call, sleep=no_sleep), Transient)
    assert len(calls) == 4


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            Forbidden("Forbidden: bot was blocked by the user"),
            Blocked("Forbidden: bot was blocked by the user"),
        ),
        (ChatMigrated(-100123), Migrated(-100123)),
        (BadRequest("Bad Request: chat not found"), Rejected("Chat not found")),
    ],
)
async def test_permanent_errors_are_not_retried(error: Exception, expected: object) -> None:
    call, calls = failing([error])
    outcome = await deliver(call, sleep=no_sleep)
    assert len(calls) == 1
    assert type(outcome) is type(expected)
