"""Odd input and repeated presses: short echoes, "not modified" is no error, and every
callback query is answered exactly once (Telegram refuses a second answer)."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from bot.rendering.texts import ECHO_LIMIT
from tests.support.bot_harness import RunningBot
from tests.support.fake_telegram import FakeTelegram, SentMessage

ADA = 1001


async def said(tg: FakeTelegram, text: str, expect: str) -> SentMessage:
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, text)
    await tg.wait_for(
        lambda: any(expect in (m.plain_text or "") for m in tg.sent(ADA)[count:]),
        what=f"a reply with {expect!r} to {text[:40]!r}",
    )
    return next(m for m in tg.sent(ADA)[count:] if expect in (m.plain_text or ""))


def refused(tg: FakeTelegram) -> list[str]:
    return [
        f"{r.method}: {r.status} {r.description}"
        for r in tg.requests
        if r.status != 200 and r.method != "getUpdates"
    ]


def answers_per_query(tg: FakeTelegram) -> Counter[str]:
    return Counter(str(r.params["callback_query_id"]) for r in tg.calls("answerCallbackQuery"))


async def press_twice(tg: FakeTelegram, choice: str) -> None:
    """/forget, then one of its buttons twice; each press is answered."""
    ask = await said(tg, "/forget", "Are you sure?")
    data = next(d for t, d in ask.buttons if t.startswith(choice))
    assert data is not None
    first = await tg.press(ADA, ADA, ask.message_id, data)
    await tg.wait_for(lambda: first in answers_per_query(tg), what="the first answer")
    await tg.wait_for(lambda: not ask.buttons, what="the question edited")
    second = await tg.press(ADA, ADA, ask.message_id, data)
    await tg.wait_for(lambda: second in answers_per_query(tg), what="the second answer")
    await said(tg, "/help", "/question")  # the press is handled by now (chat order)


async def test_a_long_quiz_topic_is_echoed_short(
    tg: FakeTelegram, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    tg.private_chat(ADA, "Ada")
    topic = "transformers " * 320  # about 4,000 characters
    reply = await said(tg, f"/quiz {topic}", "I know no deck or tag called")
    quoted = (reply.plain_text or "").split("“", 1)[1].split("”", 1)[0]
    assert len(quoted) <= ECHO_LIMIT
    assert quoted.endswith("…")
    # A count in digits int() cannot read is part of the topic, not a traceback.
    await said(tg, "/quiz qwxz ²", "I know no deck or tag called")
    await said(tg, "/quiz nlp " + "9" * 5000, "A quiz has 1 to 20 questions")
    assert refused(tg) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_forget_buttons_pressed_twice_are_answered_once_each(
    tg: FakeTelegram, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    tg.private_chat(ADA, "Ada")
    await said(tg, "/start", "Hi Ada")
    for choice in ("Cancel", "Yes, delete everything"):
        await press_twice(tg, choice)
    assert set(answers_per_query(tg).values()) == {1}
    assert refused(tg) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
