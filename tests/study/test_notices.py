"""The notices outbox and its sender against a real database (both backends), with a
bot that records each request instead of sending it: broadcast traffic, rows deleted
once sent, refusals dropped with one line, transient failures retried after the lease,
a sender that dies after its claim, stale notices dropped, and (PostgreSQL) two senders
and two claims racing, each notice sent once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram._utils.types import JSONDict
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import BaseRateLimiter, ExtBot

from bot.jobs import notices
from bot.rendering import deck_sharing_texts as say
from bot.service.context import Services
from bot.storage import notices as store
from bot.storage import people
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import NoticeRow
from bot.study import subscription
from bot.telegram.ratelimit import Traffic
from tests.support.bot_harness import FakeClock, small_bank, test_settings
from tests.support.databases import TestDatabase

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ADDERS = (11, 12, 13)
LEASE = timedelta(seconds=60)  # DELIVERY_LEASE_SECONDS' default


class _NoLimit(BaseRateLimiter[Traffic]):
    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Traffic | None,
    ) -> bool | JSONDict | list[JSONDict]:
        return await callback(*args, **kwargs)


class _Wire:
    """What a ``_RecordingBot`` saw (chat, traffic class, text) and how it answers:
    ``refuse`` by chat, or every request held while ``held`` is set."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, Traffic | None, str]] = []
        self.refuse: dict[int, Exception] = {}
        self.held: asyncio.Event | None = None
        self._arrived = asyncio.Condition()

    def hold(self) -> None:
        self.held = asyncio.Event()

    async def wait_held(self, count: int) -> None:
        """Until ``count`` requests are held in flight."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)

    async def request(self, params: dict[str, Any], traffic: Traffic | None) -> Any:
        self.requests.append((params["chat_id"], traffic, params["text"]))
        async with self._arrived:
            self._arrived.notify_all()
        if self.held is not None:
            await self.held.wait()
        error = self.refuse.get(params["chat_id"])
        if error is not None:
            raise error
        return {"message_id": len(self.requests), "text": params["text"]}

    def chats(self) -> list[int]:
        return [chat for chat, _, _ in self.requests]


class _RecordingBot(ExtBot[Traffic]):
    """Sends nothing: each request goes to its ``_Wire``."""

    def __init__(self, wire: _Wire) -> None:
        super().__init__("1:fake", rate_limiter=_NoLimit())
        self._wire = wire

    async def do_api_request(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        return await self._wire.request(kwargs["api_kwargs"], kwargs.get("rate_limit_args"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def _services(
    database: TestDatabase,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> Services:
    settings = test_settings("http://127.0.0.1:9", database.url)
    return Services(
        settings=settings, bank=small_bank(), engine=engine, sessions=sessions, clock=clock
    )


@pytest.fixture
def services(
    database: TestDatabase,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> Services:
    return _services(database, engine, sessions, clock)


async def _owe(
    services: Services,
    kind: str = store.OWNER_LEFT,
    titles: int = 1,
    extra: tuple[int, ...] = (),
) -> None:
    """Each adder (and ``extra``) is owed one notice about ``titles`` decks, created now."""
    now = services.clock()
    everyone = (*ADDERS, *extra)
    async with services.sessions() as session, session.begin():
        for person in everyone:
            await people.upsert_person(
                person, session=session, first_name="P", username=None, timezone="UTC", now=now
            )
        payload = {"titles": [f"deck {i}" for i in range(1, titles + 1)]}
        await store.add(kind, dict.fromkeys(everyone, payload), session=session, now=now)


async def _rows(services: Services) -> list[tuple[int, int]]:
    """(person, attempts) of every notice still owed."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(NoticeRow.person_id, NoticeRow.attempts).order_by(NoticeRow.id)
        )
        return [(person, attempts) for person, attempts in rows]


async def test_each_notice_goes_once_as_broadcast_and_its_row_is_deleted(
    services: Services,
    clock: FakeClock,
) -> None:
    await _owe(services, titles=2)
    wire = _Wire()
    bot = _RecordingBot(wire)
    report = await notices.send_notices(bot, services)
    assert (report.claimed, report.sent, report.dropped) == (3, 3, 0)
    text = say.owner_left_text(["deck 1", "deck 2"])
    assert wire.requests == [(chat, Traffic.BROADCAST, text) for chat in ADDERS]
    assert await _rows(services) == []
    clock.advance(LEASE * 2)
    assert (await notices.send_notices(bot, services)).claimed == 0
    assert len(wire.requests) == 3


async def test_a_deleted_deck_has_its_own_words(services: Services) -> None:
    await _owe(services, store.DECK_DELETED)
    wire = _Wire()
    bot = _RecordingBot(wire)
    await notices.send_notices(bot, services)
    assert wire.requests[0][2] == (
        "The owner of <b>deck 1</b> deleted it: it is no longer in your decks. "
        "Your history stays in /export."
    )


async def test_a_run_is_bounded_and_the_next_goes_on(services: Services) -> None:
    await _owe(services)
    wire = _Wire()
    bot = _RecordingBot(wire)
    assert (await notices.send_notices(bot, services, limit=2)).sent == 2
    assert await _rows(services) == [(13, 0)]
    assert (await notices.send_notices(bot, services, limit=2)).sent == 1
    assert sorted(wire.chats()) == list(ADDERS)


async def test_a_blocked_or_missing_chat_drops_its_notice_with_one_line(
    services: Services, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await _owe(services)
    wire = _Wire()
    bot = _RecordingBot(wire)
    wire.refuse[11] = Forbidden("Forbidden: bot was blocked by the user")
    wire.refuse[12] = BadRequest("Bad Request: chat not found")
    with caplog.at_level(logging.INFO, logger="bot.jobs.notices"):
        report = await notices.send_notices(bot, services)
    assert (report.sent, report.dropped, report.retried_later) == (1, 2, 0)
    assert await _rows(services) == []
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "notice 1 (owner_left) dropped: Telegram refused it for good "
        "(Forbidden: bot was blocked by the user)",
        "notice 2 (owner_left) dropped: Telegram refused it for good (Chat not found)",
    ]
    # Nothing is tried again, however long one waits.
    clock.advance(LEASE * 10)
    assert (await notices.send_notices(bot, services)).claimed == 0
    assert sorted(wire.chats()) == list(ADDERS)


async def test_a_transient_failure_is_sent_again_after_the_lease(
    services: Services, clock: FakeClock
) -> None:
    await _owe(services)
    wire = _Wire()
    bot = _RecordingBot(wire)
    wire.refuse[12] = NetworkError("Bad Gateway")
    report = await notices.send_notices(bot, services)
    # Retried once at once (it may have arrived), then left for after the lease.
    assert (report.sent, report.retried_later) == (2, 1)
    assert sorted(wire.chats()) == [11, 12, 12, 13]
    assert await _rows(services) == [(12, 1)]
    del wire.refuse[12]
    clock.advance(LEASE - timedelta(seconds=1))
    assert (await notices.send_notices(bot, services)).claimed == 0
    clock.advance(timedelta(seconds=1))
    assert (await notices.send_notices(bot, services)).sent == 1
    assert sorted(wire.chats()) == [11, 12, 12, 12, 13]
    assert await _rows(services) == []


async def test_notices_that_will_not_go_are_dropped_with_one_line(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    await _owe(services)
    async with services.sessions() as session, session.begin():
        await session.execute(
            update(NoticeRow).where(NoticeRow.person_id == 11).values(attempts=notices.MAX_ATTEMPTS)
        )
        await session.execute(
            update(NoticeRow)
            .where(NoticeRow.person_id == 12)
            .values(created_at=START - notices.MAX_AGE - timedelta(seconds=1))
        )
    wire = _Wire()
    bot = _RecordingBot(wire)
    with caplog.at_level(logging.WARNING, logger="bot.jobs.notices"):
        report = await notices.send_notices(bot, services)
    assert wire.chats() == [13]
    assert report.sent == 1
    assert await _rows(services) == []
    assert [r.getMessage() for r in caplog.records] == [
        f"notice 1 (owner_left) dropped unsent after {notices.MAX_ATTEMPTS} attempts, 0 days old",
        "notice 2 (owner_left) dropped unsent after 0 attempts, 7 days old",
    ]


async def test_a_sender_that_dies_after_its_claim_leaves_the_notices_to_the_next(
    database: TestDatabase, services: Services, clock: FakeClock
) -> None:
    await _owe(services)
    dying = _Wire()
    dying.hold()
    run = asyncio.create_task(notices.send_notices(_RecordingBot(dying), services))
    await dying.wait_held(3)  # every send in flight, none answered
    run.cancel()  # the process dies: no answer, no delete
    with pytest.raises(asyncio.CancelledError):
        await run
    assert await _rows(services) == [(11, 1), (12, 1), (13, 1)]

    # Another process on the same database: nothing while the dead claim's lease runs,
    # then each notice once.
    engine = create_engine(database.url)
    try:
        other = _services(database, engine, create_sessionmaker(engine), clock)
        wire = _Wire()
        bot = _RecordingBot(wire)
        assert (await notices.send_notices(bot, other)).claimed == 0
        clock.advance(LEASE)
        assert (await notices.send_notices(bot, other)).sent == 3
        assert sorted(wire.chats()) == list(ADDERS)
        assert await _rows(other) == []
    finally:
        await engine.dispose()


async def test_a_stopping_sender_hands_back_what_it_has_not_sent(
    services: Services, clock: FakeClock
) -> None:
    extra = tuple(range(14, 14 + notices.CONCURRENCY - 2))  # one more than sends at once
    await _owe(services, extra=extra)
    wire = _Wire()
    wire.hold()
    run = asyncio.create_task(notices.send_notices(_RecordingBot(wire), services))
    await wire.wait_held(notices.CONCURRENCY)  # the last one waits its turn
    services.stopping.set()  # SIGTERM while those sends are in flight
    assert wire.held is not None
    wire.held.set()
    report = await run
    everyone = [*ADDERS, *extra]
    assert (report.sent, report.released) == (notices.CONCURRENCY, 1)
    assert wire.chats() == everyone[:-1]
    # Released: claimable at once by the next process, the claim not counted.
    assert await _rows(services) == [(everyone[-1], 0)]
    services.stopping.clear()
    assert (await notices.send_notices(_RecordingBot(wire), services)).sent == 1


async def _second(database: TestDatabase, clock: FakeClock) -> tuple[Services, AsyncEngine]:
    engine = create_engine(database.url)
    return _services(database, engine, create_sessionmaker(engine), clock), engine


async def test_two_senders_on_postgresql_send_each_notice_once(
    database: TestDatabase, services: Services, clock: FakeClock
) -> None:
    if database.backend != "postgresql":
        pytest.skip("several senders at once need PostgreSQL (SQLite is for one process)")
    await _owe(services)
    first, second = _Wire(), _Wire()
    first.hold()
    other, engine = await _second(database, clock)
    try:
        run = asyncio.create_task(notices.send_notices(_RecordingBot(first), services))
        await first.wait_held(3)  # the first sender's requests are in flight
        report = await notices.send_notices(_RecordingBot(second), other)
        assert report.claimed == 0
        assert first.held is not None
        first.held.set()
        assert (await run).sent == 3
    finally:
        await engine.dispose()
    assert sorted(first.chats()) == list(ADDERS)
    assert second.requests == []
    assert await _rows(services) == []


async def test_concurrent_claims_on_postgresql_skip_each_others_rows(
    database: TestDatabase, services: Services, clock: FakeClock
) -> None:
    """The claim's row locks: a second claim while the first is not yet committed takes
    the other rows at once (SKIP LOCKED), never the same ones, and does not wait."""
    if database.backend != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    await _owe(services)
    other, engine = await _second(database, clock)
    until = START + LEASE
    try:
        async with services.sessions() as first, first.begin():
            taken = await store.claim(session=first, now=START, until=until, limit=2)
            async with other.sessions() as second, second.begin():
                rest = await asyncio.wait_for(
                    store.claim(session=second, now=START, until=until, limit=3), timeout=10
                )
        async with other.sessions() as third, third.begin():
            again = await store.claim(session=third, now=START, until=until, limit=3)
    finally:
        await engine.dispose()
    assert [n.person_id for n in taken] == [11, 12]
    assert [n.person_id for n in rest] == [13]
    assert again == []
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(NoticeRow)) == 3


async def test_a_person_who_forgets_is_owed_nothing_any_more(services: Services) -> None:
    await _owe(services)
    assert await subscription.forget(services, person_id=12) == 0  # owned no deck
    assert await _rows(services) == [(11, 0), (13, 0)]
