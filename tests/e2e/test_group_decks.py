"""A study group's decks end to end: an admin's /decks switches among the built-in decks
and the admin's own, a member gets the admins-only line, a file captioned /decks from an
admin becomes a group deck (from a member: refused, nothing stored), and the group's
daily question and /quiz then come from the group's decks."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.storage.models import ChatRow
from bot.telegram import callbacks as cb
from tests.e2e.test_own_decks import CSV_V1, YAML_DECK, answered, start, stored_decks, upload
from tests.support.bot_harness import FakeClock, RunningBot
from tests.support.fake_telegram import FakeTelegram, SentMessage

GROUP = -100
ADA, BOB = 1001, 1002  # Ada administers the group, Bob is a member
ONLY_ADMINS = "Only this group's admins can change its settings."


async def in_group(tg: FakeTelegram, user: int, text: str, expect: str) -> SentMessage:
    count = len(tg.sent(GROUP))
    await tg.send_text(GROUP, user, text)
    await tg.wait_for(
        lambda: any(expect in (m.plain_text or "") for m in tg.sent(GROUP)[count:]),
        what=f"{expect!r} after {text!r}",
    )
    return next(m for m in tg.sent(GROUP)[count:] if expect in (m.plain_text or ""))


async def file_in_group(
    tg: FakeTelegram, user: int, data: bytes, name: str, caption: str, expect: str
) -> SentMessage:
    count = len(tg.sent(GROUP))
    await tg.send_document(GROUP, user, data, name, caption=caption)
    await tg.wait_for(
        lambda: any(expect in (m.plain_text or "") for m in tg.sent(GROUP)[count:]),
        what=f"{expect!r} after {name}",
    )
    return next(m for m in tg.sent(GROUP)[count:] if expect in (m.plain_text or ""))


async def switch(tg: FakeTelegram, menu: SentMessage, label: str, user: int = ADA) -> str:
    data = next(d for text, d in menu.buttons if text.endswith(label))
    assert data is not None
    return await answered(tg, await tg.press(GROUP, user, menu.message_id, data))


def labels(tg: FakeTelegram, menu: SentMessage) -> list[str]:
    current = next(m for m in tg.sent(GROUP) if m.message_id == menu.message_id)
    return [text for text, _ in current.buttons]


async def join(tg: FakeTelegram) -> None:
    tg.group(GROUP, "Exam group")
    tg.set_member_status(GROUP, ADA, "administrator")
    tg.set_member_status(GROUP, BOB, "member")
    await tg.add_bot_to_group(GROUP, by_user_id=ADA)
    await tg.wait_for(lambda: bool(tg.sent(GROUP)), what="the greeting")


async def group_decks(bot: RunningBot) -> str:
    async with bot.services.sessions() as session:
        chat = await session.get(ChatRow, GROUP)
    assert chat is not None
    return chat.decks


async def test_an_admin_chooses_the_group_decks_and_the_daily_question_follows(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    await start(tg, BOB, "Bob")
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    await upload(tg, YAML_DECK, "bobs.yaml", "Imported", user=BOB)
    ada_deck, bob_deck = await stored_decks(bot.services.sessions)
    await join(tg)

    # A member: the admins-only line, for the command and for a button.
    await in_group(tg, BOB, "/decks", ONLY_ADMINS)
    menu = await in_group(tg, ADA, "/decks", "This group's decks")
    assert labels(tg, menu) == ["✅ Machine Learning", "✅ NLP", "▫️ mine"]
    assert "Only this group's admins" in await switch(tg, menu, "mine", BOB)
    assert f"u{ada_deck.id}" not in await group_decks(bot)

    # Ada switches her deck on and the built-in ones off.
    assert await switch(tg, menu, "mine") == "On: mine"
    await tg.wait_for(lambda: "✅ mine" in labels(tg, menu), what="the menu redrawn")
    await switch(tg, menu, "Machine Learning")
    await tg.wait_for(lambda: "▫️ Machine Learning" in labels(tg, menu), what="ML off")
    await switch(tg, menu, "NLP")
    await tg.wait_for(lambda: "▫️ NLP" in labels(tg, menu), what="NLP off")
    assert await group_decks(bot) == f"u{ada_deck.id}"
    assert await switch(tg, menu, "mine") == "At least one deck stays on."

    # A forged button for Bob's deck (Ada neither owns nor added it): refused.
    forged = await answered(
        tg, await tg.press(GROUP, ADA, menu.message_id, cb.encode(cb.GroupDeck(f"u{bob_deck.id}")))
    )
    assert forged == "Only decks you own or added can be switched on."
    gone = await answered(
        tg, await tg.press(GROUP, ADA, menu.message_id, cb.encode(cb.GroupDeck("u999999")))
    )
    assert gone == "That deck no longer exists."
    assert await group_decks(bot) == f"u{ada_deck.id}"

    # The group's /quiz offers the group's decks only.
    picker = await in_group(tg, BOB, "/quiz", "pick a topic")
    decks_offered = [text for text, data in picker.buttons if data and ":d:" in data]
    assert decks_offered == ["mine"], picker.buttons

    # The group's daily question comes from Ada's deck.
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(
        lambda: any("Question of the day" in (m.plain_text or "") for m in tg.sent(GROUP)),
        what="the group's daily question",
    )
    daily = next(m for m in tg.sent(GROUP) if "Question of the day" in (m.plain_text or ""))
    assert "What is overfitting?" in (daily.plain_text or "")


async def test_a_file_captioned_decks_from_an_admin_is_a_group_deck(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await join(tg)
    refused = await file_in_group(tg, BOB, CSV_V1, "bob.csv", "/decks", ONLY_ADMINS)
    assert refused.plain_text == ONLY_ADMINS
    assert await stored_decks(bot.services.sessions) == []

    # An anonymous admin posts as the group: the deck would have no owner. Refused.
    count = len(tg.sent(GROUP))
    await tg.send_document(GROUP, ADA, CSV_V1, "anon.csv", caption="/decks", anonymous_admin=True)
    await tg.wait_for(
        lambda: any("not anonymously" in (m.plain_text or "") for m in tg.sent(GROUP)[count:]),
        what="the anonymous upload refused",
    )
    assert await stored_decks(bot.services.sessions) == []

    # A file without the caption is no command: nothing is said.
    count = len(tg.sent(GROUP))
    await tg.send_document(GROUP, ADA, CSV_V1, "holiday.csv")
    imported = await file_in_group(
        tg, ADA, CSV_V1, "exam.csv", "/decks@InterviewTestBot Exam prep", "Imported"
    )
    assert "Exam prep (3 questions) as one of this group's decks" in (imported.plain_text or "")
    assert not any("holiday" in (m.plain_text or "") for m in tg.sent(GROUP)[count:])
    [deck] = await stored_decks(bot.services.sessions)
    assert (deck.owner_id, deck.title) == (ADA, "Exam prep")
    assert (await group_decks(bot)).endswith(f"u{deck.id}")
    menu = await in_group(tg, ADA, "/decks", "This group's decks")
    assert "✅ Exam prep" in labels(tg, menu)

    # A broken file: the problems, nothing stored.
    await file_in_group(tg, ADA, b"question,reply\nA?,B.\n", "bad.csv", "/decks", "not imported")
    assert len(await stored_decks(bot.services.sessions)) == 1


async def test_topics_in_a_group_is_the_decks_menu_and_switches_a_deck_back_on(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """/topics in a group (and /settings › Topics) is the group's /decks menu: an own deck
    switched off is still listed, and switches back on."""
    await start(tg)
    await start(tg, BOB, "Bob")
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    await upload(tg, YAML_DECK, "bobs.yaml", "Imported", user=BOB)
    ada_deck, bob_deck = await stored_decks(bot.services.sessions)
    await join(tg)
    await in_group(tg, BOB, "/topics", ONLY_ADMINS)

    menu = await in_group(tg, ADA, "/topics", "This group's decks")
    assert labels(tg, menu) == ["✅ Machine Learning", "✅ NLP", "▫️ mine"]
    assert await switch(tg, menu, "mine") == "On: mine"
    await tg.wait_for(lambda: "✅ mine" in labels(tg, menu), what="the menu redrawn")
    assert await group_decks(bot) == f"ml,nlp,u{ada_deck.id}"
    assert await switch(tg, menu, "mine") == "Off: mine"
    await tg.wait_for(lambda: "▫️ mine" in labels(tg, menu), what="mine off, still listed")
    assert await group_decks(bot) == "ml,nlp"
    assert await switch(tg, menu, "mine") == "On: mine"
    await tg.wait_for(lambda: "✅ mine" in labels(tg, menu), what="mine on again")
    assert await group_decks(bot) == f"ml,nlp,u{ada_deck.id}"

    # /settings › Topics opens the same menu, with « Back kept through a switch.
    settings = await in_group(tg, ADA, "/settings", "Next question")
    data = next(d for text, d in settings.buttons if text == "Topics")
    assert data is not None
    await answered(tg, await tg.press(GROUP, ADA, settings.message_id, data))
    await tg.wait_for(lambda: "✅ mine" in labels(tg, settings), what="the decks menu")
    assert labels(tg, settings) == ["✅ Machine Learning", "✅ NLP", "✅ mine", "« Back"]
    assert await switch(tg, settings, "mine") == "Off: mine"
    await tg.wait_for(lambda: "▫️ mine" in labels(tg, settings), what="redrawn")
    assert labels(tg, settings) == ["✅ Machine Learning", "✅ NLP", "▫️ mine", "« Back"]

    # A /topics button sent before this menu (ToggleDeck) switches through it too.
    old = cb.encode(cb.ToggleDeck(f"u{ada_deck.id}"))
    assert await answered(tg, await tg.press(GROUP, ADA, menu.message_id, old)) == "On: mine"
    forged = cb.encode(cb.ToggleDeck(f"u{bob_deck.id}"))
    assert await answered(tg, await tg.press(GROUP, ADA, menu.message_id, forged)) == (
        "Only decks you own or added can be switched on."
    )
    assert await group_decks(bot) == f"ml,nlp,u{ada_deck.id}"
