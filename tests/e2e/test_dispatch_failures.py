"""The dispatcher keeps going when recording an outcome fails (issue 14, part 3).

A failure that is not an outage used to end the outcome recorder's task: the
tick then waited forever for it, kept the dispatch lock, and the process sent no
daily question again until restarted. Here the failure is real, not patched in:
a database trigger refuses to mark one delivery as sent (both databases), and a
/forget deletes a delivery while its send is in flight (StaleDataError on
SQLite). A held send also shows the watchdog's line for a tick far past its
expected length.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import DeliveryRow
from tests.support.bot_harness import TOKEN, FakeClock, running_bot, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

ADA, BOB, CY = 1001, 1002, 1003
DAILY = "Question of the day"


class HoldingTelegram(FakeTelegram):
    """Holds the daily question to ``hold_chat`` unanswered until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.hold_chat: int | None = None
        self.held = 0
        self.release = asyncio.Event()

    async def _dispatch(
        self, token: str, method: str, raw: dict[str, Any]
    ) -> tuple[dict[str, Any], Any]:
        if (
            method == "sendMessage"
            and str(raw.get("chat_id")) == str(self.hold_chat)
            and DAILY in str(raw.get("text", ""))
        ):
            self.held += 1
            await self.release.wait()
        return await super()._dispatch(token, method, raw)


async def _start(tg: FakeTelegram, chat_id: int) -> None:
    tg.private_chat(chat_id, "P")
    await tg.send_text(chat_id, chat_id, "/start")
    await tg.wait_for_messages(chat_id, 1)


def _dailies(tg: FakeTelegram, chat_id: int) -> list[str]:
    return [m.plain_text or "" for m in tg.sent(chat_id) if (m.plain_text or "").startswith(DAILY)]


async def _statuses(url: str) -> dict[int, list[str]]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(DeliveryRow.chat_id, DeliveryRow.status).order_by(DeliveryRow.id)
            )
            found: dict[int, list[str]] = {}
            for chat_id, status in rows:
                found.setdefault(chat_id, []).append(status)
            return found
    finally:
        await engine.dispose()


@asynccontextmanager
async def _refuse_marking_sent(database: TestDatabase, chat_id: int) -> AsyncIterator[None]:
    """A trigger that fails any UPDATE marking ``chat_id``'s delivery as sent: a
    non-outage error in the recorder's commit, raised by the database itself."""
    if database.backend == "sqlite":
        create = [
            f"""CREATE TRIGGER inject_failure BEFORE UPDATE OF status ON deliveries
            WHEN NEW.status = 'sent' AND NEW.chat_id = {chat_id}
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END"""
        ]
        drop = ["DROP TRIGGER IF EXISTS inject_failure"]
    else:
        create = [
            f"""CREATE FUNCTION inject_failure() RETURNS trigger AS $$
            BEGIN
                IF NEW.status = 'sent' AND NEW.chat_id = {chat_id} THEN
                    RAISE EXCEPTION 'injected failure';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql""",
            """CREATE TRIGGER inject_failure BEFORE UPDATE ON deliveries
            FOR EACH ROW EXECUTE FUNCTION inject_failure()""",
        ]
        drop = [
            "DROP TRIGGER IF EXISTS inject_failure ON deliveries",
            "DROP FUNCTION IF EXISTS inject_failure()",
        ]
    engine = create_engine(database.url)
    try:
        async with engine.begin() as connection:
            for statement in create:
                await connection.execute(text(statement))
        try:
            yield
        finally:
            async with engine.begin() as connection:
                for statement in drop:
                    await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_a_failed_commit_is_recorded_one_by_one_and_the_next_tick_runs(
    database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    caplog.set_level(logging.INFO)
    async with (
        FakeTelegram(token=TOKEN) as tg,
        running_bot(test_settings(tg.api_root, database.url), clock),
    ):
        for chat_id in (ADA, BOB, CY):
            await _start(tg, chat_id)
        async with _refuse_marking_sent(database, BOB):
            clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
            await tg.wait_for(
                lambda: all(len(_dailies(tg, c)) == 1 for c in (ADA, BOB, CY)),
                what="the three daily questions",
            )

            def failure_logged() -> bool:
                return any("injected failure" in r.getMessage() for r in caplog.records)

            await tg.wait_for(failure_logged, what="the failed commit's log line")
            await asyncio.sleep(0.5)  # ten more ticks: the failure is not retried
        # The tick ended: the next day's tick runs and sends again.
        clock.set(datetime(2026, 3, 3, 9, 0, 5, tzinfo=UTC))
        await tg.wait_for(
            lambda: all(len(_dailies(tg, c)) == 2 for c in (ADA, BOB, CY)),
            what="the next day's questions",
        )

        async def all_recorded() -> bool:
            statuses = await _statuses(database.url)
            return statuses[BOB][0] == "expired" and all(s[-1] == "sent" for s in statuses.values())

        for _ in range(50):
            if await all_recorded():
                break
            await asyncio.sleep(0.1)
    statuses = await _statuses(database.url)
    assert statuses[ADA] == ["sent", "sent"]
    assert statuses[CY] == ["sent", "sent"]
    # Bob's first one could not be marked (the trigger) and was not sent again; its day
    # is over, so it expired.
    assert statuses[BOB] == ["expired", "sent"]
    assert len(_dailies(tg, BOB)) == 2
    lines = [r for r in caplog.records if "injected failure" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].name == "bot.jobs.send_outcomes"
    assert "recorded one by one" in lines[0].getMessage()
    assert "1 failed" in lines[0].getMessage()
    assert not any("database unreachable" in r.getMessage() for r in caplog.records)


async def test_forget_while_the_question_is_in_flight(
    database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    async with (
        HoldingTelegram() as tg,
        running_bot(test_settings(tg.api_root, database.url), clock),
    ):
        for chat_id in (ADA, BOB):
            await _start(tg, chat_id)
        tg.hold_chat = ADA
        clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
        await tg.wait_for(lambda: tg.held == 1, what="Ada's question in flight")
        # Ada forgets everything while her question is on its way.
        await tg.send_text(ADA, ADA, "/forget")
        confirm = await tg.wait_for_messages(ADA, 2)
        yes = next(data for label, data in confirm[-1].buttons if data and "Yes" in label)
        await tg.press(ADA, ADA, confirm[-1].message_id, yes)
        await tg.wait_for(
            lambda: any("Done" in (m.plain_text or "") for m in tg.sent(ADA)), what="forgotten"
        )
        assert ADA not in await _statuses(database.url)
        tg.release.set()
        await tg.wait_for(lambda: len(_dailies(tg, ADA)) == 1, what="the released question")
        # The outcome for the deleted row is skipped; the dispatcher carries on.
        clock.set(datetime(2026, 3, 3, 9, 0, 5, tzinfo=UTC))
        await tg.wait_for(lambda: len(_dailies(tg, BOB)) == 2, what="Bob's next question")
    statuses = await _statuses(database.url)
    assert ADA not in statuses
    assert statuses[BOB] == ["sent", "sent"]


async def test_the_watchdog_logs_a_tick_far_past_its_expected_length(
    database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    """A 1 s lease makes one send's expected tick 1 s (no rate limit): a send held
    longer than that is reported once, and the tick's end once more."""
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    caplog.set_level(logging.INFO)
    async with HoldingTelegram() as tg:
        settings = test_settings(tg.api_root, database.url, delivery_lease_seconds=1.0)
        async with running_bot(settings, clock):
            await _start(tg, ADA)
            tg.hold_chat = ADA
            clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
            await tg.wait_for(lambda: tg.held == 1, what="the question held")

            def stuck_line() -> bool:
                return any(
                    "far past" in r.getMessage() and "1 sends (0 sent" in r.getMessage()
                    for r in caplog.records
                )

            await tg.wait_for(stuck_line, what="the watchdog's line")
            tg.release.set()
            await tg.wait_for(
                lambda: any(
                    "overdue dispatcher tick ended" in r.getMessage() for r in caplog.records
                ),
                what="its end",
            )
    lines = [r for r in caplog.records if "far past" in r.getMessage()]
    assert all(r.levelno == logging.WARNING and r.name == "bot.jobs.dispatch" for r in lines)
