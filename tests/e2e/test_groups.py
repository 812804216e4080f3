"""Group study chats end to end: joining, admin-only settings, the daily group question,
spoilers, every member grading, the leaderboard, the group streak, migration, removal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.storage.models import ChatRow, PersonRow, ReviewRow
from tests.support.bot_harness import FakeClock, RunningBot
from tests.support.fake_telegram import FakeTelegram

GROUP = -100
ADMIN, BOB, CAROL = 2001, 2002, 2003


def last_text(tg: FakeTelegram, chat_id: int) -> str:
    sent = tg.sent(chat_id)
    return (sent[-1].plain_text or "") if sent else ""


async def said(
    tg: FakeTelegram, chat_id: int, user_id: int, text: str, expect: str, **kwargs: bool
) -> str:
    """A member writes; wait for the bot's reply containing ``expect``."""
    count = len(tg.sent(chat_id))
    await tg.send_text(chat_id, user_id, text, **kwargs)
    await tg.wait_for(
        lambda: any(expect in (m.plain_text or "") for m in tg.sent(chat_id)[count:]),
        what=f"a reply with {expect!r} to {text!r}",
    )
    return next(
        m.plain_text or "" for m in tg.sent(chat_id)[count:] if expect in (m.plain_text or "")
    )


async def join(tg: FakeTelegram) -> None:
    tg.group(GROUP, "ML study group")
    tg.ensure_user(ADMIN, "Ada")
    tg.ensure_user(BOB, "Bob")
    tg.ensure_user(CAROL, "Carol")
    tg.set_member_status(GROUP, ADMIN, "administrator")
    for member in (BOB, CAROL):
        tg.set_member_status(GROUP, member, "member")
    await tg.add_bot_to_group(GROUP, by_user_id=ADMIN)
    await tg.wait_for(
        lambda: "one machine-learning interview question a day" in last_text(tg, GROUP)
    )


async def test_group_lifecycle(tg: FakeTelegram, bot: RunningBot, clock: FakeClock) -> None:
    await join(tg)
    assert len(tg.sent(GROUP)) == 1, "greets once"

    refusal = await said(tg, GROUP, BOB, "/time 10:00", "Only this group's admins")
    assert "Only this group's admins" in refusal
    await said(tg, GROUP, ADMIN, "/time@InterviewTestBot 10:00", "Delivery time set to 10:00")
    await said(tg, GROUP, ADMIN, "/days every day", "Days set to", anonymous_admin=True)

    # The daily group question at 10:00, with no Skip (one member would hide it for all).
    clock.set(datetime(2026, 3, 2, 9, 59, 0, tzinfo=UTC))
    await asyncio.sleep(0.2)
    assert not any("Question of the day" in (m.plain_text or "") for m in tg.sent(GROUP))
    clock.set(datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC))
    await tg.wait_for(
        lambda: "Question of the day" in last_text(tg, GROUP), what="the group question"
    )
    question = tg.sent(GROUP)[-1]
    assert [text for text, _ in question.buttons] == ["Show answer"]

    # Two members press Show answer: the answer is posted once, as a reply, under a spoiler.
    reveal = question.buttons[0][1]
    assert reveal is not None
    await tg.press(GROUP, BOB, question.message_id, reveal)
    await tg.wait_for(
        lambda: any(b[0] == "Good" for b in tg.sent(GROUP)[-1].buttons), what="answer"
    )
    answer = tg.sent(GROUP)[-1]
    await tg.press(GROUP, CAROL, question.message_id, reveal)
    await tg.wait_for(lambda: any("already above" in (a.text or "") for a in tg.callback_answers))
    answers = [m for m in tg.sent(GROUP) if "Model answer" in (m.text or "")]
    assert len(answers) == 1
    assert answer.reply_to_message_id == question.message_id
    # Hidden until someone opens it: a closed <details> of one rich message.
    assert answer.rich
    assert "<details><summary>" in (answer.text or "")

    # Every member grades; each gets their own card and review; the buttons stay.
    good = next(d for t, d in answer.buttons if t == "Good")
    again = next(d for t, d in answer.buttons if t == "Again")
    assert good is not None
    assert again is not None
    await tg.press(GROUP, BOB, answer.message_id, good)
    await tg.press(GROUP, CAROL, answer.message_id, again)
    await tg.wait_for(
        lambda: sum("Saved for you" in (a.text or "") for a in tg.callback_answers) == 2
    )
    assert [t for t, _ in answer.buttons] == ["Again", "Hard", "Good", "Easy"]
    async with bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReviewRow)) == 2
        bob = await session.get(PersonRow, BOB)
        assert bob is not None
        assert bob.first_name == "Bob"

    board = await said(tg, GROUP, CAROL, "/top", "Leaderboard")
    assert "(graded: last 7 days / last 30 days · 🔥 streak)" in board
    assert "Bob: 1 / 1" in board
    assert "Carol: 1 / 1 · 🔥 1 ← you" in board
    stats = await said(tg, GROUP, BOB, "/stats", "Group progress")
    assert "Group streak: 1 day" in stats
    assert "Members who graded here in the last 30 days: 2" in stats
    assert "Grades: 2 in the last 7 days, 2 in the last 30" in stats

    # The next day's post shows the group streak.
    clock.set(datetime(2026, 3, 3, 10, 0, 5, tzinfo=UTC))
    await tg.wait_for(
        lambda: "Question of the day · Tue 03 Mar" in last_text(tg, GROUP),
        what="the second group question",
    )
    assert "group streak 1" in last_text(tg, GROUP)

    # Upgraded to a supergroup: settings and history follow the new id.
    await tg.migrate_group(GROUP, -1000100)
    row = await chat_row_when(bot, -1000100, lambda r: r is not None)
    assert row is not None
    assert (row.delivery_time, row.kind, row.active) == ("10:00", "supergroup", True)
    async with bot.services.sessions() as session:
        assert await session.get(ChatRow, GROUP) is None
    board = await said(tg, -1000100, CAROL, "/top", "Leaderboard")
    assert "Bob: 1 / 1" in board, "the leaderboard history follows the migration"

    # Removed from the group: deactivated, history kept.
    await tg.remove_bot_from_group(-1000100, ADMIN, kicked=True)
    row = await chat_row_when(bot, -1000100, lambda r: r is not None and not r.active)
    assert row is not None
    assert row.active is False
    async with bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReviewRow)) == 2


async def chat_row_when(
    bot: RunningBot, chat_id: int, condition: Callable[[ChatRow | None], bool]
) -> ChatRow | None:
    """The chat's row once ``condition`` holds (the bot handles updates asynchronously)."""
    row: ChatRow | None = None
    for _ in range(100):
        async with bot.services.sessions() as session:
            row = await session.get(ChatRow, chat_id)
        if condition(row):
            return row
        await asyncio.sleep(0.05)
    return row


async def test_send_to_a_migrated_group_follows_it(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    """Telegram answers a send to the old id with ChatMigrated: the bot moves and retries."""
    await join(tg)
    new_id = -1000777
    tg.group(new_id, "ML study group", type="supergroup", bot_status="member").seen = True
    tg.fail_next("sendMessage", status=400, migrate_to_chat_id=new_id, chat_id=GROUP)
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(
        lambda: "Question of the day" in last_text(tg, new_id), what="post in the new chat"
    )
    row = await chat_row_when(bot, new_id, lambda r: r is not None)
    assert row is not None
    assert row.kind == "supergroup"
    clock.set(datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    await asyncio.sleep(0.3)
    posts = [m for m in tg.sent() if "Question of the day" in (m.plain_text or "")]
    assert len(posts) == 1, "delivered once, to the new chat"
