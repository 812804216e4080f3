"""Topic quizzes end to end, in a private chat and in a group."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.storage.models import QuizRow
from tests.e2e.test_groups import ADMIN, BOB, CAROL, GROUP, join, said
from tests.support.bot_harness import FakeClock, RunningBot, running_bot, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram, SentMessage

ADA = 1001


def quiz_questions(tg: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in tg.sent(chat_id) if (m.plain_text or "").startswith("Quiz ·")]


def button(message: SentMessage, label: str) -> str:
    data = next(
        (d for text, d in message.buttons if text == label or text.startswith(f"{label} · ")),
        None,
    )
    assert data is not None, f"no {label!r} button on {message.plain_text!r}: {message.buttons}"
    return data


async def answer_and_grade(tg: FakeTelegram, chat_id: int, user_id: int, grade: str) -> SentMessage:
    """Reveal the latest quiz question's answer and grade it; returns the answer message."""
    question = quiz_questions(tg, chat_id)[-1]
    await tg.press(chat_id, user_id, question.message_id, button(question, "Show answer"))
    await tg.wait_for(
        lambda: any(t.split(" · ")[0] == grade for t, _ in tg.sent(chat_id)[-1].buttons),
        what="grade buttons",
    )
    answer = tg.sent(chat_id)[-1]
    await tg.press(chat_id, user_id, answer.message_id, button(answer, grade))
    return answer


async def test_private_quiz_to_its_summary(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    tg.private_chat(ADA, "Ada")
    picker = await said(tg, ADA, ADA, "/quiz", "pick a topic")
    assert "Quiz" in picker
    assert ("Machine Learning", "v1:qp:d:ml") in tg.sent(ADA)[-1].buttons
    await said(tg, ADA, ADA, "/quiz ml 50", "1 to 20 questions")
    await said(tg, ADA, ADA, "/quiz quantum", "I know no deck or tag called")

    await said(tg, ADA, ADA, "/quiz Machine-Learning 3", "Quiz on Machine Learning")
    await tg.wait_for(lambda: len(quiz_questions(tg, ADA)) == 1, what="question 1")
    first = quiz_questions(tg, ADA)[0]
    assert "1/3" in (first.plain_text or "")
    assert [t for t, _ in first.buttons] == ["Show answer", "Skip", "Stop quiz", "✍️ Type my answer"]
    await said(tg, ADA, ADA, "/quiz nlp", "is running (1/3)")

    clock.advance(timedelta(minutes=2))
    await answer_and_grade(tg, ADA, ADA, "Good")
    await tg.wait_for(lambda: len(quiz_questions(tg, ADA)) == 2, what="question 2 after a grade")
    second = quiz_questions(tg, ADA)[1]
    assert "2/3" in (second.plain_text or "")
    await tg.press(ADA, ADA, second.message_id, button(second, "Skip"))
    await tg.wait_for(lambda: len(quiz_questions(tg, ADA)) == 3, what="question 3 after a skip")
    clock.advance(timedelta(minutes=3))
    await answer_and_grade(tg, ADA, ADA, "Again")
    await tg.wait_for(
        lambda: "Quiz finished" in (tg.sent(ADA)[-1].plain_text or ""), what="summary"
    )
    summary = tg.sent(ADA)[-1].plain_text or ""
    assert "Graded 2 of 3 in 5 min 00 s" in summary
    assert "Again 1 · Hard 0 · Good 1 · Easy 0" in summary
    assert "Review again:" in summary
    assert "Explain gradient descent at length." in summary  # the third ml question, graded Again

    # Quiz grades count for the streak.
    stats = await said(tg, ADA, ADA, "/stats", "Current streak")
    assert "Current streak: 1 day" in stats


async def test_quiz_survives_a_restart_and_expires(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    settings = test_settings(tg.api_root, database.url)
    tg.private_chat(ADA, "Ada")
    async with running_bot(settings, clock):
        await said(tg, ADA, ADA, "/quiz ml 2", "Quiz on Machine Learning")
        await tg.wait_for(lambda: len(quiz_questions(tg, ADA)) == 1)
    clock.advance(timedelta(hours=1))
    async with running_bot(settings, clock):
        await answer_and_grade(tg, ADA, ADA, "Easy")
        await tg.wait_for(
            lambda: len(quiz_questions(tg, ADA)) == 2, what="question 2 after restart"
        )
        clock.advance(timedelta(days=1, minutes=1))
        await said(tg, ADA, ADA, "/quiz nlp 1", "Quiz on NLP")
    async with running_bot(settings, clock) as running, running.services.sessions() as session:
        statuses = (await session.scalars(select(QuizRow.status).order_by(QuizRow.id))).all()
    assert list(statuses) == ["expired", "active"]


async def test_group_quiz_to_its_scoreboard(tg: FakeTelegram, bot: RunningBot) -> None:
    await join(tg)
    await said(tg, GROUP, BOB, "/quiz@InterviewTestBot ml 2", "Quiz on Machine Learning")
    await tg.wait_for(lambda: len(quiz_questions(tg, GROUP)) == 1)
    await said(tg, GROUP, CAROL, "/quiz nlp", "is running")

    answer = await answer_and_grade(tg, GROUP, BOB, "Good")
    await tg.press(GROUP, CAROL, answer.message_id, button(answer, "Easy"))
    await tg.wait_for(
        lambda: sum("Saved for you" in (a.text or "") for a in tg.callback_answers) == 2
    )
    # Hidden until someone opens it: a closed <details> of one rich message.
    assert answer.rich
    assert "<details><summary>" in (answer.text or "")
    # Only the starter or an admin moves on.
    await tg.press(GROUP, CAROL, answer.message_id, button(answer, "Next question ▶"))
    await tg.wait_for(
        lambda: any("starter or an admin" in (a.text or "") for a in tg.callback_answers)
    )
    assert len(quiz_questions(tg, GROUP)) == 1
    await tg.press(GROUP, BOB, answer.message_id, button(answer, "Next question ▶"))
    await tg.wait_for(lambda: len(quiz_questions(tg, GROUP)) == 2, what="question 2")

    answer = await answer_and_grade(tg, GROUP, CAROL, "Good")
    await tg.wait_for(
        lambda: sum("Saved for you" in (a.text or "") for a in tg.callback_answers) == 3
    )
    await tg.press(GROUP, ADMIN, answer.message_id, button(answer, "Next question ▶"))
    await tg.wait_for(
        lambda: "Quiz finished" in (tg.sent(GROUP)[-1].plain_text or ""), what="scoreboard"
    )
    board = tg.sent(GROUP)[-1].plain_text or ""
    assert "1. Carol: 5 points (2 graded)" in board
    assert "2. Bob: 2 points (1 graded)" in board


async def test_group_quiz_stop_by_admin_only(tg: FakeTelegram, bot: RunningBot) -> None:
    await join(tg)
    await said(tg, GROUP, BOB, "/quiz ml 3", "Quiz on Machine Learning")
    await tg.wait_for(lambda: len(quiz_questions(tg, GROUP)) == 1)
    await said(tg, GROUP, CAROL, "/quiz stop", "Only the quiz's starter or an admin")
    await said(tg, GROUP, ADMIN, "/quiz stop", "Quiz stopped")
    assert "Nobody graded this time." in (tg.sent(GROUP)[-1].plain_text or "")
