"""The peak minute end to end: replies before the broadcast, per-chat order, safe races.

The real Application runs against the fake Bot API. The fake here records every
request the moment it arrives (``arrivals``, the order Telegram would see) and
can hold chosen requests unanswered until the test releases them, which is how
each test forces an interleaving instead of sleeping and hoping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.domain.chats import ChatSettings
from bot.domain.schedule import Schedule
from bot.storage import chats as chat_store
from bot.storage import people
from bot.storage.models import CardRow, ChatRow, DeliveryRow, PersonRow, ReviewRow
from bot.telegram.ratelimit import PriorityRateLimiter, Traffic
from tests.support.bot_harness import TOKEN, FakeClock, RunningBot, running_bot, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram, SentMessage

ADA, BOB = 1001, 1002
GROUP = -100
ADMIN, CAROL, DAN = 2001, 2003, 2004
DUE_CHATS = [5000 + index for index in range(20)]
# Monday 2 March 2026; every chat here is due at 09:00 UTC.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DUE_MINUTE = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)
TODAY = date(2026, 3, 2)

Params = dict[str, Any]


@dataclass
class Arrival:
    """One request as the fake received it, before answering it."""

    method: str
    chat_id: int | None
    params: Params

    @property
    def text(self) -> str:
        """The text sent, or a rich message's html."""
        return _text_of(self.params)

    @property
    def is_send(self) -> bool:
        return self.method in SENDS


SENDS = ("sendMessage", "sendRichMessage")


def _text_of(params: Params) -> str:
    rich = params.get("rich_message")
    if isinstance(rich, str):
        rich = json.loads(rich)
    if isinstance(rich, dict):
        return str(rich.get("html") or "")
    return str(params.get("text") or "")


@dataclass
class Hold:
    """Requests matching ``matches`` wait unanswered until ``release`` is set."""

    matches: Callable[[str, Params], bool]
    remaining: int
    release: asyncio.Event = field(default_factory=asyncio.Event)
    held: list[Arrival] = field(default_factory=list)


class PeakTelegram(FakeTelegram):
    """The fake Bot API, recording arrival order and holding chosen requests."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.arrivals: list[Arrival] = []
        self.holds: list[Hold] = []

    def hold(self, matches: Callable[[str, Params], bool], *, count: int = 1) -> Hold:
        hold = Hold(matches, count)
        self.holds.append(hold)
        return hold

    async def _dispatch(self, token: str, method: str, raw: Params) -> tuple[Params, Any]:
        arrival = Arrival(method, _int(raw.get("chat_id")), dict(raw))
        if method != "getUpdates":
            self.arrivals.append(arrival)
        for hold in self.holds:
            if hold.remaining > 0 and hold.matches(method, raw):
                hold.remaining -= 1
                hold.held.append(arrival)
                await hold.release.wait()
                break
        return await super()._dispatch(token, method, raw)

    def release_all(self) -> None:
        for hold in self.holds:
            hold.release.set()

    def sends_to(self, chat_id: int) -> list[Arrival]:
        return [a for a in self.arrivals if a.is_send and a.chat_id == chat_id]


def _int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def send_to(chat_id: int, containing: str = "") -> Callable[[str, Params], bool]:
    def matches(method: str, params: Params) -> bool:
        return (
            method in SENDS
            and _int(params.get("chat_id")) == chat_id
            and containing in _text_of(params)
        )

    return matches


def toast_of(query_id: str) -> Callable[[str, Params], bool]:
    def matches(method: str, params: Params) -> bool:
        return method == "answerCallbackQuery" and params.get("callback_query_id") == query_id

    return matches


@pytest.fixture
async def tg() -> AsyncIterator[PeakTelegram]:
    async with PeakTelegram() as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def limiter_of(running: RunningBot) -> PriorityRateLimiter:
    limiter = running.application.bot.rate_limiter
    assert isinstance(limiter, PriorityRateLimiter)
    return limiter


async def start(tg: FakeTelegram, user_id: int) -> None:
    tg.private_chat(user_id, "Ada" if user_id == ADA else "Bob")
    count = len(tg.sent(user_id))
    await tg.send_text(user_id, user_id, "/start")
    await tg.wait_for_messages(user_id, count + 1)


async def ask_question(tg: FakeTelegram, user_id: int) -> SentMessage:
    """/question, and the question message once it arrived."""
    count = len(tg.sent(user_id))
    await tg.send_text(user_id, user_id, "/question")
    await tg.wait_for(
        lambda: any("Question of the day" in (m.text or "") for m in tg.sent(user_id)[count:]),
        what="the question",
    )
    return next(m for m in tg.sent(user_id)[count:] if "Question of the day" in (m.text or ""))


def button(message: SentMessage, label: str) -> str:
    """The data of the button called ``label`` (grade buttons may add " · 2d")."""
    data = next(
        (d for text, d in message.buttons if text == label or text.startswith(f"{label} · ")),
        None,
    )
    assert data is not None, f"no {label!r} button on {message.buttons}"
    return data


async def reveal(
    tg: FakeTelegram, chat_id: int, user_id: int, question: SentMessage
) -> SentMessage:
    """Tap Show answer and return the model answer message."""
    await tg.press(chat_id, user_id, question.message_id, button(question, "Show answer"))
    await tg.wait_for(lambda: len(answers(tg, chat_id)) == 1, what="the model answer")
    return answers(tg, chat_id)[0]


def answers(tg: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in tg.sent(chat_id) if "Model answer" in (m.text or "")]


def toasts(tg: FakeTelegram, query_id: str) -> list[str]:
    return [a.text or "" for a in tg.callback_answers if a.query_id == query_id]


async def count(running: RunningBot, model: Any, *conditions: Any) -> int:
    async with running.services.sessions() as session:
        value = await session.scalar(select(func.count()).select_from(model).where(*conditions))
    return int(value or 0)


async def subscribe_due_chats(running: RunningBot, tg: FakeTelegram) -> None:
    """Chats due at 09:00 today, written straight to the database (cheaper than /start)."""
    async with running.services.sessions() as session, session.begin():
        for chat_id in DUE_CHATS:
            tg.private_chat(chat_id, "P").seen = True
            await people.upsert_person(
                chat_id, session=session, first_name="P", username=None, timezone="UTC", now=START
            )
            settings = ChatSettings(
                chat_id=chat_id,
                kind="private",
                schedule=Schedule(local_time=time(9, 0), timezone="UTC", days=frozenset(range(7))),
                decks=("ml", "nlp"),
                next_due_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            )
            await chat_store.save_chat(settings, session=session, now=START)


# -- replies first ---------------------------------------------------------------------------

RATE = 5  # messages a second: 20 due chats take four windows


async def test_a_reply_overtakes_the_queued_broadcast(
    tg: PeakTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    settings = test_settings(tg.api_root, database.url, send_rate_limit=RATE)
    async with running_bot(settings, clock) as running, contextlib.AsyncExitStack() as stack:
        # Before the bot stops, even if the test fails: nothing left held on the fake.
        stack.callback(tg.release_all)
        limiter = limiter_of(running)
        await start(tg, ADA)
        question = await ask_question(tg, ADA)
        await subscribe_due_chats(running, tg)
        due = set(DUE_CHATS)

        def broadcast_arrived() -> int:
            return sum(1 for a in tg.arrivals if a.is_send and a.chat_id in due)

        def answer_index() -> int | None:
            return next(
                (
                    index
                    for index, a in enumerate(tg.arrivals)
                    if a.chat_id == ADA and a.is_send and "Model answer" in a.text
                ),
                None,
            )

        # The broadcast's first RATE sends get no response until released: a full window
        # of sends in flight, so nothing more may go, whatever the time (a send's place in
        # the window dates from its response). Without it, the reply sometimes found a
        # place free (the broadcast is paced just under the budget) and went at once.
        first = tg.hold(
            lambda method, params: method in SENDS and _int(params.get("chat_id")) in due,
            count=RATE,
        )
        clock.set(DUE_MINUTE)
        # The broadcast has started and is queued at the limit, its sends in flight held.
        await tg.wait_for(
            lambda: len(first.held) == RATE and limiter.waiting(Traffic.BROADCAST) > 0,
            what="the broadcast queued at the limit",
        )
        await tg.press(ADA, ADA, question.message_id, button(question, "Show answer"))
        # The reply waits for the budget. The limiter has no event to wait on: poll it
        # every loop turn, so the check runs right after the request queued.
        async with asyncio.timeout(10):
            while limiter.waiting(Traffic.INTERACTIVE) == 0 and answer_index() is None:  # noqa: ASYNC110
                await asyncio.sleep(0)
        assert answer_index() is None, "the reply did not wait: the broadcast was not at the limit"
        snapshot = len(tg.arrivals)
        assert limiter.waiting(Traffic.BROADCAST) > 0
        first.release.set()

        await tg.wait_for(lambda: answer_index() is not None, timeout=10, what="the answer")
        index = answer_index()
        assert index is not None
        overtaking = [
            a.chat_id for a in tg.arrivals[snapshot:index] if a.is_send and a.chat_id in due
        ]
        # Every send granted before the reply started waiting had arrived (and was held):
        # no broadcast send may arrive between then and the reply.
        assert overtaking == [], f"{len(overtaking)} broadcast sends went before the reply"
        answer = tg.sends_to(ADA)[-1]
        assert "Again" in str(answer.params.get("reply_markup")), "the grade buttons came with it"

        # The broadcast then completes: one question for every chat.
        await tg.wait_for(
            lambda: broadcast_arrived() == len(due), timeout=20, what="the whole broadcast"
        )
        later = [a for a in tg.arrivals[index:] if a.is_send and a.chat_id in due]
        assert later, "the broadcast's remaining messages came after the reply"
        per_chat = {chat_id: len(tg.sends_to(chat_id)) for chat_id in DUE_CHATS}
        assert per_chat == dict.fromkeys(DUE_CHATS, 1)
        await tg.wait_for(lambda: limiter.waiting() == 0, timeout=10, what="an idle limiter")
        assert await count(running, DeliveryRow, DeliveryRow.daily_on == TODAY) == len(due) + 1
        assert len(tg.sends_to(ADA)) == 3, "welcome, question, answer; nothing twice"
        assert all(r.status == 200 for m in SENDS for r in tg.calls(m))


# -- per-chat order under concurrency --------------------------------------------------------


async def test_one_chat_in_order_other_chats_meanwhile(
    tg: PeakTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    settings = test_settings(tg.api_root, database.url, send_rate_limit=30)
    async with running_bot(settings, clock):
        tg.private_chat(ADA, "Ada")
        tg.private_chat(BOB, "Bob")
        held = tg.hold(send_to(ADA))  # Ada's first reply is slow to be answered
        await tg.send_text(ADA, ADA, "/help")
        await tg.send_text(ADA, ADA, "/nonsense")
        await tg.send_text(BOB, BOB, "/help")
        await tg.wait_for(lambda: len(held.held) == 1, what="Ada's first reply held")
        # Bob is answered while Ada's first update is still running...
        await tg.wait_for(lambda: len(tg.sent(BOB)) == 1, what="Bob's reply meanwhile")
        assert "Commands" in (tg.sent(BOB)[0].plain_text or "")
        await tg.wait_until_consumed()
        # ...and Ada's second update waits for her first.
        assert [a.text for a in tg.sends_to(ADA)] == [held.held[0].text]
        assert "Commands" in held.held[0].text
        held.release.set()
        await tg.wait_for(lambda: len(tg.sent(ADA)) == 2, what="both of Ada's replies")
        replies = [m.plain_text or "" for m in tg.sent(ADA)]
        assert "Commands" in replies[0]
        assert "I don't know that command" in replies[1]
        assert [a.text for a in tg.sends_to(ADA)] == [m.text for m in tg.sent(ADA)], (
            "Telegram saw them in that order"
        )


# -- races -----------------------------------------------------------------------------------


@pytest.fixture
async def bot(
    tg: PeakTelegram, database: TestDatabase, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    settings = test_settings(tg.api_root, database.url, send_rate_limit=0)
    async with running_bot(settings, clock) as running:
        try:
            yield running
        finally:
            tg.release_all()  # a failed test must not leave the bot waiting on the fake


async def test_double_tap_on_show_answer_posts_it_once(tg: PeakTelegram, bot: RunningBot) -> None:
    await start(tg, ADA)
    question = await ask_question(tg, ADA)
    held = tg.hold(send_to(ADA, "Model answer"))
    first = await tg.press(ADA, ADA, question.message_id, button(question, "Show answer"))
    second = await tg.press(ADA, ADA, question.message_id, button(question, "Show answer"))
    await tg.wait_for(lambda: len(held.held) == 1, what="the first tap's answer held")
    await tg.wait_until_consumed()
    assert toasts(tg, second) == [], "the second tap waits for the first (same chat)"
    held.release.set()
    await tg.wait_for(lambda: len(toasts(tg, second)) == 1, what="the second tap's toast")
    await tg.wait_for(lambda: len(toasts(tg, first)) == 1, what="the first tap's toast")
    assert "already above" in toasts(tg, second)[0]
    order = [a.query_id for a in tg.callback_answers]
    assert order.index(first) < order.index(second), "the taps were handled one after the other"
    assert len(answers(tg, ADA)) == 1
    assert len([a for a in tg.sends_to(ADA) if "Model answer" in a.text]) == 1
    async with bot.services.sessions() as session:
        delivery = await session.scalar(select(DeliveryRow).where(DeliveryRow.chat_id == ADA))
    assert delivery is not None
    assert delivery.revealed_at is not None
    assert delivery.answer_message_id == answers(tg, ADA)[0].message_id


async def test_double_tap_on_a_grade_records_one_review(tg: PeakTelegram, bot: RunningBot) -> None:
    await start(tg, ADA)
    question = await ask_question(tg, ADA)
    answer = await reveal(tg, ADA, ADA, question)
    good = button(answer, "Good")
    first_query: list[str] = []
    held = tg.hold(
        lambda m, p: m == "answerCallbackQuery" and p.get("callback_query_id") in first_query
    )
    first_query.append(await tg.press(ADA, ADA, answer.message_id, good))
    second = await tg.press(ADA, ADA, answer.message_id, good)
    await tg.wait_for(lambda: len(held.held) == 1, what="the first grade's toast held")
    await tg.wait_until_consumed()
    held.release.set()
    await tg.wait_for(lambda: len(toasts(tg, second)) == 1, what="the second grade's toast")
    assert "Saved: Good" in toasts(tg, first_query[0])[0]
    assert "Already graded" in toasts(tg, second)[0]
    order = [a.query_id for a in tg.callback_answers]
    assert order.index(first_query[0]) < order.index(second)
    assert await count(bot, ReviewRow) == 1
    assert await count(bot, CardRow) == 1


async def join_group(tg: FakeTelegram) -> None:
    tg.group(GROUP, "ML study group")
    tg.ensure_user(ADMIN, "Ada")
    tg.ensure_user(CAROL, "Carol")
    tg.ensure_user(DAN, "Dan")
    tg.set_member_status(GROUP, ADMIN, "administrator")
    for member in (CAROL, DAN):
        tg.set_member_status(GROUP, member, "member")
    await tg.add_bot_to_group(GROUP, by_user_id=ADMIN)
    await tg.wait_for(lambda: len(tg.sent(GROUP)) == 1, what="the group greeting")


async def test_two_members_grade_the_same_group_answer_at_once(
    tg: PeakTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await join_group(tg)
    clock.set(DUE_MINUTE)
    await tg.wait_for(
        lambda: any("Question of the day" in (m.text or "") for m in tg.sent(GROUP)),
        what="the group's question",
    )
    question = next(m for m in tg.sent(GROUP) if "Question of the day" in (m.text or ""))
    answer = await reveal(tg, GROUP, CAROL, question)
    good = button(answer, "Good")
    carols: list[str] = []
    held = tg.hold(lambda m, p: m == "answerCallbackQuery" and p.get("callback_query_id") in carols)
    carols.append(await tg.press(GROUP, CAROL, answer.message_id, good))
    dans = await tg.press(GROUP, DAN, answer.message_id, good)
    await tg.wait_for(lambda: len(held.held) == 1, what="Carol's toast held")
    await tg.wait_until_consumed()
    held.release.set()
    await tg.wait_for(lambda: len(toasts(tg, dans)) == 1, what="Dan's toast")
    assert "Saved for you, Carol" in toasts(tg, carols[0])[0]
    assert "Saved for you, Dan" in toasts(tg, dans)[0]
    async with bot.services.sessions() as session:
        reviews = (await session.scalars(select(ReviewRow))).all()
    assert sorted(r.person_id for r in reviews) == [CAROL, DAN]
    assert await count(bot, CardRow) == 2
    assert await count(bot, PersonRow, PersonRow.id.in_([CAROL, DAN])) == 2


async def test_question_command_while_the_dispatcher_sends_the_same_chat(
    tg: PeakTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    """The dispatcher committed Ada's daily delivery and is sending it when she asks."""
    await start(tg, ADA)
    held = tg.hold(send_to(ADA, "Question of the day"))
    clock.set(DUE_MINUTE)
    await tg.wait_for(lambda: len(held.held) == 1, what="the dispatcher's send held")
    await tg.send_text(ADA, ADA, "/question")
    await tg.wait_for(lambda: len(tg.sends_to(ADA)) == 3, what="the /question reply")
    held.release.set()
    await tg.wait_for(lambda: len(tg.sent(ADA)) == 3, what="both sends answered")
    await asyncio.sleep(0.3)  # a few more dispatcher ticks: nothing more may come
    cards = [m.plain_text for m in tg.sent(ADA)[1:]]
    assert all("Question of the day" in (card or "") for card in cards), (
        "/question answers with today's question (not an error)",
        cards,
    )
    assert len(set(cards)) == 1, "the same question, not a second one"
    assert await count(bot, DeliveryRow, DeliveryRow.chat_id == ADA) == 1
    assert await count(bot, DeliveryRow, DeliveryRow.daily_on == TODAY) == 1


async def test_dispatcher_while_the_question_command_sends(
    tg: PeakTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    """Ada's /question committed today's delivery and is being sent at the due minute."""
    await start(tg, ADA)
    await start(tg, BOB)  # due at the same minute: proves the dispatcher ran meanwhile
    held = tg.hold(send_to(ADA, "Question of the day"))
    # Seconds before the minute: the delivery's lease (60 s) still runs at the minute,
    # so the dispatcher does not take the held send for a lost one.
    clock.set(DUE_MINUTE - timedelta(seconds=10))
    await tg.send_text(ADA, ADA, "/question")
    await tg.wait_for(lambda: len(held.held) == 1, what="/question's send held")
    clock.set(DUE_MINUTE)
    await tg.wait_for(
        lambda: any("Question of the day" in (m.text or "") for m in tg.sent(BOB)),
        what="the dispatcher's tick (Bob's question)",
    )
    await asyncio.sleep(0.3)  # a few more ticks
    assert len(tg.sends_to(ADA)) == 2, "the dispatcher sent Ada nothing"
    held.release.set()
    await tg.wait_for(lambda: len(tg.sent(ADA)) == 2, what="Ada's question")
    assert await count(bot, DeliveryRow, DeliveryRow.chat_id == ADA) == 1
    assert await count(bot, DeliveryRow, DeliveryRow.daily_on == TODAY) == 2


async def no_data_about(running: RunningBot, person: int) -> None:
    assert await count(running, PersonRow, PersonRow.id == person) == 0
    assert await count(running, ChatRow, ChatRow.id == person) == 0
    assert await count(running, DeliveryRow, DeliveryRow.chat_id == person) == 0
    assert await count(running, ReviewRow, ReviewRow.person_id == person) == 0
    assert await count(running, CardRow, CardRow.person_id == person) == 0


async def forget_prompt(tg: FakeTelegram) -> SentMessage:
    count_before = len(tg.sent(ADA))
    await tg.send_text(ADA, ADA, "/forget")
    await tg.wait_for_messages(ADA, count_before + 1)
    prompt = tg.sent(ADA)[-1]
    assert "Are you sure" in (prompt.plain_text or "")
    return prompt


async def test_grade_then_forget(tg: PeakTelegram, bot: RunningBot) -> None:
    await start(tg, ADA)
    question = await ask_question(tg, ADA)
    answer = await reveal(tg, ADA, ADA, question)
    prompt = await forget_prompt(tg)
    grades: list[str] = []
    held = tg.hold(lambda m, p: m == "answerCallbackQuery" and p.get("callback_query_id") in grades)
    grades.append(await tg.press(ADA, ADA, answer.message_id, button(answer, "Good")))
    forget = await tg.press(ADA, ADA, prompt.message_id, button(prompt, "Yes, delete everything"))
    await tg.wait_for(lambda: len(held.held) == 1, what="the grade's toast held")
    await tg.wait_until_consumed()
    held.release.set()
    await tg.wait_for(lambda: toasts(tg, forget) == ["Deleted."], what="forget confirmed")
    assert "Saved: Good" in toasts(tg, grades[0])[0]
    await no_data_about(bot, ADA)
    assert all(r.status == 200 for r in tg.requests if r.method != "getUpdates")


async def test_forget_then_grade(tg: PeakTelegram, bot: RunningBot) -> None:
    await start(tg, ADA)
    question = await ask_question(tg, ADA)
    answer = await reveal(tg, ADA, ADA, question)
    prompt = await forget_prompt(tg)
    forgets: list[str] = []
    held = tg.hold(
        lambda m, p: m == "answerCallbackQuery" and p.get("callback_query_id") in forgets
    )
    forgets.append(
        await tg.press(ADA, ADA, prompt.message_id, button(prompt, "Yes, delete everything"))
    )
    grade = await tg.press(ADA, ADA, answer.message_id, button(answer, "Good"))
    await tg.wait_for(lambda: len(held.held) == 1, what="the forget's toast held")
    await tg.wait_until_consumed()
    held.release.set()
    await tg.wait_for(lambda: len(toasts(tg, grade)) == 1, what="the grade's toast")
    assert "no longer available" in toasts(tg, grade)[0]
    await no_data_about(bot, ADA)
    assert all(r.status == 200 for r in tg.requests if r.method != "getUpdates")
