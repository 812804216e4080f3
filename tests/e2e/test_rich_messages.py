"""Rich messages end to end (issue 17): the real Application against the fake Bot API.

Model answers go as one ``sendRichMessage`` carrying the grade buttons (reveal, grade, quiz,
typed answers); a question with a formula or code goes rich too, a plain one stays HTML;
the group answer is hidden in a closed ``<details>``; an older server (404) switches the
process to HTML once, a 400 about one answer sends that answer as HTML and counts it; and
``RICH_MESSAGES=off`` sends exactly today's messages.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from bot.domain.content import Bank, Deck, Question, Source
from bot.rendering import render_answer
from bot.service import metrics
from bot.study.answers import ANSWER_HEADER
from bot.study.questions import card_text, daily_label
from tests.support.bot_harness import FakeClock, RunningBot, running_bot, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram, SentMessage

ADA, BOB, CAROL = 1001, 1002, 1003
USERS = (ADA, BOB, CAROL)
GROUP = -100
ADMIN = 2001

FORMULA_QUESTION = "What does \\(\\mathrm{softmax}(z)_i\\) compute, and why subtract \\(\\max z\\)?"
FORMULA_ANSWER = (
    "It normalises scores into probabilities:\n\n"
    "\\[\\mathrm{softmax}(z)_i = \\frac{e^{z_i}}{\\sum_j e^{z_j}}\\]\n\n"
    "| trick | why |\n|---|---|\n| subtract \\(\\max z\\) | no overflow when \\(z_i > 700\\) |\n\n"
    "```python\nnp.exp(z - z.max())\n```\n\n"
    "- shift-invariant: \\(\\mathrm{softmax}(z + c) = \\mathrm{softmax}(z)\\)\n"
    "  - so the result is the same & safe"
)
PLAIN_QUESTION = "What is the bias-variance trade-off?"
PLAIN_ANSWER = "- **Bias**: error from wrong assumptions\n- *Variance*: sensitivity to noise"


def rich_bank() -> Bank:
    """One question with a formula (sent rich), one without (sent as HTML)."""
    source = Source(name="Test source", attribution="Written for the tests.")

    def question(qid: str, text: str, answer: str) -> Question:
        return Question(id=qid, question=text, answer=answer, tags=("t",), difficulty="medium")

    deck = Deck(
        id="ml",
        title="Machine Learning",
        description="Classic ML.",
        source=source,
        questions=(
            question("softmax", FORMULA_QUESTION, FORMULA_ANSWER),
            question("bias-variance", PLAIN_QUESTION, PLAIN_ANSWER),
        ),
    )
    return Bank((deck,))


BotWith = Callable[..., AbstractAsyncContextManager[RunningBot]]
"""``bot_with(**settings)``: the bot on ``rich_bank()`` with those settings."""


def rich_fallbacks(reason: str) -> float:
    return float(metrics.RICH_FALLBACKS.labels(reason=reason)._value.get())


@pytest.fixture
def bot_with(tg: FakeTelegram, database: TestDatabase, clock: FakeClock) -> BotWith:
    def make(**overrides: object) -> AbstractAsyncContextManager[RunningBot]:
        settings = test_settings(tg.api_root, database.url, **overrides)
        return running_bot(settings, clock, bank=rich_bank())

    return make


@pytest.fixture
async def bot(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(
        test_settings(tg.api_root, database.url), clock, bank=rich_bank()
    ) as running:
        yield running


async def start(tg: FakeTelegram, user_id: int) -> None:
    tg.private_chat(user_id, "Ada")
    count = len(tg.sent(user_id))
    await tg.send_text(user_id, user_id, "/start")
    await tg.wait_for_messages(user_id, count + 1)


async def ask(tg: FakeTelegram, user_id: int, command: str = "/question") -> SentMessage:
    """``command`` (/question, /next) and the question message it brought."""
    count = len(tg.sent(user_id))
    label = "Question of the day" if command == "/question" else "Extra question"
    await tg.send_text(user_id, user_id, command)
    await tg.wait_for(
        lambda: any(label in (m.plain_text or "") for m in tg.sent(user_id)[count:]),
        what=f"the question for {command}",
    )
    return next(m for m in tg.sent(user_id)[count:] if label in (m.plain_text or ""))


def day_questions(tg: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in tg.sent(chat_id) if "Question of the day" in (m.plain_text or "")]


def button(message: SentMessage, label: str) -> str:
    data = next((d for t, d in message.buttons if t == label or t.startswith(f"{label} · ")), None)
    assert data is not None, f"no {label!r} button on {message.buttons}"
    return data


def answers(tg: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in tg.sent(chat_id) if "Model answer" in (m.plain_text or "")]


async def reveal(
    tg: FakeTelegram, chat_id: int, user_id: int, question: SentMessage
) -> SentMessage:
    count = len(answers(tg, chat_id))
    await tg.press(chat_id, user_id, question.message_id, button(question, "Show answer"))
    await tg.wait_for(lambda: len(answers(tg, chat_id)) > count, what="the model answer")
    return answers(tg, chat_id)[-1]


# -- private chats -----------------------------------------------------------------------------


async def test_a_formula_question_and_its_answer_go_rich_then_grade(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg, ADA)
    question = await ask(tg, ADA)
    # The question holds a formula: one rich message with its buttons.
    assert question.method == "sendRichMessage"
    assert "<tg-math>" in (question.text or "")
    assert [t for t, _ in question.buttons] == ["Show answer", "Skip", "✍️ Type my answer"]

    answer = await reveal(tg, ADA, ADA, question)
    # The answer: one rich message, a reply to the question, with the grade buttons.
    assert answer.method == "sendRichMessage"
    assert len(answers(tg, ADA)) == 1
    assert answer.reply_to_message_id == question.message_id
    html = answer.text or ""
    for part in ("<tg-math-block>", "<table", '<code class="language-python">', "&amp;"):
        assert part in html
    assert [t.split(" · ")[0] for t, _ in answer.buttons] == ["Again", "Hard", "Good", "Easy"]
    # "Answer below" on the rich question: editMessageText with rich_message.
    await tg.wait_for(lambda: bool(question.edits), what="the question marked")
    assert question.rich
    assert "Answer below" in (question.plain_text or "")
    assert question.buttons == []
    [edit] = tg.calls("editMessageText")
    assert "rich_message" in edit.params
    assert "text" not in edit.params

    await tg.press(ADA, ADA, answer.message_id, button(answer, "Good"))
    await tg.wait_for(lambda: bool(answer.edits), what="the grade buttons replaced")
    # The keyboard changes through editMessageReplyMarkup; the rich content stays.
    assert [e.method for e in answer.edits] == ["editMessageReplyMarkup"]
    assert answer.rich
    assert answer.text == html
    assert any("Good" in t for t, _ in answer.buttons)


async def test_a_plain_question_stays_html_and_its_answer_goes_rich(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg, ADA)
    await ask(tg, ADA)  # today's: the formula question
    question = await ask(tg, ADA, "/next")
    assert question.method == "sendMessage"
    assert (question.parse_mode or "").lower() == "html"
    assert PLAIN_QUESTION in (question.plain_text or "")
    count = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, "/answer")
    await tg.wait_for(lambda: len(answers(tg, ADA)) == 1, what="/answer's answer")
    [answer] = answers(tg, ADA)
    assert answer.method == "sendRichMessage"
    assert "<ul>" in (answer.text or "")
    assert [m.method for m in tg.sent(ADA)[count:]] == ["sendRichMessage"]


async def test_quiz_with_rich_answers(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg, ADA)
    await tg.send_text(ADA, ADA, "/quiz ml 2")

    def quiz_questions() -> list[SentMessage]:
        return [m for m in tg.sent(ADA) if (m.plain_text or "").startswith("Quiz ·")]

    await tg.wait_for(lambda: len(quiz_questions()) == 1, what="quiz question 1")
    first = quiz_questions()[0]
    answer = await reveal(tg, ADA, ADA, first)
    assert answer.method == "sendRichMessage"
    await tg.press(ADA, ADA, answer.message_id, button(answer, "Easy"))
    await tg.wait_for(lambda: len(quiz_questions()) == 2, what="quiz question 2")
    second = quiz_questions()[1]
    answer = await reveal(tg, ADA, ADA, second)
    assert answer.method == "sendRichMessage"
    await tg.press(ADA, ADA, answer.message_id, button(answer, "Good"))
    await tg.wait_for(
        lambda: "Quiz finished" in (tg.sent(ADA)[-1].plain_text or ""), what="the summary"
    )
    assert all(m.method == "sendRichMessage" for m in answers(tg, ADA))
    assert len(answers(tg, ADA)) == 2


async def test_typed_answer_feedback_then_the_rich_answer(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    await start(tg, ADA)
    question = await ask(tg, ADA)
    await tg.send_text(
        ADA,
        ADA,
        "Softmax turns scores into probabilities; subtracting the max avoids overflow.",
        reply_to_message_id=question.message_id,
    )
    await tg.wait_for(lambda: len(answers(tg, ADA)) == 1, timeout=15, what="the model answer")
    [answer] = answers(tg, ADA)
    feedback = next(m for m in tg.sent(ADA) if "Your answer:" in (m.plain_text or ""))
    assert feedback.method == "sendMessage"
    assert answer.method == "sendRichMessage"
    assert any("★" in t for t, _ in answer.buttons), "the suggested grade is marked"
    # The rich question is marked revealed with a rich edit.
    await tg.wait_for(lambda: bool(question.edits), what="the question marked")
    assert question.rich
    assert "Answer below" in (question.plain_text or "")


# -- groups --------------------------------------------------------------------------------------


async def test_the_group_answer_is_hidden_until_opened_and_every_member_grades(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    tg.group(GROUP, "ML study group")
    tg.ensure_user(ADMIN, "Ada")
    tg.ensure_user(BOB, "Bob")
    tg.set_member_status(GROUP, ADMIN, "administrator")
    await tg.add_bot_to_group(GROUP, by_user_id=ADMIN)
    await tg.wait_for(lambda: bool(tg.sent(GROUP)), what="the greeting")
    count = len(tg.sent(GROUP))
    await tg.send_text(GROUP, BOB, "/question")
    await tg.wait_for(lambda: any(m.buttons for m in tg.sent(GROUP)[count:]), what="question")
    question = next(m for m in tg.sent(GROUP)[count:] if m.buttons)
    answer = await reveal(tg, GROUP, BOB, question)
    assert answer.method == "sendRichMessage"
    html = answer.text or ""
    # Closed <details> (no "open"), its summary saying what it is; the body inside it.
    assert html.startswith("<details><summary>")
    assert "Model answer" in html.split("</summary>")[0]
    assert "tap to open" in html.split("</summary>")[0]
    assert "<details open" not in html
    assert html.rstrip().endswith("</details>")
    assert "<tg-math-block>" in html.split("</summary>")[1]
    # Every member grades with the buttons under it; they stay for the others.
    await tg.press(GROUP, BOB, answer.message_id, button(answer, "Good"))
    await tg.press(GROUP, ADMIN, answer.message_id, button(answer, "Easy"))
    await tg.wait_for(
        lambda: sum("Saved for you" in (a.text or "") for a in tg.callback_answers) == 2,
        what="two members' grades",
    )
    assert answer.edits == []
    assert [t.split(" · ")[0] for t, _ in answer.buttons][:4] == ["Again", "Hard", "Good", "Easy"]


# -- fallbacks -------------------------------------------------------------------------------


async def test_an_older_server_switches_the_process_to_html_once(
    tg: FakeTelegram,
    bot_with: BotWith,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tg.rich_messages = False
    before = rich_fallbacks("method_not_found")
    async with bot_with() as running:
        for user in USERS:
            await start(tg, user)
        # Three /question at once: three questions (with a formula) meet the 404 together.
        holds = [tg.hold_call("sendRichMessage", chat_id=user) for user in USERS]
        with caplog.at_level(logging.INFO, logger="bot.telegram.rich_messages"):
            for user in USERS:
                await tg.send_text(user, user, "/question")
            await tg.wait_for(lambda: all(h.arrived.is_set() for h in holds), what="3 held")
            for hold in holds:
                hold.release()
            await tg.wait_for(
                lambda: all(day_questions(tg, user) for user in USERS), what="three questions"
            )
            questions = {user: day_questions(tg, user)[0] for user in USERS}
            assert running.services.rich.on is False
            answer = await reveal(tg, ADA, ADA, questions[ADA])
        lines = [r for r in caplog.records if r.name == "bot.telegram.rich_messages"]
    # Each question still went, as HTML; one log line for the three 404s; the answer
    # after the switch never tried sendRichMessage.
    for user in USERS:
        assert questions[user].method == "sendMessage"
        assert FORMULA_QUESTION.split("\\(")[0] in (questions[user].plain_text or "")
    assert len(lines) == 1
    assert "404" in lines[0].getMessage()
    assert len(tg.calls("sendRichMessage")) == 3
    assert answer.method == "sendMessage"
    assert "<tg-spoiler>" not in (answer.text or "")
    assert rich_fallbacks("method_not_found") - before == 3


async def test_a_refused_answer_goes_as_html_once_logged_and_counted(
    tg: FakeTelegram, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    questions = {}
    for user in (ADA, BOB):
        await start(tg, user)
        questions[user] = await ask(tg, user)
    before = rich_fallbacks("rejected")
    description = "Bad Request: can't parse rich message: unsupported formula"
    tg.fail_next("sendRichMessage", status=400, description=description, times=2)
    with caplog.at_level(logging.INFO, logger="bot.telegram.rich_messages"):
        first = await reveal(tg, ADA, ADA, questions[ADA])
        second = await reveal(tg, BOB, BOB, questions[BOB])
    # Each answer still went, as today's HTML; the question is logged once, both counted.
    for answer in (first, second):
        assert answer.method == "sendMessage"
        assert answer.text == render_answer(FORMULA_ANSWER, header=ANSWER_HEADER)[0]
        assert [t.split(" · ")[0] for t, _ in answer.buttons] == ["Again", "Hard", "Good", "Easy"]
    lines = [r for r in caplog.records if r.name == "bot.telegram.rich_messages"]
    assert len(lines) == 1
    assert "question softmax" in lines[0].getMessage()
    assert rich_fallbacks("rejected") - before == 2
    # The server has rich messages: the process stays on them for the next answer.
    assert bot.services.rich.on
    following = await reveal(tg, ADA, ADA, await ask(tg, ADA, "/next"))
    assert following.method == "sendRichMessage"


async def test_rich_messages_off_sends_todays_messages(
    tg: FakeTelegram,
    bot_with: BotWith,
    clock: FakeClock,
) -> None:
    async with bot_with(rich_messages="off") as running:
        await start(tg, ADA)
        question = await ask(tg, ADA)
        answer = await reveal(tg, ADA, ADA, question)
        await tg.wait_for(lambda: bool(question.edits), what="the question marked")
        bank = running.services.bank
    label = daily_label(clock.now.date())
    assert tg.calls("sendRichMessage") == []
    assert (question.method, answer.method) == ("sendMessage", "sendMessage")
    assert question.params["text"] == card_text(bank, "softmax", label)
    assert answer.text == render_answer(FORMULA_ANSWER, header=ANSWER_HEADER)[0]
    assert not question.rich
    assert question.edits[0].parse_mode == "HTML"


def test_rich_messages_setting_is_checked() -> None:
    from bot.service.config import Settings

    with pytest.raises(ValueError, match="RICH_MESSAGES must be auto, on or off"):
        Settings(_env_file=None, bot_token="123456:ABCDEFGHIJKLMNOP", rich_messages="maybe")
    assert Settings(_env_file=None, bot_token="123456:ABCDEFGHIJKLMNOP").rich_messages == "auto"
