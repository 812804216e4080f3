"""Sending: transient errors are retried with backoff, permanent ones classified."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.sending import Blocked, Migrated, Rejected, Sent, Transient, deliver


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


async def test_network_errors_are_retried_with_backoff() -> None:
    call, calls = failing([NetworkError("502 Bad Gateway"), TimedOut()])
    assert await deliver(call, sleep=no_sleep) == Sent(42)
    assert len(calls) == 3
    assert slept == [0.5, 1.0]


async def test_retry_after_waits_as_told() -> None:
    call, _ = failing([RetryAfter(7)])
    assert await deliver(call, sleep=no_sleep) == Sent(42)
    assert slept == [7]


async def test_gives_up_after_the_backoff_schedule() -> None:
    call, calls = failing([NetworkError("x")] * 5)
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
