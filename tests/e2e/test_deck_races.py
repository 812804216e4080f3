"""Own decks' races end to end, through the real Application and the fake Bot API, on
both databases: one update's transaction is held at a chosen statement
(tests/support/statement_gate.py) while another chat's update runs into it. Two chats
are handled side by side (bot/telegram/updates.py), as two instances would handle them.
The transaction-level variants are in tests/study/test_deck_races.py."""

from __future__ import annotations

import asyncio

from bot.domain.content import Question
from bot.rendering import deck_sharing_texts as say
from bot.rendering.decks_texts import TOO_MANY_DECKS
from bot.storage import decks as deck_store
from bot.storage.models import AddedDeckRow, ChatRow
from bot.study.decks import MAX_DECKS
from tests.e2e.test_deck_sharing import link_code, open_link, share
from tests.e2e.test_group_decks import GROUP, join
from tests.e2e.test_own_decks import (
    ADA,
    BOB,
    CSV_V1,
    YAML_DECK,
    answered,
    command,
    count,
    press,
    start,
    stored_decks,
    upload,
)
from tests.support.bot_harness import RunningBot
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram
from tests.support.statement_gate import StatementGate, blocked_or_done


async def test_an_add_while_the_owner_deletes_the_deck_answers_deleted(
    tg: FakeTelegram, bot: RunningBot, database: TestDatabase
) -> None:
    """Bob presses Add while Ada's Delete is in flight (held before it deletes the deck's
    row, its transaction open): Bob's Add waits for it and answers that the owner deleted
    the deck, instead of failing on the foreign key ("something went wrong"); nothing
    of it is stored. Then the other order: the deck already gone, the link answers so."""
    await start(tg)
    await start(tg, BOB, "Bob")
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    [deck] = await stored_decks(bot.services.sessions)
    code = link_code(await share(tg, "mine"))
    card = await open_link(tg, BOB, code, "shared by Ada")
    listing = await command(tg, "/decks", "mine")
    await press(tg, listing, "Delete", "for good")
    prompt = next(m for m in reversed(tg.sent(ADA)) if "for good" in (m.plain_text or ""))
    yes = next(d for text, d in prompt.buttons if text.startswith("Yes, delete it"))
    add_data = next(d for text, d in card.buttons if text == "➕ Add")
    assert yes is not None
    assert add_data is not None

    with StatementGate(bot.services.engine, r"^DELETE FROM decks\b") as gate:
        ada_query = await tg.press(ADA, ADA, prompt.message_id, yes)
        await gate.wait_arrived()
        bob_query = await tg.press(BOB, BOB, card.message_id, add_data)
        bob_answer = asyncio.ensure_future(answered(tg, bob_query))
        await blocked_or_done(bob_answer, database, gate)
        gate.release()
        assert await answered(tg, ada_query) == "Deleted."
        assert await bob_answer == say.DECK_DELETED
    [alert] = [
        r.params
        for r in tg.calls("answerCallbackQuery")
        if r.params.get("callback_query_id") == bob_query
    ]
    assert alert.get("show_alert") is True
    await tg.wait_for(
        lambda: any(
            m.message_id == card.message_id and m.plain_text == say.DECK_DELETED
            for m in tg.sent(BOB)
        ),
        what="the card saying the deck was deleted",
    )
    assert await count(bot.services.sessions, AddedDeckRow) == 0
    async with bot.services.sessions() as session:
        bob_chat = await session.get(ChatRow, BOB)
    assert bob_chat is not None
    assert f"u{deck.id}" not in bob_chat.decks.split(",")


async def test_a_private_and_a_group_upload_at_once_stay_within_fifty_decks(
    tg: FakeTelegram, bot: RunningBot, database: TestDatabase
) -> None:
    """Ada has 49 decks and sends two files at once, one to the bot and one to her group
    (two chats: handled side by side, as two instances would). Both pass the check made
    before the download; the private one is held after its checks, before it stores its
    deck, while the group's is saved. Before, on PostgreSQL, both were stored: 51 decks.
    Now the group's waits for the person's row and is refused. (SQLite was already safe
    here: logging the upload, a write, came before the count.)"""
    await join(tg)
    await start(tg)
    question = Question(id="a", question="Q?", answer="A.")
    async with bot.services.sessions() as session, session.begin():
        for number in range(MAX_DECKS - 1):
            await deck_store.create_deck(
                ADA, f"D{number}", [question], session=session, now=bot.clock()
            )
    private_count, group_count = len(tg.sent(ADA)), len(tg.sent(GROUP))
    with StatementGate(bot.services.engine, r"^INSERT INTO decks\b") as gate:
        await tg.send_document(ADA, ADA, CSV_V1, "private.csv")
        await gate.wait_arrived()
        await tg.send_document(GROUP, ADA, YAML_DECK, "group.yaml", caption="/decks")
        group_answer = asyncio.ensure_future(
            tg.wait_for(lambda: len(tg.sent(GROUP)) > group_count, 20, what="the group's answer")
        )
        await blocked_or_done(group_answer, database, gate)
        gate.release()
        await group_answer
        await tg.wait_for(lambda: len(tg.sent(ADA)) > private_count, what="the private answer")
    [private] = tg.sent(ADA)[private_count:]
    [refused] = tg.sent(GROUP)[group_count:]
    assert (private.plain_text or "").startswith("Imported private")
    assert refused.plain_text == TOO_MANY_DECKS
    assert len(await stored_decks(bot.services.sessions)) == MAX_DECKS
