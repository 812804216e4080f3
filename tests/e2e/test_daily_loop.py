"""The daily loop end to end: real PTB Application, fake Bot API over HTTP, real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.storage.models import ChatRow, DeliveryRow, ReviewRow
from tests.support.bot_harness import FakeClock, RunningBot, running_bot, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

ADA = 1001


async def start(tg: FakeTelegram, user_id: int = ADA) -> None:
    tg.private_chat(user_id, "Ada")
    count = len(tg.sent(user_id))
    await tg.send_text(user_id, user_id, "/start")
    await tg.wait_for_messages(user_id, count + 1)


async def ticks(bot: RunningBot, count: int = 4) -> None:
    """Let the dispatcher job run a few times (it ticks every 50 ms in tests)."""
    await asyncio.sleep(0.06 * count)


def questions_in(tg: FakeTelegram, chat_id: int) -> list[str]:
    """The question messages the bot sent to a chat (daily and extra), oldest first."""
    labels = ("Question of the day", "Extra question")
    return [m.plain_text or "" for m in tg.sent(chat_id) if (m.plain_text or "").startswith(labels)]


async def test_start_deliver_reveal_grade_stats(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    welcome = tg.sent(ADA)[0]
    assert "09:00" in (welcome.plain_text or "")
    assert "UTC" in (welcome.plain_text or "")
    assert ("Send my first question now", "v1:q") in welcome.buttons
    assert [c["command"] for c in tg.commands["all_private_chats"]][:3] == [
        "question",
        "next",
        "answer",
    ]
    assert "top" in [c["command"] for c in tg.commands["all_group_chats"]]

    # Nothing before the scheduled minute...
    clock.set(datetime(2026, 3, 2, 8, 59, 30, tzinfo=UTC))
    await ticks(bot)
    assert questions_in(tg, ADA) == []
    # ...and the question at it.
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 1, what="the daily question")
    question = tg.sent(ADA)[-1]
    assert "What is the bias-variance trade-off?" in (question.plain_text or "")
    assert "Question of the day" in (question.plain_text or "")
    assert [text for text, _ in question.buttons] == ["Show answer", "Skip", "✍️ Type my answer"]

    # Exactly once per local day, however often the dispatcher runs.
    clock.set(datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    await ticks(bot)
    assert len(questions_in(tg, ADA)) == 1

    reveal = next(data for _, data in question.buttons if data and data.startswith("v1:r:"))
    await tg.press(ADA, ADA, question.message_id, reveal)
    await tg.wait_for(
        lambda: any(b[0].startswith("Good") for m in tg.sent(ADA) for b in m.buttons),
        what="grade buttons",
    )
    answer = tg.sent(ADA)[-1]
    assert answer.reply_to_message_id == question.message_id
    assert "Model answer" in (answer.plain_text or "")
    assert "Bias" in (answer.plain_text or "")
    # FSRS's preview for a new card (no learning steps): 1, 1, 2 and 8 days.
    assert [text for text, _ in answer.buttons] == [
        "Again · 1d",
        "Hard · 1d",
        "Good · 2d",
        "Easy · 8d",
    ]
    # The question message now says it was revealed and lost its buttons.
    await tg.wait_for(lambda: question.reply_markup is None, what="question edited")
    assert "Answer below" in (question.plain_text or "")

    # A second press does not send the answer again.
    sent_before = len(tg.sent(ADA))
    await tg.press(ADA, ADA, question.message_id, reveal)
    await tg.wait_for(lambda: any("already above" in (a.text or "") for a in tg.callback_answers))
    assert len(tg.sent(ADA)) == sent_before

    good = next(data for text, data in answer.buttons if text.startswith("Good"))
    assert good is not None
    await tg.press(ADA, ADA, answer.message_id, good)
    await tg.wait_for(lambda: any("Saved: Good" in (a.text or "") for a in tg.callback_answers))
    await tg.wait_for(
        lambda: answer.buttons[0][0].startswith("✓ Good"), what="grade recorded on the buttons"
    )
    # Grading the same delivery twice counts once.
    await tg.press(ADA, ADA, answer.message_id, good)
    await tg.wait_for(lambda: any("Already graded" in (a.text or "") for a in tg.callback_answers))
    async with bot.services.sessions() as session:
        reviews = await session.scalar(select(func.count()).select_from(ReviewRow))
    assert reviews == 1

    await tg.send_text(ADA, ADA, "/stats")
    await tg.wait_for(lambda: "Current streak" in (tg.sent(ADA)[-1].plain_text or ""), timeout=15)
    stats = tg.sent(ADA)[-1].plain_text or ""
    assert "Current streak: 1 day" in stats
    assert "Graded: 1 total" in stats
    assert "Retention (Good or Easy): 100%" in stats

    # The next day brings the next new question, round-robin across decks.
    clock.set(datetime(2026, 3, 3, 9, 0, 1, tzinfo=UTC))
    await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 2, what="the second day's question")
    assert "What is attention?" in questions_in(tg, ADA)[-1]


async def test_time_change_moves_todays_delivery(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    await tg.send_text(ADA, ADA, "/time 10:30")
    await tg.wait_for(lambda: "Delivery time set to 10:30" in (tg.sent(ADA)[-1].plain_text or ""))
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await ticks(bot)
    assert questions_in(tg, ADA) == []
    clock.set(datetime(2026, 3, 2, 10, 30, 1, tzinfo=UTC))
    await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 1)
    # After today's question went out, a later time today sends nothing more today.
    await tg.send_text(ADA, ADA, "/time 11:00")
    clock.set(datetime(2026, 3, 2, 11, 0, 1, tzinfo=UTC))
    await ticks(bot)
    assert len(questions_in(tg, ADA)) == 1


async def test_question_command_counts_as_today(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    await tg.send_text(ADA, ADA, "/question")
    await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 1)
    await tg.send_text(ADA, ADA, "/question")  # shows the same question again
    await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 2)
    assert questions_in(tg, ADA)[0] == questions_in(tg, ADA)[1]
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await ticks(bot)
    assert len(questions_in(tg, ADA)) == 2, "the scheduled delivery does not add a second one"
    await tg.send_text(ADA, ADA, "/next")
    await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 3)
    assert "Extra question" in questions_in(tg, ADA)[-1]
    assert questions_in(tg, ADA)[-1] != questions_in(tg, ADA)[0]


async def test_blocked_user_is_deactivated_and_comes_back(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    tg.block(ADA)
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(lambda: any(r.status == 403 for r in tg.calls("sendMessage")))
    await ticks(bot)
    async with bot.services.sessions() as session:
        chat = await session.get(ChatRow, ADA)
        assert chat is not None
        assert chat.active is False
    assert len([r for r in tg.calls("sendMessage") if r.status == 403]) == 1, "no retry storm"
    tg.unblock(ADA)
    await tg.send_text(ADA, ADA, "/help")
    await tg.wait_for(lambda: "Commands" in (tg.sent(ADA)[-1].plain_text or ""))
    async with bot.services.sessions() as session:
        chat = await session.get(ChatRow, ADA)
        assert chat is not None
        assert chat.active is True
        assert chat.next_due_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


async def test_server_errors_are_retried_and_delivered_once(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    """A 5xx may come after the message arrived, so the send is retried once at once
    (README "Sends that may have arrived"); failing again, the delivery is left pending
    and sent by a later tick once its lease ran out."""
    await start(tg)
    tg.fail_next("sendMessage", status=502, times=2, chat_id=ADA)
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))

    def failed() -> int:
        return len([r for r in tg.calls("sendMessage") if r.status == 502])

    await tg.wait_for(lambda: failed() == 2, timeout=10, what="the send and its one retry")
    await ticks(bot)
    assert questions_in(tg, ADA) == [], "no third attempt at once"
    clock.advance(timedelta(seconds=bot.services.settings.delivery_lease_seconds + 1))
    await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 1, timeout=10)
    await ticks(bot)
    assert len(questions_in(tg, ADA)) == 1
    assert failed() == 2


async def test_flood_limit_is_obeyed(tg: FakeTelegram, bot: RunningBot, clock: FakeClock) -> None:
    await start(tg)
    tg.fail_next("sendMessage", status=429, retry_after=1, chat_id=ADA)
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 1, timeout=10)
    assert len(questions_in(tg, ADA)) == 1


async def test_stale_and_forged_buttons_get_a_toast(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    welcome = tg.sent(ADA)[0]
    for data in ["v1:r:999999", "v0:r:1", "garbage", "v1:g:1:9"]:
        await tg.press(ADA, ADA, welcome.message_id, data)
    await tg.wait_for(lambda: len(tg.callback_answers) == 4, what="four toasts")
    texts = [a.text or "" for a in tg.callback_answers]
    assert "no longer available" in texts[0]
    assert all("expired" in text for text in texts[1:])


async def test_bad_arguments_get_friendly_help(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    cases = {
        "/time 25:00": "/time 9:30",
        "/timezone berln": "Europe/Berlin",
        "/days someday": "/days weekdays",
        "/nonsense": "/help",
        "hello there": "/question",
    }
    for command, expected in cases.items():
        count = len(tg.sent(ADA))
        await tg.send_text(ADA, ADA, command)
        await tg.wait_for_messages(ADA, count + 1)
        reply = tg.sent(ADA)[-1].plain_text or ""
        assert expected in reply, (command, reply)
        assert "Traceback" not in reply


async def test_settings_changes(tg: FakeTelegram, bot: RunningBot, clock: FakeClock) -> None:
    await start(tg)
    await tg.send_text(ADA, ADA, "/timezone america/new_york")
    await tg.wait_for(lambda: "America/New_York" in (tg.sent(ADA)[-1].plain_text or ""))
    await tg.send_location(ADA, ADA, 27.7172, 85.3240)
    await tg.wait_for(lambda: "Asia/Kathmandu" in (tg.sent(ADA)[-1].plain_text or ""))
    await tg.send_text(ADA, ADA, "/days mon,wed,fri")
    await tg.wait_for(lambda: "Mon, Wed, Fri" in (tg.sent(ADA)[-1].plain_text or ""))
    await tg.send_text(ADA, ADA, "/pause")
    await tg.wait_for(lambda: "Paused" in (tg.sent(ADA)[-1].plain_text or ""))
    clock.set(datetime(2026, 3, 4, 3, 20, tzinfo=UTC))  # Wed 09:05 in Kathmandu
    await ticks(bot)
    assert questions_in(tg, ADA) == []
    await tg.send_text(ADA, ADA, "/resume")
    await tg.wait_for(lambda: "Resumed" in (tg.sent(ADA)[-1].plain_text or ""))
    async with bot.services.sessions() as session:
        chat = await session.get(ChatRow, ADA)
        assert chat is not None
        # Wednesday 09:00 +05:45 has passed; Friday 09:00 Kathmandu = 03:15 UTC.
        assert chat.next_due_at == datetime(2026, 3, 6, 3, 15, tzinfo=UTC)

    # Topics: toggling keeps at least one deck on.
    await tg.send_text(ADA, ADA, "/topics")
    await tg.wait_for(lambda: "Topics" in (tg.sent(ADA)[-1].plain_text or ""))
    topics = tg.sent(ADA)[-1]
    await tg.press(ADA, ADA, topics.message_id, "v1:tp:ml")
    await tg.wait_for(lambda: topics.buttons[0][0].startswith("▫️"), what="ml switched off")
    await tg.press(ADA, ADA, topics.message_id, "v1:tp:nlp")
    await asyncio.sleep(0.2)
    assert topics.buttons[1][0].startswith("✅"), "the last deck stays on"


async def test_forget_deletes_everything(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    await tg.send_text(ADA, ADA, "/question")
    await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 1)
    await tg.send_text(ADA, ADA, "/forget")
    await tg.wait_for(lambda: "Are you sure" in (tg.sent(ADA)[-1].plain_text or ""))
    confirm = tg.sent(ADA)[-1]
    await tg.press(ADA, ADA, confirm.message_id, "v1:f:y")
    await tg.wait_for(
        lambda: "everything stored about you is deleted" in (confirm.plain_text or "")
    )
    async with bot.services.sessions() as session:
        assert await session.get(ChatRow, ADA) is None
        assert await session.scalar(select(func.count()).select_from(DeliveryRow)) == 0


async def test_downtime_delivers_same_day_and_skips_missed_days(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    settings = test_settings(tg.api_root, database.url)
    async with running_bot(settings, clock):
        await start(tg)
    # Down through 09:00, while Ada writes; back at 15:00 the same day: her
    # command is answered and today's question is delivered on start-up.
    await tg.send_text(ADA, ADA, "/help")
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    async with running_bot(settings, clock):
        await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 1)
        await tg.wait_for(lambda: any("Commands" in (m.plain_text or "") for m in tg.sent(ADA)))
    # Down for two whole days: nothing piles up, the next one comes at its time.
    clock.set(datetime(2026, 3, 5, 8, 0, tzinfo=UTC))
    async with running_bot(settings, clock) as running:
        await ticks(running, 6)
        assert len(questions_in(tg, ADA)) == 1
        clock.advance(timedelta(hours=1, seconds=1))
        await tg.wait_for(lambda: len(questions_in(tg, ADA)) == 2)
