"""Sharing decks end to end, through the real Application and the fake Bot API: a link
shared, opened and added, revoked (the old link refused); a new version and a delete
seen by the person who added the deck; /forget telling the people who added one's decks,
once; forged and stale buttons answered."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.domain.content import Question
from bot.rendering import deck_sharing_texts as say
from bot.storage import decks as deck_store
from bot.storage.models import AddedDeckRow, ChatRow, DeckRow, ReviewRow
from bot.study import deck_sharing
from bot.telegram import callbacks as cb
from tests.e2e.test_own_decks import (
    ADA,
    BOB,
    CSV_V1,
    answered,
    command,
    count,
    only_own_decks,
    press,
    start,
    stored_decks,
    upload,
)
from tests.support.bot_harness import RunningBot
from tests.support.fake_telegram import FakeTelegram, SentMessage

CAROL = 1003
LINK = re.compile(r"https://t\.me/InterviewTestBot\?start=d-([A-Za-z0-9_-]+)")
CSV_V3 = (
    b"id,question,answer\n"
    b"a,What is overfitting?,A model that learned the noise <b>too</b>.\n"
    b"d,What is dropout?,Randomly zeroing activations while training.\n"
    b"e,What is a learning rate?,The size of a gradient step.\n"
    b"f,What is an epoch?,One pass over the training data.\n"
)


def link_code(message: SentMessage) -> str:
    match = LINK.search(message.plain_text or "")
    assert match is not None, message.plain_text
    return match.group(1)


async def share(tg: FakeTelegram, title: str) -> SentMessage:
    """Ada presses Share under ``title`` in /decks; the message with the link."""
    listing = await command(tg, "/decks", title)
    row = next(i for i, (text, _) in enumerate(listing.buttons) if text == f"Replace {title}")
    data = listing.buttons[row + 1][1]
    assert data is not None
    before = len(tg.sent(ADA))
    await tg.press(ADA, ADA, listing.message_id, data)
    await tg.wait_for(
        lambda: any(LINK.search(m.plain_text or "") for m in tg.sent(ADA)[before:]),
        what="the link",
    )
    return next(m for m in tg.sent(ADA)[before:] if LINK.search(m.plain_text or ""))


async def open_link(tg: FakeTelegram, user: int, code: str, expect: str) -> SentMessage:
    return await command(tg, f"/start d-{code}", expect, user)


async def add(tg: FakeTelegram, user: int, code: str) -> SentMessage:
    card = await open_link(tg, user, code, "shared by Ada")
    assert [text for text, _ in card.buttons] == ["➕ Add"]
    await press(tg, card, "➕ Add", "Added", user)
    return card


async def test_share_add_and_revoke(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    await start(tg, BOB, "Bob")
    tg.private_chat(CAROL, "Carol")
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    [deck] = await stored_decks(bot.services.sessions)

    shared = await share(tg, "mine")
    code = link_code(shared)
    assert len(code) >= 22, "at least 128 random bits"

    # Bob opens the link: title, size, owner; Add makes it his, switched on.
    card = await open_link(tg, BOB, code, "shared by Ada")
    assert "mine: 3 questions, shared by Ada." in (card.plain_text or "")
    await press(tg, card, "➕ Add", "Added", BOB)
    async with bot.services.sessions() as session:
        added = (await session.scalars(select(AddedDeckRow.person_id))).all()
        bob_chat = await session.get(ChatRow, BOB)
    assert list(added) == [BOB]
    assert bob_chat is not None
    assert bob_chat.decks.endswith(f"u{deck.id}")
    again = await open_link(tg, BOB, code, "added it already")
    assert again.buttons == []
    mine = await open_link(tg, ADA, code, "your own deck")
    assert mine.buttons == []

    # Studied like his own: with the built-in decks off, his question comes from it.
    await only_own_decks(tg, BOB)
    question = await command(tg, "/question", "Question of the day", BOB)
    assert "What is overfitting?" in (question.plain_text or "")

    # Revoke: a new code; the old link and its Add button refuse politely.
    await press(tg, shared, "Revoke link", "old link no longer works")
    new_code = link_code(next(m for m in tg.sent(ADA) if m.message_id == shared.message_id))
    assert new_code != code
    refused = await open_link(tg, CAROL, code, "no longer works")
    assert refused.buttons == []
    query = await tg.press(CAROL, CAROL, refused.message_id, cb.encode(cb.AddSharedDeck(code)))
    assert "no longer works" in await answered(tg, query)
    assert await count(bot.services.sessions, AddedDeckRow) == 1
    await add(tg, CAROL, new_code)
    assert await count(bot.services.sessions, AddedDeckRow) == 2

    # Carol's /decks lists it as shared with her; Remove takes it out of her decks only.
    listing = await command(tg, "/decks", "Shared with you", CAROL)
    assert "mine: 3 questions" in (listing.plain_text or "")
    await press(tg, listing, "Remove mine", "Removed", CAROL)
    async with bot.services.sessions() as session:
        carol_chat = await session.get(ChatRow, CAROL)
    assert carol_chat is not None
    assert f"u{deck.id}" not in carol_chat.decks.split(",")
    assert await count(bot.services.sessions, AddedDeckRow) == 1
    query = await tg.press(CAROL, CAROL, listing.message_id, cb.encode(cb.RemoveAddedDeck(deck.id)))
    assert "not one you added" in await answered(tg, query)

    # Unknown codes and malformed payloads: a friendly line each.
    await open_link(tg, CAROL, "A" * 24, "no longer works")
    await open_link(tg, CAROL, "<b>x</b>", "not one of mine")
    # Forged Share and Revoke by someone else: refused, the code unchanged.
    for revoke in (False, True):
        query = await tg.press(
            BOB, BOB, question.message_id, cb.encode(cb.ShareDeck(revoke, deck.id))
        )
        assert "not yours" in await answered(tg, query)
    [deck] = await stored_decks(bot.services.sessions)
    assert deck.share_code == new_code


async def test_a_new_version_and_a_delete_reach_who_added_it(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg)
    await start(tg, BOB, "Bob")
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    [deck] = await stored_decks(bot.services.sessions)
    await add(tg, BOB, link_code(await share(tg, "mine")))
    await only_own_decks(tg, BOB)
    card = await command(tg, "/question", "Question of the day", BOB)
    await press(tg, card, "Show answer", "Model answer", BOB)
    grades = next(
        m for m in reversed(tg.sent(BOB)) if any(t.startswith("Good") for t, _ in m.buttons)
    )
    data = next(d for t, d in grades.buttons if t.startswith("Good"))
    assert data is not None
    await answered(tg, await tg.press(BOB, BOB, grades.message_id, data))
    assert await count(bot.services.sessions, ReviewRow) == 1

    # Bob cannot replace or delete it.
    forged = await tg.press(
        BOB, BOB, card.message_id, cb.encode(cb.ManageDeck("delete-yes", deck.id))
    )
    assert "not yours" in await answered(tg, forged)

    # Ada uploads a new version: Bob's decks show it at once (4 questions now).
    listing = await command(tg, "/decks", "mine")
    await press(tg, listing, "Replace", "Send the new version")
    await upload(tg, CSV_V3, "v3.csv", "Replaced")
    topics = await command(tg, "/topics", "Topics", BOB)
    assert "mine (4)" in (topics.plain_text or "")
    nxt = await command(tg, "/next", "Extra question", BOB)
    assert any(
        text in (nxt.plain_text or "")
        for text in ("What is dropout?", "What is a learning rate?", "What is an epoch?")
    )

    # Ada deletes it: gone from Bob's decks, his history stays (/export).
    listing = await command(tg, "/decks", "mine")
    await press(tg, listing, "Delete", "for good")
    prompt = next(m for m in reversed(tg.sent(ADA)) if "for good" in (m.plain_text or ""))
    await press(tg, prompt, "Yes, delete it", "Deleted")
    topics = await command(tg, "/topics", "Topics", BOB)
    assert "mine" not in (topics.plain_text or "")
    assert await count(bot.services.sessions, AddedDeckRow) == 0
    assert await count(bot.services.sessions, ReviewRow) == 1
    question = await command(tg, "/next", "Extra question", BOB)
    assert f"u{deck.id}" not in (question.plain_text or "")
    before = len(tg.sent(BOB))
    await tg.send_text(BOB, BOB, "/export")
    await tg.wait_for(
        lambda: any(m.file and m.file.filename == "reviews.csv" for m in tg.sent(BOB)[before:]),
        what="Bob's export",
    )
    reviews = next(m for m in tg.sent(BOB)[before:] if m.file and m.file.filename == "reviews.csv")
    assert reviews.file is not None
    assert f"u{deck.id}-a" in reviews.file.data.decode()


async def test_forget_tells_each_adder_once(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    await start(tg, BOB, "Bob")
    await start(tg, CAROL, "Carol")
    await upload(tg, CSV_V1, "first.csv", "Imported")
    await upload(tg, CSV_V1, "second.csv", "Imported")
    first, second = link_code(await share(tg, "first")), link_code(await share(tg, "second"))
    await add(tg, BOB, first)
    await add(tg, BOB, second)
    await add(tg, CAROL, second)
    told = {BOB: len(tg.sent(BOB)), CAROL: len(tg.sent(CAROL))}

    forget = await command(tg, "/forget", "own decks")
    await press(tg, forget, "Yes, delete everything", "everything stored about you is deleted")

    def notices(user: int) -> list[SentMessage]:
        return [m for m in tg.sent(user)[told[user] :] if "deleted their data" in (m.text or "")]

    await tg.wait_for(lambda: bool(notices(BOB)) and bool(notices(CAROL)), what="the notices")
    [to_bob] = notices(BOB)
    [to_carol] = notices(CAROL)
    assert "first" in (to_bob.plain_text or "")
    assert "second" in (to_bob.plain_text or "")
    assert "first" not in (to_carol.plain_text or "")
    assert "/export" in (to_carol.plain_text or "")
    assert await stored_decks(bot.services.sessions) == []
    assert await count(bot.services.sessions, AddedDeckRow) == 0
    # Nothing more is sent later (a second /forget has no decks left to tell about).
    forget = await command(tg, "/forget", "own decks")
    await press(tg, forget, "Yes, delete everything", "everything stored about you is deleted")
    await command(tg, "/help", "", BOB)
    assert len(notices(BOB)) == 1
    assert len(notices(CAROL)) == 1
    # The adders' own data is untouched.
    async with bot.services.sessions() as session:
        assert await session.get(ChatRow, BOB) is not None
        assert (await session.scalars(select(DeckRow))).all() == []


async def test_a_hundred_added_decks_is_the_most(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    await start(tg, BOB, "Bob")
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    code = link_code(await share(tg, "mine"))
    question = Question(id="a", question="Q?", answer="A.")
    async with bot.services.sessions() as session, session.begin():
        for number in range(deck_sharing.MAX_ADDED):
            other = await deck_store.create_deck(
                ADA, f"D{number}", [question], session=session, now=bot.clock()
            )
            await deck_store.add_deck(BOB, other.id, session=session, now=bot.clock())
    card = await open_link(tg, BOB, code, "shared by Ada")
    add_data = next(d for text, d in card.buttons if text == "➕ Add")
    assert add_data is not None
    query = await tg.press(BOB, BOB, card.message_id, add_data)
    assert await answered(tg, query) == say.TOO_MANY_ADDED
    assert say.TOO_MANY_ADDED.startswith(f"You have added {deck_sharing.MAX_ADDED} decks")
    assert await count(bot.services.sessions, AddedDeckRow) == deck_sharing.MAX_ADDED
    # Removing one in /decks makes room.
    listing = await command(tg, "/decks", "Shared with you", BOB)
    await press(tg, listing, "Remove D0", "Removed", BOB)
    await add(tg, BOB, code)
    assert await count(bot.services.sessions, AddedDeckRow) == deck_sharing.MAX_ADDED
