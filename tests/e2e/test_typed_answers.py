"""Typed answers end to end: the button, the ForceReply prompt, feedback, the grade, groups,
keeping answers, and the model grader against a fake OpenAI-compatible server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, update

from bot.storage import typed_answers
from bot.storage.models import DeliveryRow, LlmUsageRow, ReviewRow, TypedAnswerRow
from tests.support.bot_harness import FakeClock, RunningBot, running_bot, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_telegram import FakeTelegram, SentMessage

ADA = 1001
GROUP = -100
BOB = 2002
TYPE = "✍️ Type my answer"
BIAS_ANSWER = "Bias is the error that comes from wrong assumptions in the model."


async def start(tg: FakeTelegram) -> None:
    tg.private_chat(ADA, "Ada")
    await tg.send_text(ADA, ADA, "/start")
    await tg.wait_for_messages(ADA, 1)


async def said(tg: FakeTelegram, text: str, expect: str, **kwargs: int) -> SentMessage:
    """Ada writes; wait for the bot's message containing ``expect``."""
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, text, **kwargs)  # type: ignore[arg-type]
    await tg.wait_for(
        lambda: any(expect in (m.plain_text or "") for m in tg.sent(ADA)[count:]),
        what=f"a reply with {expect!r} to {text!r}",
    )
    return next(m for m in tg.sent(ADA)[count:] if expect in (m.plain_text or ""))


async def new_question(tg: FakeTelegram, command: str = "/question") -> SentMessage:
    label = "Question of the day" if command == "/question" else "Extra question"
    return await said(tg, command, label)


def button(message: SentMessage, text: str) -> str:
    data = next(d for t, d in message.buttons if t == text)
    assert data is not None
    return data


async def answer_message(tg: FakeTelegram, count: int) -> SentMessage:
    await tg.wait_for(
        lambda: any("Model answer" in (m.plain_text or "") for m in tg.sent(ADA)[count:]),
        timeout=15,
        what="the model answer",
    )
    return next(m for m in tg.sent(ADA)[count:] if "Model answer" in (m.plain_text or ""))


def feedback_in(tg: FakeTelegram, count: int) -> SentMessage:
    return next(m for m in tg.sent(ADA)[count:] if "Your answer:" in (m.plain_text or ""))


async def test_type_my_answer_prompt_feedback_and_one_grade(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg)
    question = await new_question(tg)
    assert [t for t, _ in question.buttons] == ["Show answer", "Skip", TYPE]

    count = len(tg.sent(ADA))
    await tg.press(ADA, ADA, question.message_id, button(question, TYPE))
    await tg.wait_for(lambda: len(tg.sent(ADA)) > count, what="the prompt")
    prompt = tg.sent(ADA)[-1]
    assert prompt.reply_markup == {
        "force_reply": True,
        "input_field_placeholder": "Your answer…",
    }
    assert prompt.reply_to_message_id == question.message_id
    # A second press does not send a second prompt.
    await tg.press(ADA, ADA, question.message_id, button(question, TYPE))
    await tg.wait_for(
        lambda: any("waiting for your answer" in (a.text or "") for a in tg.callback_answers)
    )
    assert tg.sent(ADA)[-1] is prompt

    count = len(tg.sent(ADA))
    typed = await tg.send_text(ADA, ADA, BIAS_ANSWER, reply_to_message_id=prompt.message_id)
    answer = await answer_message(tg, count)
    feedback = feedback_in(tg, count)
    text = feedback.plain_text or ""
    assert feedback.reply_to_message_id == typed["message_id"]
    assert "Your answer: 1 of 2 key points" in text
    assert "✅ Bias: error from wrong assumptions" in text
    assert "❌ Variance: sensitivity to noise" in text
    assert "Checked offline" in text
    # The suggested grade is marked on the usual four buttons, and named in the feedback.
    labels = [t for t, _ in answer.buttons]
    marked = [label for label in labels if label.endswith(" ★")]
    assert len(marked) == 1
    assert f"Suggested grade: {marked[0]}" in text
    assert [label.removesuffix(" ★") for label in labels] == ["Again", "Hard", "Good", "Easy"]
    # The question is revealed like with Show answer: no buttons, a footer.
    await tg.wait_for(lambda: question.reply_markup is None, what="question edited")
    assert "Answer below" in (question.plain_text or "")

    # The person's grade is what counts (here not the suggested one), once.
    hard = button(answer, next(label for label in labels if label.startswith("Hard")))
    await tg.press(ADA, ADA, answer.message_id, hard)
    await tg.wait_for(lambda: any("Saved: Hard" in (a.text or "") for a in tg.callback_answers))
    await tg.press(ADA, ADA, answer.message_id, hard)
    await tg.wait_for(lambda: any("Already graded" in (a.text or "") for a in tg.callback_answers))
    async with bot.services.sessions() as session:
        reviews = (await session.scalars(select(ReviewRow))).all()
        attempts = (await session.scalars(select(TypedAnswerRow))).all()
    assert [r.rating for r in reviews] == [2]
    assert len(attempts) == 1
    assert attempts[0].status == "checked"
    assert attempts[0].checker == "offline"
    assert (attempts[0].covered, attempts[0].total) == (1, 2)
    assert attempts[0].answer is None, "typed answers are not kept unless asked"


async def test_a_plain_reply_to_the_question_is_an_answer(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg)
    question = await new_question(tg)
    # The button as the person's app still shows it: the bot removes it from the question
    # once the answer is posted, possibly before the test looks again.
    show_answer = button(question, "Show answer")
    count = len(tg.sent(ADA))
    await tg.send_text(
        ADA,
        ADA,
        "Bias comes from wrong assumptions; variance is sensitivity to noise in the data.",
        reply_to_message_id=question.message_id,
    )
    answer = await answer_message(tg, count)
    assert "Your answer: 2 of 2 key points" in (feedback_in(tg, count).plain_text or "")
    assert any(label.endswith(" ★") for label, _ in answer.buttons)
    # Show answer afterwards does not post the answer again.
    before = len(tg.sent(ADA))
    await tg.press(ADA, ADA, question.message_id, show_answer)
    await tg.wait_for(lambda: any("already above" in (a.text or "") for a in tg.callback_answers))
    assert len(tg.sent(ADA)) == before


async def test_a_reply_before_the_sent_question_was_recorded_still_counts(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """The question's message id is stored a moment after sending; a reply may come first."""
    await start(tg)
    question = await new_question(tg)
    async with bot.services.sessions() as session, session.begin():
        await session.execute(update(DeliveryRow).values(message_id=None))  # not yet recorded
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, BIAS_ANSWER, reply_to_message_id=question.message_id)
    await answer_message(tg, count)
    assert "Your answer: 1 of 2 key points" in (feedback_in(tg, count).plain_text or "")


async def test_plain_text_after_the_button_is_the_answer_and_otherwise_a_pointer(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg)
    await said(tg, "hello there", "I work with commands")
    question = await new_question(tg)
    count = len(tg.sent(ADA))
    await tg.press(ADA, ADA, question.message_id, button(question, TYPE))
    await tg.wait_for(lambda: len(tg.sent(ADA)) > count, what="the prompt")
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, "no idea")
    answer = await answer_message(tg, count)
    text = feedback_in(tg, count).plain_text or ""
    assert "Your answer: 0 of 2 key points" in text
    assert "Suggested grade: Again ★" in text
    assert answer.buttons[0][0] == "Again ★"
    # Revealed now: more text is no longer an answer.
    await said(tg, "and more text", "I work with commands")


async def test_plain_text_is_not_an_answer_once_a_newer_question_came(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg)
    question = await new_question(tg)
    count = len(tg.sent(ADA))
    await tg.press(ADA, ADA, question.message_id, button(question, TYPE))
    await tg.wait_for(lambda: len(tg.sent(ADA)) > count, what="the prompt")
    await tg.press(ADA, ADA, question.message_id, button(question, "Skip"))
    await tg.wait_for(lambda: any("Skipped" in (a.text or "") for a in tg.callback_answers))
    await new_question(tg, "/next")
    await said(tg, BIAS_ANSWER, "I work with commands")


async def test_a_too_long_answer_is_cut_with_a_note(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    question = await new_question(tg)
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, BIAS_ANSWER + " x" * 2500, reply_to_message_id=question.message_id)
    await answer_message(tg, count)
    assert "cut to its first 4,000 characters" in (feedback_in(tg, count).plain_text or "")


async def test_a_reply_after_the_answer_was_shown_is_not_checked(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg)
    question = await new_question(tg)
    count = len(tg.sent(ADA))
    await tg.press(ADA, ADA, question.message_id, button(question, "Show answer"))
    await answer_message(tg, count)
    reply = await said(
        tg, BIAS_ANSWER, "already seen the answer", reply_to_message_id=question.message_id
    )
    assert "Your answer" not in (reply.plain_text or "")


async def test_group_reply_gets_a_pointer_to_the_private_chat(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    tg.group(GROUP, "ML study group")
    tg.ensure_user(BOB, "Bob")
    await tg.add_bot_to_group(GROUP, by_user_id=BOB)
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(
        lambda: any("Question of the day" in (m.plain_text or "") for m in tg.sent(GROUP)),
        what="the group question",
    )
    question = next(m for m in tg.sent(GROUP) if "Question of the day" in (m.plain_text or ""))
    assert TYPE not in [t for t, _ in question.buttons]
    count = len(tg.sent(GROUP))
    await tg.send_text(GROUP, BOB, BIAS_ANSWER, reply_to_message_id=question.message_id)
    await tg.wait_for(lambda: len(tg.sent(GROUP)) > count, what="the pointer")
    pointer = tg.sent(GROUP)[-1]
    assert pointer.plain_text == "✍️ Typed answers are checked in a private chat with me."
    assert pointer.reply_markup == {
        "inline_keyboard": [
            [{"text": "Open the private chat", "url": "https://t.me/InterviewTestBot"}]
        ]
    }
    # Once per member and question: a second reply gets no second pointer.
    await tg.send_text(GROUP, BOB, "and also this", reply_to_message_id=question.message_id)
    await tg.send_text(GROUP, BOB, "/stats")  # updates are handled in order: a marker
    await tg.wait_for(lambda: len(tg.sent(GROUP)) > count + 1, what="the /stats reply")
    assert [m.plain_text for m in tg.sent(GROUP)[count:]].count(pointer.plain_text) == 1
    async with bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(TypedAnswerRow)) == 0
        assert await session.scalar(select(func.count()).select_from(ReviewRow)) == 0


async def test_kept_answers_are_kept_exported_and_forgotten(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg)
    menu = await said(tg, "/settings", "Keep my typed answers: off")
    await tg.press(ADA, ADA, menu.message_id, button(menu, "Keep my typed answers: off"))
    await tg.wait_for(
        lambda: "Keep my typed answers: on" in (menu.plain_text or ""), what="menu redrawn"
    )
    assert ("Keep my typed answers: on", "v1:kt:0") in menu.buttons

    question = await new_question(tg)
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, BIAS_ANSWER, reply_to_message_id=question.message_id)
    answer = await answer_message(tg, count)
    good = button(answer, next(t for t, _ in answer.buttons if t.startswith("Good")))
    await tg.press(ADA, ADA, answer.message_id, good)
    await tg.wait_for(lambda: any("Saved: Good" in (a.text or "") for a in tg.callback_answers))

    async with bot.services.sessions() as session:
        kept = await typed_answers.kept_answers(ADA, session=session)
    assert [(k.question_id, k.answer, k.covered, k.total, k.rating) for k in kept] == [
        ("bias-variance", BIAS_ANSWER, 1, 2, 3)
    ]

    confirm = await said(tg, "/forget", "Are you sure?")
    await tg.press(ADA, ADA, confirm.message_id, button(confirm, "Yes, delete everything"))
    await tg.wait_for(lambda: "everything stored about you" in (confirm.plain_text or ""))
    async with bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(TypedAnswerRow)) == 0


# --- the model grader -----------------------------------------------------------------------


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def llm_timeout() -> float:
    """Generous, so a loaded machine does not time out; the timeout test overrides it."""
    return 10.0


@pytest.fixture
async def graded_bot(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock, llm: FakeOpenAI, llm_timeout: float
) -> AsyncIterator[RunningBot]:
    settings = test_settings(
        tg.api_root,
        database.url,
        llm_api_url=llm.base_url,
        llm_api_key=llm.key,
        llm_model="test-model",
        llm_timeout_seconds=llm_timeout,
        llm_daily_limit=2,
    )
    async with running_bot(settings, clock) as running:
        yield running


async def typed_reply(tg: FakeTelegram, command: str, text: str) -> tuple[str, SentMessage]:
    question = await new_question(tg, command)
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, text, reply_to_message_id=question.message_id)
    answer = await answer_message(tg, count)
    return feedback_in(tg, count).plain_text or "", answer


async def test_the_model_graders_verdict_is_used(
    tg: FakeTelegram, graded_bot: RunningBot, llm: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await start(tg)
    llm.covered, llm.grade = [False, True], "hard"
    text, answer = await typed_reply(tg, "/question", BIAS_ANSWER)
    assert "Checked by the model grader (test-model)" in text
    assert "💡 Mention the trade-off explicitly." in text
    assert "Your answer: 1 of 2 key points" in text
    assert "Suggested grade: Hard ★" in text
    assert [t for t, _ in answer.buttons] == ["Again", "Hard ★", "Good", "Easy"]
    # One request, with the key as a bearer token, the question, the points and the answer.
    assert len(llm.calls) == 1
    call = llm.calls[0]
    assert call.authorization == f"Bearer {llm.key}"
    assert call.body["model"] == "test-model"
    assert "What is the bias-variance trade-off?" in call.user_prompt
    assert "Bias: error from wrong assumptions" in call.user_prompt
    assert BIAS_ANSWER in call.user_prompt
    assert llm.key not in caplog.text, "the API key is never logged"
    async with graded_bot.services.sessions() as session:
        attempt = await session.scalar(select(TypedAnswerRow))
    assert attempt is not None
    assert attempt.checker == "model"


@pytest.mark.parametrize("llm_timeout", [1.0])
async def test_a_timeout_falls_back_to_the_offline_check(
    tg: FakeTelegram, graded_bot: RunningBot, llm: FakeOpenAI
) -> None:
    await start(tg)
    # A first check answered in time: the client's first-use work (its resources, the
    # connection) is done, so the timed-out request below reaches the fake well within
    # the timeout even on a loaded machine (cold, it once did not within 0.3 s, in CI).
    text, _ = await typed_reply(tg, "/question", BIAS_ANSWER)
    assert "Checked by the model grader" in text
    llm.hold()
    text, _ = await typed_reply(tg, "/next", "Attention is a softmax over keys and values.")
    assert "gave no usable answer in time, so this was checked offline" in text
    assert "Your answer: 1 of 1 key point" in text
    assert len(llm.calls) == 2
    llm.release()


async def test_bad_json_or_an_error_falls_back_too(
    tg: FakeTelegram, graded_bot: RunningBot, llm: FakeOpenAI
) -> None:
    await start(tg)
    llm.content = '{"points": "all of them"}'
    text, _ = await typed_reply(tg, "/question", BIAS_ANSWER)
    assert "checked offline" in text
    llm.content, llm.status = None, 503
    text, _ = await typed_reply(tg, "/next", "Attention is a softmax over the keys.")
    assert "checked offline" in text
    assert len(llm.calls) == 2


async def test_the_daily_limit_holds(
    tg: FakeTelegram, graded_bot: RunningBot, llm: FakeOpenAI, clock: FakeClock
) -> None:
    await start(tg)
    first, _ = await typed_reply(tg, "/question", BIAS_ANSWER)
    second, _ = await typed_reply(tg, "/next", "Attention is a softmax over keys and values.")
    third, _ = await typed_reply(tg, "/next", "L1 gives sparsity and L2 shrinks weights.")
    assert "Checked by the model grader" in first
    assert "Checked by the model grader" in second
    assert "Today's model checks are used up, so this was checked offline." in third
    assert len(llm.calls) == 2
    async with graded_bot.services.sessions() as session:
        usage = (await session.scalars(select(LlmUsageRow))).all()
    assert [(u.person_id, u.requests) for u in usage] == [(ADA, 2)]
    # A new day brings new requests.
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    fourth, _ = await typed_reply(tg, "/next", "Byte-pair encoding merges frequent pairs.")
    assert "Checked by the model grader" in fourth
    assert len(llm.calls) == 3


async def usage_of(bot: RunningBot) -> list[tuple[int, date, int]]:
    async with bot.services.sessions() as session:
        rows = (await session.scalars(select(LlmUsageRow).order_by(LlmUsageRow.day))).all()
    return [(row.person_id, row.day, row.requests) for row in rows]


async def test_a_failed_model_check_does_not_count(
    tg: FakeTelegram, graded_bot: RunningBot, llm: FakeOpenAI
) -> None:
    await start(tg)
    llm.status = 503
    first, _ = await typed_reply(tg, "/question", BIAS_ANSWER)
    assert "checked offline" in first
    assert await usage_of(graded_bot) == [(ADA, date(2026, 3, 2), 0)]
    llm.status = 200
    second, _ = await typed_reply(tg, "/next", "Attention is a softmax over keys and values.")
    third, _ = await typed_reply(tg, "/next", "L1 gives sparsity and L2 shrinks weights.")
    assert "Checked by the model grader" in second
    assert "Checked by the model grader" in third, "the failed check was given back"
    assert len(llm.calls) == 3
    assert await usage_of(graded_bot) == [(ADA, date(2026, 3, 2), 2)]


async def test_feedback_telegram_refused_does_not_count(
    tg: FakeTelegram, graded_bot: RunningBot, llm: FakeOpenAI
) -> None:
    await start(tg)
    question = await new_question(tg)
    tg.fail_next("sendMessage", status=400, description="Bad Request: message is too long")
    await said(
        tg,
        BIAS_ANSWER,
        "Telegram did not accept the message just now",
        reply_to_message_id=question.message_id,
    )
    assert len(llm.calls) == 1
    assert await usage_of(graded_bot) == [(ADA, date(2026, 3, 2), 0)]
    # The reveal was undone: the same answer again gets the model's feedback, counted once.
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, BIAS_ANSWER, reply_to_message_id=question.message_id)
    await answer_message(tg, count)
    assert "Checked by the model grader" in (feedback_in(tg, count).plain_text or "")
    assert await usage_of(graded_bot) == [(ADA, date(2026, 3, 2), 1)]


async def test_the_limit_is_per_local_day_of_the_person(
    tg: FakeTelegram, graded_bot: RunningBot, llm: FakeOpenAI, clock: FakeClock
) -> None:
    """Honolulu is UTC-10: 20:00 UTC and 01:00 UTC the next day are one local day there."""
    await start(tg)
    await said(tg, "/timezone Pacific/Honolulu", "Honolulu")
    clock.set(datetime(2026, 3, 2, 20, 0, tzinfo=UTC))  # 10:00 on 2 March in Honolulu
    first, _ = await typed_reply(tg, "/next", BIAS_ANSWER)
    second, _ = await typed_reply(tg, "/next", "Attention is a softmax over keys and values.")
    assert "Checked by the model grader" in first
    assert "Checked by the model grader" in second
    clock.set(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))  # a new UTC day, still 2 March there
    third, _ = await typed_reply(tg, "/next", "L1 gives sparsity and L2 shrinks weights.")
    assert "Today's model checks are used up" in third
    clock.set(datetime(2026, 3, 3, 10, 30, tzinfo=UTC))  # 00:30 on 3 March in Honolulu
    fourth, _ = await typed_reply(tg, "/next", "Byte-pair encoding merges frequent pairs.")
    assert "Checked by the model grader" in fourth
    assert await usage_of(graded_bot) == [(ADA, date(2026, 3, 2), 2), (ADA, date(2026, 3, 3), 1)]
