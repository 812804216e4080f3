"""Progress and habits end to end: the /stats picture, intervals on the grade buttons,
/weak and its quiz, the streak reminder, /export, and group commands that never get silence."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from bot.domain.content import Bank
from bot.domain.progress import calendar_cells, window_counts
from bot.domain.srs import CardState, Rating, review
from bot.domain.streaks import StudyMark
from bot.rendering.progress_picture import (
    EMPTY,
    GROUP_HEIGHT,
    HEATMAP_TOP,
    HEIGHT,
    LEVEL_COLOURS,
    WIDTH,
    heatmap_cell_centre,
)
from bot.storage import learning
from bot.storage.models import CardRow, ReviewRow
from tests.e2e.test_groups import GROUP, join, said
from tests.support.bot_harness import (
    FakeClock,
    RunningBot,
    running_bot,
    small_bank,
    test_settings,
)
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram, SentMessage

ADA, BOB = 1001, 1002
NUDGE = "streak</b> is waiting"


async def start(tg: FakeTelegram, user_id: int = ADA, name: str = "Ada") -> None:
    tg.private_chat(user_id, name)
    count = len(tg.sent(user_id))
    await tg.send_text(user_id, user_id, "/start")
    await tg.wait_for_messages(user_id, count + 1)


async def graded(
    bot: RunningBot, person: int, question_id: str, rating: Rating, at: datetime
) -> None:
    """A past grade, stored exactly as the grade button stores one (review row and card)."""
    mark = StudyMark.at_zone(at, "UTC")
    async with bot.services.sessions() as session, session.begin():
        card = review(await learning.card_of(person, question_id, session=session), rating, at)
        row = ReviewRow(
            person_id=person,
            question_id=question_id,
            delivery_id=None,
            chat_id=person,
            rating=int(rating),
            source="daily",
            reviewed_at=at,
            local_date=mark.local_date,
            utc_offset_minutes=mark.utc_offset_minutes,
        )
        assert await learning.record_grade(row, card, session=session)


def button(message: SentMessage, prefix: str) -> str:
    data = next((d for text, d in message.buttons if text.startswith(prefix)), None)
    assert data is not None, f"no {prefix!r} button: {message.buttons}"
    return data


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


async def test_stats_sends_a_cached_picture_of_the_chosen_days(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    chosen = {date(2026, 3, 1): 1, date(2026, 2, 28): 3, date(2026, 2, 20): 5, date(2026, 2, 10): 8}
    for day, count in chosen.items():
        for n in range(count):
            at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9 + n)
            await graded(bot, ADA, "attention", Rating.GOOD if n % 2 else Rating.AGAIN, at)

    await tg.send_text(ADA, ADA, "/stats")
    await tg.wait_for(lambda: bool(tg.sent(ADA, "sendPhoto")), what="the stats picture", timeout=15)
    photo = tg.sent(ADA, "sendPhoto")[-1]
    assert photo.file is not None
    image = Image.open(io.BytesIO(photo.file.data))
    assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    caption = photo.plain_text or ""
    assert "Graded: 17 total" in caption
    assert "/weak" in caption, "17 grades of one question, half Again: something to show"

    # Each chosen day's cell has its band's colour; a day without grades is grey.
    today = date(2026, 3, 2)
    cells = {c.day: c for c in calendar_cells(window_counts({}, today=today))}
    columns = max(c.column for c in cells.values()) + 1
    pixels = image.convert("RGB")

    def colour_of(day: date) -> tuple[int, int, int]:
        x, y = heatmap_cell_centre(cells[day].column, cells[day].row, columns, top=HEATMAP_TOP)
        return pixels.getpixel((x, y))  # type: ignore[return-value]

    for day, count in chosen.items():
        band = {1: 0, 3: 1, 5: 2, 8: 3}[count]
        assert colour_of(day) == rgb(LEVEL_COLOURS[band]), day
    assert colour_of(date(2026, 3, 2)) == rgb(EMPTY)

    # Nothing changed: the same picture is re-sent by its file id (no drawing, no upload).
    await tg.send_text(ADA, ADA, "/stats")
    await tg.wait_for(lambda: len(tg.sent(ADA, "sendPhoto")) == 2, what="the second picture")
    uploads = tg.calls("sendPhoto")
    assert uploads[-1].params["photo"] == photo.file.file_id
    # A new grade changes the state: a new picture is drawn and uploaded.
    await graded(bot, ADA, "bpe", Rating.GOOD, datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    await tg.send_text(ADA, ADA, "/stats")
    await tg.wait_for(
        lambda: len(tg.sent(ADA, "sendPhoto")) == 3, what="the third picture", timeout=15
    )
    third = tg.sent(ADA, "sendPhoto")[-1]
    assert third.file is not None
    assert third.file.file_id != photo.file.file_id
    assert "Graded: 18 total" in (third.plain_text or "")


async def test_a_name_like_tex_still_gets_the_picture(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Names are drawn as typed: ``$\\frac{1}{$`` is not TeX, and nothing is logged."""
    caplog.set_level(logging.WARNING)
    await start(tg, name=r"$\frac{1}{$")
    await graded(bot, ADA, "attention", Rating.GOOD, datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    await tg.send_text(ADA, ADA, "/stats")
    await tg.wait_for(lambda: bool(tg.sent(ADA, "sendPhoto")), what="the stats picture", timeout=15)
    photo = tg.sent(ADA, "sendPhoto")[-1]
    assert photo.file is not None
    assert Image.open(io.BytesIO(photo.file.data)).size == (WIDTH, HEIGHT)

    tg.group(GROUP, r"Ann $5 and $6 \frac{1}{$")
    tg.ensure_user(2001, "Ada")
    tg.set_member_status(GROUP, 2001, "administrator")
    await tg.add_bot_to_group(GROUP, by_user_id=2001)
    await tg.send_text(GROUP, 2001, "/stats")
    await tg.wait_for(
        lambda: bool(tg.sent(GROUP, "sendPhoto")), what="the group picture", timeout=15
    )
    group_photo = tg.sent(GROUP, "sendPhoto")[-1]
    assert group_photo.file is not None
    assert Image.open(io.BytesIO(group_photo.file.data)).size == (WIDTH, GROUP_HEIGHT)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_grade_buttons_show_fsrs_intervals_for_the_card(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(
        lambda: "Question of the day" in (tg.sent(ADA)[-1].plain_text or ""),
        what="the daily question",
    )
    question = tg.sent(ADA)[-1]
    await tg.press(ADA, ADA, question.message_id, button(question, "Show answer"))
    await tg.wait_for(lambda: tg.sent(ADA)[-1].buttons[0][0].startswith("Again"))
    answer = tg.sent(ADA)[-1]
    await tg.press(ADA, ADA, answer.message_id, button(answer, "Good"))
    await tg.wait_for(lambda: answer.buttons[0][0].startswith("✓ Good"))

    # Two days later the card is due: its buttons preview FSRS for this card, now.
    clock.set(datetime(2026, 3, 4, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(
        lambda: "Question of the day · Wed 04 Mar" in (tg.sent(ADA)[-1].plain_text or ""),
        what="the review",
    )
    again = tg.sent(ADA)[-1]
    assert "bias-variance" in (again.plain_text or "")
    await tg.press(ADA, ADA, again.message_id, button(again, "Show answer"))
    await tg.wait_for(lambda: tg.sent(ADA)[-1].buttons[0][0].startswith("Again"))
    assert [t for t, _ in tg.sent(ADA)[-1].buttons] == [
        "Again · 1d",
        "Hard · 8d",
        "Good · 11d",
        "Easy · 3w",
    ]


async def test_weak_lists_the_tag_and_its_button_starts_the_quiz(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    day = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
    for offset in range(4):
        await graded(bot, ADA, "attention", Rating.AGAIN, day + timedelta(days=offset))
    await graded(bot, ADA, "bpe", Rating.GOOD, day)
    await graded(bot, ADA, "bias-variance", Rating.GOOD, day)
    await graded(bot, ADA, "bias-variance", Rating.EASY, day + timedelta(days=3))

    text = await said(tg, ADA, ADA, "/weak", "Weakest topics")
    assert "#attention: 0% recalled (4 reviews, 4 forgotten)" in text
    assert "NLP: 20% recalled (5 reviews, 4 forgotten)" in text
    assert "Machine Learning" not in text, "100% recalled is not weak"
    assert "Leeches (forgotten 4+ times):\n• What is attention? (4×)" in text
    weak = tg.sent(ADA)[-1]
    assert [t for t, _ in weak.buttons] == ["Quiz me on #attention", "Quiz me on NLP"]

    await tg.press(ADA, ADA, weak.message_id, button(weak, "Quiz me on #attention"))
    await tg.wait_for(
        lambda: (tg.sent(ADA)[-1].plain_text or "").startswith("Quiz · #attention · 1/1"),
        what="the quiz's first question",
    )
    assert "What is attention?" in (tg.sent(ADA)[-1].plain_text or "")

    nlp = weak.buttons[1][1]
    assert nlp is not None
    await tg.send_text(ADA, ADA, "/quiz stop")
    await tg.wait_for(lambda: "Quiz stopped" in (tg.sent(ADA)[-1].plain_text or ""))
    await tg.press(ADA, ADA, weak.message_id, nlp)
    await tg.wait_for(
        lambda: (tg.sent(ADA)[-1].plain_text or "").startswith("Quiz · NLP · 1/2"),
        what="the NLP quiz, leech first",
    )
    assert "What is attention?" in (tg.sent(ADA)[-1].plain_text or "")


LONG_DECK = "a-deck-id-far-longer-than-any-button-could-carry-" + "x" * 31  # 80 characters
LONG_TAG = "a-tag-one-character-too-long-" + "t" * 22  # 51 characters


def bank_with_long_ids() -> Bank:
    """A bank `content check` now refuses, as a bot may still hold it: long deck id and tag."""
    bank = small_bank()
    nlp = bank.decks[1]
    attention = nlp.questions[0].model_copy(update={"tags": (LONG_TAG,)})
    long_deck = nlp.model_copy(
        update={"id": LONG_DECK, "questions": (attention, *nlp.questions[1:])}
    )
    return Bank((bank.decks[0], long_deck))


async def test_weak_buttons_work_for_ids_too_long_for_callback_data(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    settings = test_settings(tg.api_root, database.url)
    async with running_bot(settings, clock, bank=bank_with_long_ids()) as bot:
        await start(tg)
        day = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
        for offset in range(4):
            await graded(bot, ADA, "attention", Rating.AGAIN, day + timedelta(days=offset))

        await said(tg, ADA, ADA, "/weak", "Weakest topics")
        weak = tg.sent(ADA)[-1]
        assert [t for t, _ in weak.buttons] == [
            f"Quiz me on #{LONG_TAG}",
            "Quiz me on NLP",
        ]
        assert all(len((d or "").encode()) <= 64 for _, d in weak.buttons)

        await tg.press(ADA, ADA, weak.message_id, button(weak, f"Quiz me on #{LONG_TAG}"))
        await tg.wait_for(
            lambda: (tg.sent(ADA)[-1].plain_text or "").startswith(f"Quiz · #{LONG_TAG} · 1/1"),
            what="the quiz on the long tag",
        )
        await tg.send_text(ADA, ADA, "/quiz stop")
        await tg.wait_for(lambda: "Quiz stopped" in (tg.sent(ADA)[-1].plain_text or ""))
        await tg.press(ADA, ADA, weak.message_id, button(weak, "Quiz me on NLP"))
        await tg.wait_for(
            lambda: (tg.sent(ADA)[-1].plain_text or "").startswith("Quiz · NLP · 1/2"),
            what="the quiz on the deck with the long id",
        )
        await tg.send_text(ADA, ADA, "/quiz stop")
        await tg.wait_for(lambda: "Quiz stopped" in (tg.sent(ADA)[-1].plain_text or ""))

        # /topics lists the deck, and its button switches it off and on again.
        await tg.send_text(ADA, ADA, "/topics")
        await tg.wait_for(lambda: "Topics" in (tg.sent(ADA)[-1].plain_text or ""))
        topics = tg.sent(ADA)[-1]
        assert topics.buttons[1][0] == "✅ NLP"
        await tg.press(ADA, ADA, topics.message_id, button(topics, "✅ NLP"))
        await tg.wait_for(lambda: topics.buttons[1][0] == "▫️ NLP", what="NLP switched off")
        await tg.press(ADA, ADA, topics.message_id, button(topics, "▫️ NLP"))
        await tg.wait_for(lambda: topics.buttons[1][0] == "✅ NLP", what="NLP on again")


def nudges(tg: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in tg.sent(chat_id) if NUDGE in (m.text or "")]


async def ticks() -> None:
    await asyncio.sleep(0.3)


async def test_streak_reminder_once_at_the_minute_never_after_a_grade_or_paused(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg, ADA, "Ada")
    await start(tg, BOB, "Bob")
    await graded(bot, ADA, "bpe", Rating.GOOD, datetime(2026, 2, 28, 12, 0, tzinfo=UTC))
    await graded(bot, ADA, "bpe", Rating.GOOD, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    await graded(bot, BOB, "bpe", Rating.GOOD, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    # 2 March: Ada graded today, Bob's streak is 1 day: nobody is nudged.
    await graded(bot, ADA, "attention", Rating.GOOD, datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    clock.set(datetime(2026, 3, 2, 20, 0, 5, tzinfo=UTC))
    await ticks()
    assert nudges(tg, ADA) == []
    assert nudges(tg, BOB) == []

    # 3 March: not graded yet; nothing before 20:00, one nudge at 20:00, none after.
    clock.set(datetime(2026, 3, 3, 19, 59, 30, tzinfo=UTC))
    await ticks()
    assert nudges(tg, ADA) == []
    clock.set(datetime(2026, 3, 3, 20, 0, 1, tzinfo=UTC))
    await tg.wait_for(lambda: len(nudges(tg, ADA)) == 1, what="the reminder")
    nudge = nudges(tg, ADA)[0]
    assert "Your 3-day streak is waiting" in (nudge.plain_text or "")
    assert "no streak freeze held" in (nudge.plain_text or "")
    assert [t for t, _ in nudge.buttons] == ["Give me a question"]
    clock.set(datetime(2026, 3, 3, 20, 40, tzinfo=UTC))
    await ticks()
    assert len(nudges(tg, ADA)) == 1, "exactly once per local day"
    await tg.press(ADA, ADA, nudge.message_id, button(nudge, "Give me a question"))
    await tg.wait_for(
        lambda: "Question of the day · Tue 03 Mar" in (tg.sent(ADA)[-1].plain_text or "")
    )

    # 4 March: a live 4-day streak, but paused: no nudge.
    await graded(bot, ADA, "bpe", Rating.GOOD, datetime(2026, 3, 3, 21, 0, tzinfo=UTC))
    clock.set(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))
    await said(tg, ADA, ADA, "/pause", "Paused")
    clock.set(datetime(2026, 3, 4, 20, 0, 5, tzinfo=UTC))
    await ticks()
    assert len(nudges(tg, ADA)) == 1
    assert nudges(tg, BOB) == []

    # /remind moves it; /remind off stops it.
    await said(tg, ADA, ADA, "/resume", "Resumed")
    reply = await said(tg, ADA, ADA, "/remind 21:30", "Streak reminder")
    assert "Streak reminder: 21:30 your time (UTC)" in reply
    clock.set(datetime(2026, 3, 4, 21, 30, 5, tzinfo=UTC))
    await tg.wait_for(lambda: len(nudges(tg, ADA)) == 2, what="the reminder at 21:30")
    assert "4-day streak" in (nudges(tg, ADA)[-1].plain_text or "")
    await said(tg, ADA, ADA, "/remind off", "Streak reminders are off")
    await graded(bot, ADA, "bpe", Rating.GOOD, datetime(2026, 3, 4, 22, 0, tzinfo=UTC))
    clock.set(datetime(2026, 3, 5, 21, 30, 5, tzinfo=UTC))
    await ticks()
    assert len(nudges(tg, ADA)) == 2
    settings = await said(tg, ADA, ADA, "/settings", "Settings")
    assert "Streak reminder: off" in settings
    assert "Reminder: off" in [t for t, _ in tg.sent(ADA)[-1].buttons]


async def test_export_sends_both_files_matching_the_grades(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(
        lambda: "Question of the day" in (tg.sent(ADA)[-1].plain_text or ""),
        what="the daily question",
    )
    for grade in ("Good", "Again"):
        question = tg.sent(ADA)[-1]
        await tg.press(ADA, ADA, question.message_id, button(question, "Show answer"))
        await tg.wait_for(lambda: tg.sent(ADA)[-1].buttons[0][0].startswith("Again"))
        answer = tg.sent(ADA)[-1]
        clock.advance(timedelta(minutes=1))
        await tg.press(ADA, ADA, answer.message_id, button(answer, grade))
        await tg.wait_for(lambda: tg.sent(ADA)[-1].buttons[0][0].startswith("✓"))
        if grade == "Good":
            await tg.send_text(ADA, ADA, "/next")
            await tg.wait_for(lambda: "Extra question" in (tg.sent(ADA)[-1].plain_text or ""))

    await tg.send_text(ADA, ADA, "/export")
    await tg.wait_for(lambda: len(tg.sent(ADA, "sendDocument")) == 2, what="two documents")
    csv_doc, json_doc = tg.sent(ADA, "sendDocument")
    assert csv_doc.file is not None
    assert json_doc.file is not None
    assert (csv_doc.file.filename, json_doc.file.filename) == ("reviews.csv", "data.json")
    rows = list(csv.DictReader(io.StringIO(csv_doc.file.data.decode())))
    assert [(r["date"], r["time"], r["question_id"], r["grade"]) for r in rows] == [
        ("2026-03-02", "09:01:05", "bias-variance", "Good"),
        ("2026-03-02", "09:02:05", "attention", "Again"),
    ]
    assert rows[0]["deck"] == "Machine Learning"
    assert rows[0]["question"] == "What is the bias-variance trade-off?"
    assert [r["next_due"] for r in rows] == [
        "2026-03-04T09:01:05+00:00",
        "2026-03-03T09:02:05+00:00",
    ]
    data = json.loads(json_doc.file.data)
    async with bot.services.sessions() as session:
        cards = {c.question_id: c for c in await session.scalars(select(CardRow))}
    assert {c["question_id"]: c["fsrs"] for c in data["cards"]} == {
        q: c.state for q, c in cards.items()
    }
    assert {c["question_id"]: c["lapses"] for c in data["cards"]} == {
        "attention": 1,
        "bias-variance": 0,
    }
    assert CardState.from_dict(data["cards"][0]["fsrs"]).due.isoformat().startswith("2026-03-03")
    assert data["settings"]["timezone"] == "UTC"
    assert data["settings"]["streak_reminder"] == "20:00"
    assert data["streaks"]["current"] == 1
    assert data["person"]["first_name"] == "Ada"


async def test_groups_never_get_silence(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await join(tg)
    await tg.send_text(GROUP, 2002, "/question@InterviewTestBot")
    await tg.wait_for(
        lambda: "Question of the day" in (tg.sent(GROUP)[-1].plain_text or ""),
        what="the group question now",
    )
    question = tg.sent(GROUP)[-1]
    assert [t for t, _ in question.buttons] == ["Show answer"]
    pointer = await said(tg, GROUP, 2003, "/question", "already here")
    assert pointer == "Today's question is already here ⬆️"
    assert tg.sent(GROUP)[-1].reply_to_message_id == question.message_id
    # It counted as today's: the 09:00 run posts nothing more.
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await ticks()
    posts = [m for m in tg.sent(GROUP) if "Question of the day" in (m.plain_text or "")]
    assert len(posts) == 1

    expected = {
        "/next": "Extra questions work in a private chat with me.",
        "/answer@InterviewTestBot": "/answer works in a private chat with me.",
        "/forget": "/forget works in a private chat with me.",
        "/export": "/export works in a private chat with me.",
        "/weak": "/weak works in a private chat with me.",
        "/remind 21:00": "Streak reminders work in a private chat with me.",
    }
    for command, line in expected.items():
        assert await said(tg, GROUP, 2002, command, "private chat") == line
        name = command.split()[0].lstrip("/").split("@")[0]
        markup = tg.sent(GROUP)[-1].reply_markup or {}
        url = markup["inline_keyboard"][0][0]["url"]
        assert url == f"https://t.me/InterviewTestBot?start={name}"

    settings = await said(tg, GROUP, 2001, "/settings", "Settings")
    assert "the group's time" in settings
    assert "your time" not in settings
    zone = await said(tg, GROUP, 2001, "/timezone", "time zone")
    assert zone.startswith("This group's time zone is UTC.")

    # /stats in the group: the group's picture, its summary as the caption.
    await tg.send_text(GROUP, 2002, "/stats")
    await tg.wait_for(
        lambda: bool(tg.sent(GROUP, "sendPhoto")), what="the group picture", timeout=15
    )
    picture = tg.sent(GROUP, "sendPhoto")[-1]
    assert picture.file is not None
    assert Image.open(io.BytesIO(picture.file.data)).size == (WIDTH, GROUP_HEIGHT)
    assert "Group progress" in (picture.plain_text or "")


async def test_reminder_row_in_settings(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    text = await said(tg, ADA, ADA, "/settings", "Settings")
    assert "Streak reminder: 20:00" in text
    menu = tg.sent(ADA)[-1]
    await tg.press(ADA, ADA, menu.message_id, button(menu, "Reminder: 20:00"))
    await tg.wait_for(lambda: "Streak reminder: 20:00 your time" in (menu.plain_text or ""))
    assert [t for t, _ in menu.buttons] == ["19:00", "20:00", "21:00", "22:00", "Off", "« Back"]
    await tg.press(ADA, ADA, menu.message_id, button(menu, "21:00"))
    await tg.wait_for(lambda: "Streak reminder: 21:00 your time" in (menu.plain_text or ""))
    await tg.press(ADA, ADA, menu.message_id, button(menu, "« Back"))
    await tg.wait_for(lambda: "Reminder: 21:00" in [t for t, _ in menu.buttons])
    assert "Streak reminder: 21:00" in (menu.plain_text or "")
    bare = await said(tg, ADA, ADA, "/remind", "Streak reminder")
    assert bare.startswith("Streak reminder: 21:00 your time (UTC).")
    assert "« Back" not in [t for t, _ in tg.sent(ADA)[-1].buttons]
    bad = await said(tg, ADA, ADA, "/remind soon", "/remind off")
    assert "21:30" in bad


async def test_a_crowd_gets_the_summary_while_a_picture_is_drawn(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    """Pictures get a bounded share of the bot's time: right after one was drawn, the
    next person whose picture is not cached gets the text summary at once."""
    settings = test_settings(tg.api_root, database.url, stats_picture_share=0.25)
    async with running_bot(settings, clock):
        await start(tg, ADA, "Ada")
        await start(tg, BOB, "Bob")
        await tg.send_text(ADA, ADA, "/stats")
        await tg.wait_for(lambda: bool(tg.sent(ADA, "sendPhoto")), what="Ada's picture", timeout=15)
        # Drawing it took a while; the pause after it is three times as long.
        count = len(tg.sent(BOB))
        await tg.send_text(BOB, BOB, "/stats")
        summary = (await tg.wait_for_messages(BOB, count + 1))[-1]
        assert summary.method == "sendMessage"
        assert "Your progress" in (summary.plain_text or "")
        assert "comes with your next /stats" in (summary.plain_text or "")
        assert tg.sent(BOB, "sendPhoto") == []


async def test_a_crowd_at_once_gets_one_picture_and_summaries(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    """Six /stats in one batch of updates, handled concurrently: the first to decide to
    draw holds the drawing slot through its reads, so the other five get the summary
    (not six pictures queued behind each other)."""
    settings = test_settings(tg.api_root, database.url, stats_picture_share=0.25)
    people = [ADA + index for index in range(6)]
    async with running_bot(settings, clock):
        for person in people:
            await start(tg, person, f"P{person}")
        counts = {person: len(tg.sent(person)) for person in people}
        for person in people:
            await tg.send_text(person, person, "/stats")
        for person in people:
            await tg.wait_for_messages(person, counts[person] + 1, timeout=15)
        photos = [person for person in people if tg.sent(person, "sendPhoto")]
        summaries = [
            person
            for person in people
            if "comes with your next /stats" in (tg.sent(person)[-1].plain_text or "")
        ]
    assert len(photos) == 1
    assert sorted(summaries + photos) == people


async def test_no_picture_is_drawn_while_people_wait_for_a_reply(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    """Replies before pictures: a /stats handled while another update waits for its turn
    (more admitted than may run at once) gets the summary; the last one, with nobody
    behind it, gets its picture."""
    carol = ADA + 2
    settings = test_settings(tg.api_root, database.url, concurrent_updates=1)
    async with running_bot(settings, clock) as bot:
        for person, name in ((ADA, "Ada"), (BOB, "Bob"), (carol, "Carol")):
            await start(tg, person, name)
        held = tg.hold_call("sendMessage", chat_id=carol)
        await tg.send_text(carol, carol, "/help")  # runs, its reply held: the one slot taken
        await asyncio.wait_for(held.arrived.wait(), timeout=10)
        await tg.send_text(ADA, ADA, "/stats")
        await tg.send_text(BOB, BOB, "/stats")
        processor = bot.application.update_processor
        await tg.wait_for(
            lambda: processor.current_concurrent_updates == 3, what="both /stats admitted"
        )
        held.release()  # Ada's turn, with Bob waiting behind her; then Bob's, alone
        first = (await tg.wait_for_messages(ADA, 2, timeout=15))[-1]
        await tg.wait_for(lambda: bool(tg.sent(BOB, "sendPhoto")), what="Bob's picture", timeout=15)
    assert first.method == "sendMessage"
    assert "comes with your next /stats" in (first.plain_text or "")
    assert tg.sent(ADA, "sendPhoto") == []
