"""The notices outbox end to end, through the real Application and the fake Bot API: the
people who added a deck are told once when it goes (its owner deletes it, or uses
/forget), also when the process stops between the commit and the send (a new process
sends it), when two instances race (PostgreSQL), and a blocked adder's notice is
dropped after one refusal."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from bot.jobs import notices
from bot.service.context import Services
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import NoticeRow
from tests.e2e.test_deck_sharing import CAROL, add, link_code, share
from tests.e2e.test_own_decks import ADA, BOB, CSV_V1, command, count, press, start, upload
from tests.support.bot_harness import (
    FakeClock,
    RunningBot,
    running_bot,
    small_bank,
    test_settings,
    write_bank,
)
from tests.support.bot_process import start_bot, wait_until
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram, SentMessage

LEASE = timedelta(seconds=60)  # DELIVERY_LEASE_SECONDS' default
OWNER_LEFT = "deleted their data"
DECK_DELETED = "deleted it: it is no longer in your decks"


async def _ada_shares_with(tg: FakeTelegram, *adders: int) -> None:
    """Ada uploads "mine" and shares it; each of ``adders`` starts the bot and adds it."""
    await start(tg)
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    code = link_code(await share(tg, "mine"))
    for adder in adders:
        await start(tg, adder, "Bob" if adder == BOB else "Carol")
        await add(tg, adder, code)


async def _forget(tg: FakeTelegram) -> None:
    forget = await command(tg, "/forget", "own decks")
    await press(tg, forget, "Yes, delete everything", "everything stored about you is deleted")


def _told(tg: FakeTelegram, user: int, words: str = OWNER_LEFT) -> list[SentMessage]:
    return [m for m in tg.sent(user) if words in (m.plain_text or "")]


async def _owed(services: Services) -> int:
    return await count(services.sessions, NoticeRow)


async def _until_none_owed(services: Services) -> None:
    """Wait until the outbox is empty (each notice sent, or dropped, and its row deleted)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while await _owed(services):
        assert loop.time() < deadline, "notices still owed after 5 s"
        await asyncio.sleep(0.01)


async def _nothing_more(running: RunningBot, clock: FakeClock) -> None:
    """Long after every lease ran out, a run finds nothing to send."""
    clock.advance(LEASE * 10)
    report = await notices.send_notices(running.application.bot, running.services)
    assert report.claimed == 0


async def test_a_deleted_deck_is_told_to_each_who_added_it_once(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await _ada_shares_with(tg, BOB, CAROL)
    listing = await command(tg, "/decks", "mine")
    await press(tg, listing, "Delete", "for good")
    prompt = next(m for m in reversed(tg.sent(ADA)) if "for good" in (m.plain_text or ""))
    await press(tg, prompt, "Yes, delete it", "Deleted")
    await tg.wait_for(
        lambda: bool(_told(tg, BOB, DECK_DELETED)) and bool(_told(tg, CAROL, DECK_DELETED)),
        what="the notices",
    )
    await _until_none_owed(bot.services)
    await _nothing_more(bot, clock)
    [to_bob] = _told(tg, BOB, DECK_DELETED)
    assert to_bob.plain_text == (
        "The owner of mine deleted it: it is no longer in your decks. "
        "Your history stays in /export."
    )
    assert len(_told(tg, CAROL, DECK_DELETED)) == 1


async def test_a_stop_between_the_forget_and_its_notice_leaves_it_to_the_next_process(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    settings = test_settings(tg.api_root, database.url)
    async with running_bot(settings, clock) as first:
        await _ada_shares_with(tg, BOB)
        # SIGTERM as Ada confirms: the update in flight is finished (her data deleted,
        # the notice owed in the same transaction), but this process sends nothing more.
        first.services.stopping.set()
        await _forget(tg)
        assert await _owed(first.services) == 1
    assert _told(tg, BOB) == []

    async with running_bot(settings, clock) as second:
        await tg.wait_for(lambda: bool(_told(tg, BOB)), what="the notice from the new process")
        await _until_none_owed(second.services)
        await _nothing_more(second, clock)
    [notice] = _told(tg, BOB)
    assert notice.plain_text == (
        "The owner of mine deleted their data, and with it the deck: it is no longer in "
        "your decks. Your history stays in /export."
    )


async def _owed_at(url: str) -> int:
    engine = create_engine(url)
    try:
        return await count(create_sessionmaker(engine), NoticeRow)
    finally:
        await engine.dispose()


async def test_a_process_killed_while_sending_the_notice_leaves_it_to_the_next(
    tg: FakeTelegram, database: TestDatabase, tmp_path: Path
) -> None:
    """The real bot (``python -m bot run``) commits the forget, claims the notice and
    sends it; the fake holds that request and the process is SIGKILLed (the request
    never reaches Telegram). A new process sends the notice once its lease (1 s) is over."""
    content = write_bank(small_bank(), tmp_path / "content")
    log_path = tmp_path / "bot.log"
    with log_path.open("ab") as log:
        first = await start_bot(tg, database.url, content, log, DELIVERY_LEASE_SECONDS="1")
        held = None
        try:
            await tg.wait_for(lambda: bool(tg.calls("getUpdates")), 60, what="the bot polling")
            await _ada_shares_with(tg, BOB)
            held = tg.hold_call("sendMessage", chat_id=BOB)
            await _forget(tg)
            await asyncio.wait_for(held.arrived.wait(), 30)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        try:
            assert _told(tg, BOB) == []
            assert await _owed_at(database.url) == 1
            second = await start_bot(tg, database.url, content, log, DELIVERY_LEASE_SECONDS="1")
            try:
                await tg.wait_for(lambda: bool(_told(tg, BOB)), 60, what="the notice, resent")

                async def none_owed() -> bool:
                    return await _owed_at(database.url) == 0

                await wait_until(none_owed, 30, "the notice's row deleted")
            finally:
                second.send_signal(signal.SIGTERM)
                await second.wait()
            assert len(_told(tg, BOB)) == 1
        finally:
            if held is not None:
                held.release()  # the dead process's request: answered to nobody
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in output, output[output.find("Traceback") - 500 :][:4000]


async def test_a_claimed_notice_whose_send_failed_goes_after_a_restart(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    """The first process claims the notice and its send fails without an answer (a
    timeout, twice: retried once, it may have arrived); it stops. The next process sends
    it once its lease has run out, not before."""
    settings = test_settings(tg.api_root, database.url)
    async with running_bot(settings, clock):
        await _ada_shares_with(tg, BOB)
        tg.fail_next("sendMessage", status=502, times=2, chat_id=BOB)
        await _forget(tg)
        await tg.wait_for(
            lambda: len([c for c in tg.calls("sendMessage") if c.status == 502]) == 2,
            what="both tries of the notice failing",
        )
    assert _told(tg, BOB) == []

    async with running_bot(settings, clock) as second:
        report = await notices.send_notices(second.application.bot, second.services)
        assert report.claimed == 0  # still leased to the first process
        clock.advance(LEASE)
        await tg.wait_for(lambda: bool(_told(tg, BOB)), what="the notice after its lease")
        await _until_none_owed(second.services)
        await _nothing_more(second, clock)
    assert len(_told(tg, BOB)) == 1


async def test_two_instances_send_a_notice_once(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    if database.backend != "postgresql":
        pytest.skip("several instances need PostgreSQL (SQLite is for one process)")
    settings = test_settings(tg.api_root, database.url)
    async with running_bot(settings, clock):
        await _ada_shares_with(tg, BOB)
        held = tg.hold_call("sendMessage", chat_id=BOB)
        await _forget(tg)
        await asyncio.wait_for(held.arrived.wait(), 5)  # the first instance is sending it
        async with running_bot(settings, clock) as second:
            # The second instance's sender (its job runs too): the notice is taken.
            report = await notices.send_notices(second.application.bot, second.services)
            assert report.claimed == 0
            held.release()
            await tg.wait_for(lambda: bool(_told(tg, BOB)), what="the held notice answered")
            await _until_none_owed(second.services)
            await _nothing_more(second, clock)
    assert len(_told(tg, BOB)) == 1


async def test_a_blocked_adder_drops_the_notice_after_one_refusal(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await _ada_shares_with(tg, BOB, CAROL)
    tg.block(BOB)
    with caplog.at_level(logging.WARNING, logger="bot.jobs.notices"):
        await _forget(tg)
        await tg.wait_for(lambda: bool(_told(tg, CAROL)), what="Carol's notice")
        await _until_none_owed(bot.services)
        await _nothing_more(bot, clock)
    refused = [
        c
        for c in tg.calls("sendMessage")
        if str(c.params.get("chat_id")) == str(BOB) and c.status == 403
    ]
    assert len(refused) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "notice 1 (owner_left) dropped: Telegram refused it for good "
        "(Forbidden: bot was blocked by the user)"
    ]
    assert _told(tg, BOB) == []
    assert len(_told(tg, CAROL)) == 1
