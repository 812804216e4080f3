"""A process killed between marking a reveal and posting the answer: the question must
not stay "revealed" without an answer. The real bot (``python -m bot run``) marks the
reveal; the fake Bot API holds the answer's send; the process is SIGKILLed. A
fresh Application on the same database then says the answer is on its way while the
mark is young, and posts it once the mark is stale (REVEAL_LEASE); it can be graded."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.handlers.study import ON_ITS_WAY
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.deliveries import REVEAL_LEASE
from bot.storage.models import DeliveryRow
from tests.support.bot_harness import (
    TOKEN,
    FakeClock,
    running_bot,
    small_bank,
    test_settings,
    write_bank,
)
from tests.support.bot_process import start_bot, wait_until
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram, SentMessage
from tests.support.fake_telegram_spec import ApiError

ADA = 1001


class HoldingAnswers(FakeTelegram):
    """Holds every send (sendMessage, or sendRichMessage: the rich answer) that posts a model
    answer until released, then drops it: the process that sent it died before Telegram
    processed it."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.holding = True
        self.held = 0
        self.release = asyncio.Event()

    async def _dispatch(
        self, token: str, method: str, raw: dict[str, Any]
    ) -> tuple[dict[str, Any], Any]:
        sends = ("sendMessage", "sendRichMessage")
        content = str(raw.get("text")) + str(raw.get("rich_message"))
        if method in sends and self.holding and "Model answer" in content:
            self.held += 1
            await self.release.wait()
            raise ApiError(502, "Bad Gateway: the sender is gone")
        return await super()._dispatch(token, method, raw)


async def _revealed_at(url: str) -> datetime | None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await session.scalar(select(DeliveryRow.revealed_at))
    finally:
        await engine.dispose()


async def _said(tg: FakeTelegram, text: str, expect: str, timeout: float = 5) -> SentMessage:  # noqa: ASYNC109
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, text)
    await tg.wait_for(
        lambda: any(expect in (m.plain_text or "") for m in tg.sent(ADA)[count:]),
        timeout,
        what=f"a reply with {expect!r} to {text!r}",
    )
    return next(m for m in tg.sent(ADA)[count:] if expect in (m.plain_text or ""))


def _answers(tg: FakeTelegram) -> list[SentMessage]:
    return [m for m in tg.sent(ADA) if "Model answer" in (m.plain_text or "")]


async def _toast(tg: FakeTelegram, message: SentMessage, data: str) -> str:
    query = await tg.press(ADA, ADA, message.message_id, data)
    await tg.wait_for(
        lambda: any(a.query_id == query for a in tg.callback_answers), what="the press answered"
    )
    return next(a.text or "" for a in tg.callback_answers if a.query_id == query)


async def test_a_reveal_cut_short_by_a_crash_is_repaired(
    database: TestDatabase, tmp_path: Path
) -> None:
    content = write_bank(small_bank(), tmp_path / "content")
    async with HoldingAnswers() as tg:
        tg.private_chat(ADA, "Ada")
        with (tmp_path / "bot.log").open("ab") as log:
            process = await start_bot(tg, database.url, content, log)
            try:
                await _said(tg, "/start", "Hi Ada", timeout=60)
                question = await _said(tg, "/question", "Question of the day")
                reveal = next(d for t, d in question.buttons if t == "Show answer")
                assert reveal is not None
                await tg.press(ADA, ADA, question.message_id, reveal)
                await tg.wait_for(lambda: tg.held == 1, what="the answer's send held")
                await tg.wait_until_consumed()

                async def marked() -> bool:
                    return await _revealed_at(database.url) is not None

                await wait_until(marked, 10, "the reveal marked")
            finally:
                process.send_signal(signal.SIGKILL)
                await process.wait()
        tg.holding = False
        tg.release.set()
        mark = await _revealed_at(database.url)
        assert mark is not None
        assert _answers(tg) == []

        # A fresh process, a few seconds later: the answer may still be on its way.
        clock = FakeClock(mark + timedelta(seconds=5))
        async with running_bot(test_settings(tg.api_root, database.url), clock):
            assert await _toast(tg, question, reveal) == ON_ITS_WAY
            await _said(tg, "/answer", ON_ITS_WAY)
            assert _answers(tg) == []

            # The mark is stale: the button sends the answer, once.
            clock.set(mark + REVEAL_LEASE + timedelta(seconds=1))
            assert "Answer below" in await _toast(tg, question, reveal)
            (answer,) = _answers(tg)
            assert [t.split(" ")[0] for t, _ in answer.buttons] == ["Again", "Hard", "Good", "Easy"]
            assert "already above" in await _toast(tg, question, reveal)
            await _said(tg, "/answer", "right here")
            good = next(d for t, d in answer.buttons if t.startswith("Good"))
            assert good is not None
            assert "Saved: Good" in await _toast(tg, answer, good)
            assert len(_answers(tg)) == 1


async def test_answer_command_takes_a_stale_reveal_over(
    tg: FakeTelegram, database: TestDatabase
) -> None:
    """The same repair through /answer (a mark left without an answer, in-process)."""
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    async with running_bot(test_settings(tg.api_root, database.url), clock) as bot:
        tg.private_chat(ADA, "Ada")
        await _said(tg, "/start", "Hi Ada")
        await _said(tg, "/question", "Question of the day")
        async with bot.services.sessions() as session, session.begin():
            row = await session.scalar(select(DeliveryRow))
            assert row is not None
            row.revealed_at = clock.now  # marked, then the process died
        await _said(tg, "/answer", ON_ITS_WAY)
        clock.advance(REVEAL_LEASE)
        await _said(tg, "/answer", "Model answer")
        await _said(tg, "/answer", "right here")
        assert len(_answers(tg)) == 1
