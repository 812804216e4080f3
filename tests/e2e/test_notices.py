"""The notices outbox end to end, through the real Application and the fake Bot API: the
people who added a deck are told once when it goes (its owner deletes it, or uses
/forget), also when the process stops between the commit and the send (a new process
sends it), when two instances race (PostgreSQL), and a blocked adder's notice is
dropped after one refusal."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.jobs import notices
from bot.service.context import Services
from bot.storage.models import NoticeRow
from tests.e2e.test_deck_sharing import CAROL, add, link_code, share
from tests.e2e.test_own_decks import ADA, BOB, CSV_V1, command, count, press, start, upload
from tests.support.bot_harness import FakeClock, RunningBot, running_bot, test_settings
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
