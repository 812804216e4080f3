"""Decks of one's own end to end: uploads in each format through the real Application
and the fake Bot API (getFile, the download endpoint), studied like the built-in decks,
a new version keeping progress, the limits and broken files storing nothing, Delete with
its confirmation, and /forget."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.content import Question
from bot.storage import decks as deck_store
from bot.storage.models import CardRow, ChatRow, DeckRow, DeckUploadRow, ReviewRow
from bot.telegram import callbacks as cb
from tests.content.imports.anki_packages import current_package, old_package
from tests.support.bot_harness import FakeClock, RunningBot
from tests.support.fake_telegram import DOWNLOAD, FakeTelegram, SentMessage

ADA, BOB = 1001, 1002

CSV_V1 = (
    "\ufeffid,question,answer,tags\r\n"
    "a,What is overfitting?,A model that learned the noise <b>too</b>.,ml\r\n"
    "b,What does ReLU compute?,max(0; x),deep-learning\r\n"
    "c,What is a tensor?,An n-dimensional array.,\r\n"
).encode()
CSV_V2 = (
    b"id,question,answer,tags\n"
    b"a,What is overfitting?,A model that learned the noise <b>too</b>.,ml\n"
    b"b,What does ReLU compute?,The positive part of x.,\n"
    b"d,What is dropout?,Randomly zeroing activations while training.,\n"
)
YAML_DECK = b"""\
deck:
  title: Statistics basics
questions:
  - id: p-value
    question: What is a p-value?
    answer: The probability of data at least this extreme if the null hypothesis holds.
  - id: power
    question: What is statistical power?
    answer: The probability of rejecting a false null hypothesis.
"""


async def said(
    tg: FakeTelegram,
    count: int,
    expect: str,
    chat: int = ADA,
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 - a deadline on a condition, as in wait_for
) -> SentMessage:
    await tg.wait_for(
        lambda: any(expect in (m.plain_text or "") for m in tg.sent(chat)[count:]),
        timeout,
        what=f"a message with {expect!r}",
    )
    return next(m for m in tg.sent(chat)[count:] if expect in (m.plain_text or ""))


async def command(tg: FakeTelegram, text: str, expect: str, user: int = ADA) -> SentMessage:
    count = len(tg.sent(user))
    await tg.send_text(user, user, text)
    return await said(tg, count, expect, user)


async def upload(
    tg: FakeTelegram,
    data: bytes,
    name: str,
    expect: str,
    *,
    caption: str | None = None,
    user: int = ADA,
) -> SentMessage:
    count = len(tg.sent(user))
    await tg.send_document(user, user, data, name, caption=caption)
    return await said(tg, count, expect, user)


async def press(
    tg: FakeTelegram, message: SentMessage, label: str, expect: str, user: int = ADA
) -> SentMessage:
    data = next(d for text, d in message.buttons if text.startswith(label))
    assert data is not None
    count = len(tg.sent(user))
    before = message.plain_text
    await tg.press(user, user, message.message_id, data)

    def shown() -> bool:
        edited = next(m for m in tg.sent(user) if m.message_id == message.message_id)
        return any(expect in (m.plain_text or "") for m in tg.sent(user)[count:]) or (
            edited.plain_text != before and expect in (edited.plain_text or "")
        )

    await tg.wait_for(shown, what=f"{expect!r} after pressing {label!r}")
    return message


async def answered(tg: FakeTelegram, query_id: str) -> str:
    """Wait until the bot answered a button press; the toast's text."""

    def answers() -> list[str]:
        return [
            str(r.params.get("text") or "")
            for r in tg.calls("answerCallbackQuery")
            if r.params.get("callback_query_id") == query_id
        ]

    await tg.wait_for(lambda: bool(answers()), what="the press answered")
    return answers()[0]


async def grade_good(tg: FakeTelegram) -> None:
    grades = next(
        m for m in reversed(tg.sent(ADA)) if any(t.startswith("Good") for t, _ in m.buttons)
    )
    data = next(d for t, d in grades.buttons if t.startswith("Good"))
    assert data is not None
    await answered(tg, await tg.press(ADA, ADA, grades.message_id, data))


async def start(tg: FakeTelegram, user: int = ADA, name: str = "Ada") -> None:
    tg.private_chat(user, name)
    await command(tg, "/start", "", user)
    await tg.wait_for_messages(user, 1)


async def stored_decks(sessions: async_sessionmaker[AsyncSession]) -> list[DeckRow]:
    async with sessions() as session:
        return list((await session.scalars(select(DeckRow).order_by(DeckRow.id))).all())


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def only_own_decks(tg: FakeTelegram, user: int = ADA) -> None:
    """Switch the built-in decks off in /topics, leaving the person's own on."""
    topics = await command(tg, "/topics", "Topics", user)
    for title in ("Machine Learning", "NLP"):
        data = next(d for text, d in topics.buttons if text == f"✅ {title}")
        assert data is not None
        await answered(tg, await tg.press(user, user, topics.message_id, data))


async def test_a_csv_deck_is_studied_and_a_new_version_keeps_progress(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg)
    how = await command(tg, "/decks", "Your own decks")
    assert "question,answer,tags" in (how.plain_text or "")
    assert "no deck of your own" in (how.plain_text or "")

    reply = await upload(tg, CSV_V1, "ml basics.csv", "Imported")
    assert "3 questions" in (reply.plain_text or "")
    assert tg.calls(DOWNLOAD), "the file came from the fake's download endpoint"
    [deck] = await stored_decks(bot.services.sessions)
    assert (deck.owner_id, deck.title, deck.version, deck.question_count) == (
        ADA,
        "ml basics",
        1,
        3,
    )
    async with bot.services.sessions() as session:
        chat = await session.get(ChatRow, ADA)
    assert chat is not None
    assert chat.decks.endswith(f"u{deck.id}")  # on for daily study

    # /topics lists it with its count; with the built-in decks off, it is what comes.
    topics = await command(tg, "/topics", "ml basics")
    assert "ml basics</b> (3)" in (topics.text or "") or "ml basics (3)" in (
        topics.plain_text or ""
    )
    await only_own_decks(tg)
    card = await command(tg, "/question", "Question of the day")
    assert "ml basics" in (card.plain_text or "")
    assert "What is overfitting?" in (card.plain_text or "")
    await press(tg, card, "Show answer", "Model answer")
    answer = next(m for m in tg.sent(ADA) if "Model answer" in (m.plain_text or ""))
    # The uploaded text is content, not markup: its "<b>" is shown as typed.
    assert "<b>too</b>" in (answer.plain_text or "")
    await grade_good(tg)
    async with bot.services.sessions() as session:
        cards = set((await session.scalars(select(CardRow.question_id))).all())
    assert cards == {f"u{deck.id}-a"}

    # Replace: the next file is the deck's new version; "a" is unchanged, so is its card.
    decks_message = await command(tg, "/decks", "ml basics")
    await press(tg, decks_message, "Replace", "Send the new version")
    reply = await upload(tg, CSV_V2, "whatever.csv", "Replaced")
    assert "1 new, 1 changed, 1 removed" in (reply.plain_text or "")
    [deck] = await stored_decks(bot.services.sessions)
    assert (deck.title, deck.version, deck.question_count) == ("ml basics", 2, 3)
    async with bot.services.sessions() as session:
        cards = set((await session.scalars(select(CardRow.question_id))).all())
        loaded = await deck_store.load_decks([deck.id], with_questions=[deck.id], session=session)
    assert cards == {f"u{deck.id}-a"}
    assert [q.id for q in loaded[deck.id].questions] == ["a", "b", "d"]
    # The next question comes from the new version (the cache holds version 2).
    nxt = await command(tg, "/next", "Extra question")
    assert any(
        text in (nxt.plain_text or "")
        for text in ("What does ReLU compute?", "What is dropout?", "What is overfitting?")
    )
    stats = await command(tg, "/weak", "")
    assert stats is not None


async def test_yaml_and_anki_uploads(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    reply = await upload(tg, YAML_DECK, "stats.yaml", "Imported")
    assert "Statistics basics: 2 questions" in (reply.plain_text or "")
    reply = await upload(tg, current_package(), "geo.apkg", "Imported")
    assert "3 questions" in (reply.plain_text or "")
    assert "2 media files were dropped" in (reply.plain_text or "")
    reply = await upload(tg, old_package(), "geo-old.apkg", "Imported")
    assert "2 media files were dropped" in (reply.plain_text or "")
    reply = await upload(tg, CSV_V1, "named.csv", "Imported", caption="Interview prep")
    assert "Interview prep" in (reply.plain_text or "")
    decks = await stored_decks(bot.services.sessions)
    titles = [d.title for d in decks]
    assert (titles[0], len(titles), titles[-1]) == ("Statistics basics", 4, "Interview prep")
    listing = await command(tg, "/decks", "Statistics basics")
    assert "Interview prep: 3 questions" in (listing.plain_text or "")
    # The quiz picker offers them; a quiz on one asks its questions.
    picker = await command(tg, "/quiz", "pick a topic")
    await press(tg, picker, "Statistics basics", "Quiz · Statistics basics · 1/2")
    first = next(m for m in tg.sent(ADA) if "Quiz · " in (m.plain_text or ""))
    assert "What is a p-value?" in (first.plain_text or "")
    await press(tg, first, "Show answer", "null hypothesis")


async def test_broken_files_and_the_limits_store_nothing(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    reply = await upload(tg, b"question,reply\nWhat?,That.\n", "bad.csv", "not imported")
    assert "answer" in (reply.plain_text or "")
    reply = await upload(tg, b"hello", "notes.txt", "can't read")
    assert ".apkg" in (reply.plain_text or "")
    reply = await upload(tg, b"deck: [unclosed\n", "broken.yaml", "not imported")
    assert "line" in (reply.plain_text or "")
    assert await stored_decks(bot.services.sessions) == []
    downloads = len(tg.calls(DOWNLOAD))
    reply = await upload(tg, b"x" * (10 * 2**20 + 1), "huge.csv", "at most 10 MB")
    assert len(tg.calls(DOWNLOAD)) == downloads, "a file over the limit is not downloaded"
    assert await stored_decks(bot.services.sessions) == []

    # 20 uploads in the hour (the four above count too): the next is refused at once.
    async with bot.services.sessions() as session, session.begin():
        for _ in range(16):
            await deck_store.record_upload(ADA, session=session, now=bot.clock())
    reply = await upload(tg, CSV_V1, "one more.csv", "20 uploads")
    assert await stored_decks(bot.services.sessions) == []
    assert await count(bot.services.sessions, DeckUploadRow) == 20


async def test_fifty_decks_is_the_most(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    question = Question(id="a", question="Q?", answer="A.")
    async with bot.services.sessions() as session, session.begin():
        for number in range(50):
            await deck_store.create_deck(
                ADA, f"D{number}", [question], session=session, now=bot.clock()
            )
    await upload(tg, CSV_V1, "one more.csv", "50 decks")
    assert len(await stored_decks(bot.services.sessions)) == 50


async def test_delete_asks_first_and_only_the_owner_can(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    await start(tg, BOB, "Bob")
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    [deck] = await stored_decks(bot.services.sessions)
    # Bob forges Ada's delete: refused, nothing happens.
    forged = await command(tg, "/decks", "Your own decks", BOB)
    count_before = len(tg.sent(BOB))
    query = await tg.press(
        BOB, BOB, forged.message_id, cb.encode(cb.ManageDeck("delete-yes", deck.id))
    )
    assert "not yours" in await answered(tg, query)
    assert len(await stored_decks(bot.services.sessions)) == 1
    assert len(tg.sent(BOB)) == count_before

    listing = await command(tg, "/decks", "mine")
    await press(tg, listing, "Delete", "for good")
    prompt = next(m for m in reversed(tg.sent(ADA)) if "for good" in (m.plain_text or ""))
    await press(tg, prompt, "Cancel", "Nothing was deleted")
    assert len(await stored_decks(bot.services.sessions)) == 1
    await press(tg, listing, "Delete", "for good")
    prompt = next(m for m in reversed(tg.sent(ADA)) if "for good" in (m.plain_text or ""))
    await press(tg, prompt, "Yes, delete it", "Deleted")
    assert await stored_decks(bot.services.sessions) == []
    # A stale Delete button afterwards: a clear answer, nothing else.
    query = await tg.press(
        ADA, ADA, prompt.message_id, cb.encode(cb.ManageDeck("delete-yes", deck.id))
    )
    assert "not yours" in await answered(tg, query)
    # Without the deck, the daily question comes from the built-in decks again.
    card = await command(tg, "/question", "Question of the day")
    assert f"u{deck.id}" not in (card.plain_text or "")


async def test_forget_deletes_own_decks_but_history_of_a_deleted_deck_stays(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg)
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    await only_own_decks(tg)
    card = await command(tg, "/question", "Question of the day")
    await press(tg, card, "Show answer", "Model answer")
    await grade_good(tg)
    assert await count(bot.services.sessions, ReviewRow) == 1
    # Deleted: the review stays, and /export still has it.
    [deck] = await stored_decks(bot.services.sessions)
    async with bot.services.sessions() as session, session.begin():
        await deck_store.delete_deck(deck.id, session=session)
    assert await count(bot.services.sessions, ReviewRow) == 1
    await upload(tg, CSV_V1, "again.csv", "Imported")
    forget = await command(tg, "/forget", "own decks")
    await press(tg, forget, "Yes, delete everything", "everything stored about you is deleted")
    assert await stored_decks(bot.services.sessions) == []
    assert await count(bot.services.sessions, DeckUploadRow) == 0


async def test_the_daily_question_and_typed_answers_come_from_own_decks(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    """The dispatcher's batch: Ada studies her own deck only, Bob the built-in decks."""
    await start(tg)
    await start(tg, BOB, "Bob")
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    await only_own_decks(tg)
    [deck] = await stored_decks(bot.services.sessions)
    bot.services.own_decks.drop(deck.id)  # the dispatcher loads it itself
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(
        lambda: all(
            any("Question of the day" in (m.plain_text or "") for m in tg.sent(chat))
            for chat in (ADA, BOB)
        ),
        what="both daily questions",
    )
    ada = next(m for m in tg.sent(ADA) if "Question of the day" in (m.plain_text or ""))
    bob = next(m for m in tg.sent(BOB) if "Question of the day" in (m.plain_text or ""))
    assert "mine" in (ada.plain_text or "")
    assert "What is overfitting?" in (ada.plain_text or "")
    assert "What is the bias-variance trade-off?" in (bob.plain_text or "")

    # Typed answers: key points from the deck's own answer.
    data = next(d for t, d in ada.buttons if t == "✍️ Type my answer")
    assert data is not None
    count = len(tg.sent(ADA))
    await tg.press(ADA, ADA, ada.message_id, data)
    await tg.wait_for(lambda: len(tg.sent(ADA)) > count, what="the prompt")
    prompt = tg.sent(ADA)[-1]
    count = len(tg.sent(ADA))
    await tg.send_text(
        ADA,
        ADA,
        "It learned the noise of the training data.",
        reply_to_message_id=prompt.message_id,
    )
    # (The first check builds the bank's term statistics: seconds on a busy machine.)
    feedback = await said(tg, count, "key point", timeout=30)
    assert "Your answer: 1 of 1 key point" in (feedback.plain_text or "")


async def chat_decks(sessions: async_sessionmaker[AsyncSession], chat_id: int) -> str | None:
    async with sessions() as session:
        chat = await session.get(ChatRow, chat_id)
    return chat.decks if chat is not None else None


async def test_decks_sent_before_start_are_on_in_the_chat_start_makes(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """A deck sent before /start is on in the chat /start makes, as it would be had the
    chat existed (and so in a chat a /quiz before /start makes)."""
    tg.private_chat(ADA, "Ada")
    await upload(tg, CSV_V1, "early.csv", "Imported")
    [deck] = await stored_decks(bot.services.sessions)
    assert await chat_decks(bot.services.sessions, ADA) is None
    await command(tg, "/start", "Hi Ada")
    assert await chat_decks(bot.services.sessions, ADA) == f"ml,nlp,u{deck.id}"
    topics = await command(tg, "/topics", "Topics")
    assert [text for text, _ in topics.buttons] == [
        "✅ Machine Learning",
        "✅ NLP",
        "✅ early",
        "« Back",
    ]

    # Bob: a deck, then /quiz (a paused chat of his own), then /start.
    tg.private_chat(BOB, "Bob")
    await upload(tg, YAML_DECK, "stats.yaml", "Imported", user=BOB)
    picker = await command(tg, "/quiz", "pick a topic", BOB)
    await press(tg, picker, "Statistics basics", "Quiz · Statistics basics · 1/2", BOB)
    _, bobs = await stored_decks(bot.services.sessions)
    assert await chat_decks(bot.services.sessions, BOB) == f"ml,nlp,u{bobs.id}"
    await command(tg, "/start", "Hi Bob", BOB)
    assert await chat_decks(bot.services.sessions, BOB) == f"ml,nlp,u{bobs.id}"
