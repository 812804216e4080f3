"""Random valid updates through the real Application and the fake Bot API.

A seeded generator (``FUZZ_SEED``, ``FUZZ_UPDATES`` to run more) plays people and groups:
commands with odd arguments, plain and replying text, button presses (real, replayed,
forged, on deleted messages, from other chats), edits, media, service messages, the bot
added to and removed from a group, blocked and unblocked, and the clock moving on. Then:

- no unhandled error (nothing logged at ERROR, no traceback);
- no request Telegram would refuse, but for three the bot cannot foresee: a 403 from a
  chat that blocked or removed the bot; "message is not modified" when a button was
  pressed twice before the first press was handled (both presses carry the message
  as it was; the second edit cannot know the first one made it so; a press on a
  message that already shows the outcome sends no edit at all); and "message to edit
  not found" for a message deleted after the press (a press on a deleted message
  edits nothing);
- every callback query answered exactly once.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.support.bot_harness import FakeClock, RunningBot
from tests.support.fake_telegram import FakeTelegram, RecordedRequest, SentMessage

SEED = int(os.environ.get("FUZZ_SEED", "20261205"))
STEPS = int(os.environ.get("FUZZ_UPDATES", "500"))
BURST = 6

PEOPLE = (1001, 1002, 1003)
GROUP = -100777  # the bot is added at the start
OTHER_GROUP = -100888  # the bot comes and goes
COMMANDS = (
    "start",
    "help",
    "question",
    "today",
    "next",
    "more",
    "answer",
    "quiz",
    "top",
    "leaderboard",
    "weak",
    "remind",
    "settings",
    "time",
    "timezone",
    "tz",
    "days",
    "topics",
    "decks",
    "pause",
    "resume",
    "forget",
    "export",
    "nosuchcommand",
)
RARE_COMMANDS = ("stats",)  # a picture: slow to draw, so less often
ODD_ARGUMENTS = (
    "",
    "0",
    "-1",
    "²",
    "٣",
    "9" * 5000,
    "x" * 4000,
    "transformers " * 320,
    "<b>bold</b> & <i>",
    "🙂" * 300,
    "\u202eevil",
    "a\nb",
    "@InterviewTestBot",
    "nlp 10",
    "nlp 0",
    "nlp 99",
    "ml",
    "#attention 2",
    "stop",
    "off",
    "on",
    "25:99",
    "9pm",
    "noon",
    "UTC+14",
    "UTC-13",
    "Mars/Olympus",
    "Europe/Berlin",
    "mon-sun",
    "every day",
    "weekdays",
    "' OR 1=1 --",
)
TEXTS = (
    "hello",
    "Bias is error from wrong assumptions; variance is sensitivity to noise.",
    "x" * 4096,
    "/",
    "//",
    "🙂",
    "<script>alert(1)</script>",
)
MEDIA: tuple[dict[str, Any], ...] = (
    {
        "sticker": {
            "file_id": "CAACAgIAAxkBAAIB",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    {
        "photo": [
            {"file_id": "AgACAgIAAxkBAAIC", "file_unique_id": "AQADp", "width": 90, "height": 90}
        ],
        "caption": "/next",
    },
    {"document": {"file_id": "BQACAgIAAxkBAAID", "file_unique_id": "AgADdoc"}},
    {"voice": {"file_id": "AwACAgIAAxkBAAIE", "file_unique_id": "AgADvoice", "duration": 3}},
    {"contact": {"phone_number": "+10000000000", "first_name": "Zed"}},
    {"dice": {"emoji": "🎲", "value": 3}},
)
DOCUMENTS: tuple[tuple[str, bytes], ...] = (
    ("deck.csv", b"question,answer\nWhat is a tensor?,An n-dimensional array.\n"),
    ("broken.csv", b"question,reply\nWhat?,That.\n"),
    ("notes.txt", b"hello"),
)
_NUMBER = re.compile(r"\d+")


class Fuzzer:
    """The random world: who does what where, and what the bot may be refused for."""

    def __init__(self, tg: FakeTelegram, bot: RunningBot, rng: random.Random) -> None:
        self.tg = tg
        self.bot = bot
        self.rng = rng
        self.queries: list[str] = []
        self.user_texts: list[tuple[int, int]] = []  # (chat, message id) of people's texts
        self.unreachable: set[int] = set()  # chats that blocked or removed the bot at some time
        self.deleted: set[tuple[int, int]] = set()  # bot messages the person deleted
        self.actions: Counter[str] = Counter()

    # -- the world ------------------------------------------------------------------------

    def chats(self) -> list[int]:
        """Chats someone can write in now (the bot is in the groups)."""
        out = list(PEOPLE)
        for group in (GROUP, OTHER_GROUP):
            if self.tg.chat(group).status_of(self.tg.bot_user.id) not in {"left", "kicked"}:
                out.append(group)
        return out

    def writer(self, chat_id: int) -> int:
        return chat_id if chat_id > 0 else self.rng.choice(PEOPLE)

    def argument(self) -> str:
        if self.rng.random() < 0.7:
            return self.rng.choice(ODD_ARGUMENTS)
        words = ["nlp", "ml", "attention", "9:30", "off", "Berlin", "fri", "2", "stop"]
        return " ".join(self.rng.choices(words, k=self.rng.randint(1, 3)))

    def command_text(self) -> str:
        name = self.rng.choice(RARE_COMMANDS if self.rng.random() < 0.03 else COMMANDS)
        suffix = self.rng.choice(("", "", "", "@InterviewTestBot", "@OtherBot"))
        argument = self.argument() if self.rng.random() < 0.6 else ""
        return f"/{name}{suffix} {argument}".rstrip()

    # -- actions --------------------------------------------------------------------------

    async def command(self) -> None:
        chat = self.rng.choice(self.chats())
        sent = await self.tg.send_text(chat, self.writer(chat), self.command_text())
        self.user_texts.append((chat, sent["message_id"]))

    async def text(self) -> None:
        chat = self.rng.choice(self.chats())
        reply_to = None
        bot_messages = [m for m in self.tg.sent(chat) if not m.deleted]
        if bot_messages and self.rng.random() < 0.5:
            reply_to = self.rng.choice(bot_messages).message_id
        text = self.rng.choice((*TEXTS, self.argument() or "hi"))
        sent = await self.tg.send_text(chat, self.writer(chat), text, reply_to_message_id=reply_to)
        self.user_texts.append((chat, sent["message_id"]))

    def _with_buttons(self, chat: int) -> list[SentMessage]:
        return [m for m in self.tg.sent(chat) if any(data for _, data in m.buttons)]

    async def press(self) -> None:
        """A real button; sometimes forged data, or another chat's button."""
        chat = self.rng.choice((*PEOPLE, GROUP, OTHER_GROUP))
        candidates = self._with_buttons(chat)
        if not candidates:
            return
        message = self.rng.choice(candidates)
        data = self.rng.choice([d for _, d in message.buttons if d])
        roll = self.rng.random()
        if roll < 0.15:
            data = _NUMBER.sub(lambda _: str(self.rng.choice((0, 1, 2, 3, 9, 999999))), data)
        elif roll < 0.2:
            data = self.rng.choice(("v1:zz", "v2:r:1", "x" * 64, "v1:g:1:9", "v1:qp:deck:nope"))
        elif roll < 0.3:
            others = [m for c in PEOPLE for m in self._with_buttons(c) if c != chat]
            if others:
                data = self.rng.choice([d for _, d in self.rng.choice(others).buttons if d])
        presser = chat if chat > 0 else self.rng.choice(PEOPLE)
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):  # replayed: the same button again
            self.queries.append(await self.tg.press(chat, presser, message.message_id, data))

    async def edit(self) -> None:
        if not self.user_texts:
            return
        chat, message_id = self.rng.choice(self.user_texts)
        if chat not in self.chats():
            return
        text = self.command_text() if self.rng.random() < 0.6 else self.rng.choice(TEXTS)
        await self.tg.edit_text(chat, message_id, text)

    async def media(self) -> None:
        chat = self.rng.choice(self.chats())
        if self.rng.random() < 0.2:
            latitude = self.rng.uniform(-89.0, 89.0)
            longitude = self.rng.uniform(-179.0, 179.0)
            await self.tg.send_location(chat, self.writer(chat), latitude, longitude)
            return
        content = self.rng.choice(MEDIA)
        if "document" in content:
            # A file a person really sent (a file id Telegram knows): a deck, a broken
            # deck or something else, captioned /decks half the time.
            name, data = self.rng.choice(DOCUMENTS)
            caption = "/decks" if self.rng.random() < 0.5 else None
            await self.tg.send_document(chat, self.writer(chat), data, name, caption=caption)
            return
        await self.tg.send_content(chat, self.writer(chat), content)

    async def membership(self) -> None:
        tg, roll = self.tg, self.rng.random()
        other = tg.chat(OTHER_GROUP)
        if roll < 0.3:
            if other.status_of(tg.bot_user.id) in {"left", "kicked"}:
                await tg.add_bot_to_group(OTHER_GROUP, self.rng.choice(PEOPLE))
            else:
                self.unreachable.add(OTHER_GROUP)
                await tg.remove_bot_from_group(OTHER_GROUP, self.rng.choice(PEOPLE))
        elif roll < 0.5:
            person = self.rng.choice(PEOPLE)
            if tg.chat(person).blocked:
                tg.unblock(person)
            else:
                self.unreachable.add(person)
                tg.block(person, notify=True)
        elif roll < 0.7:
            group = self.rng.choice([c for c in self.chats() if c < 0] or [GROUP])
            if group in self.chats():
                member = tg.ensure_user(self.rng.choice((2001, 2002))).payload()
                change = self.rng.choice(("new_chat_members", "left_chat_member"))
                value = [member] if change == "new_chat_members" else member
                await tg.send_content(group, self.rng.choice(PEOPLE), {change: value})
        else:
            status = self.rng.choice(("member", "administrator", "creator"))
            tg.set_member_status(GROUP, self.rng.choice(PEOPLE), status)

    async def delete(self) -> None:
        chat = self.rng.choice(PEOPLE)
        messages = [m for m in self.tg.sent(chat) if not m.deleted]
        if messages:
            message_id = self.rng.choice(messages).message_id
            self.deleted.add((chat, message_id))
            self.tg.delete_message(chat, message_id)

    def time_passes(self) -> None:
        clock: FakeClock = self.bot.clock
        if self.rng.random() < 0.2:
            clock.advance(timedelta(days=1, minutes=self.rng.randint(0, 600)))
        else:
            clock.advance(timedelta(seconds=self.rng.randint(1, 120)))

    async def step(self) -> None:
        actions: list[tuple[float, Callable[[], Awaitable[None]]]] = [
            (0.34, self.command),
            (0.14, self.text),
            (0.28, self.press),
            (0.1, self.edit),
            (0.06, self.media),
            (0.05, self.membership),
            (0.03, self.delete),
        ]
        action = self.rng.choices([a for _, a in actions], weights=[w for w, _ in actions])[0]
        self.actions[action.__name__] += 1
        await action()

    async def settle(self) -> None:
        """Until every update is fetched and handled."""
        processor = self.bot.application.update_processor
        await self.tg.wait_for(
            lambda: self.tg.pending_updates == 0 and processor.current_concurrent_updates == 0,
            timeout=30,
            what="the bot idle",
        )


async def test_random_valid_updates_give_no_error_no_refusal_and_one_answer_per_press(
    tg: FakeTelegram, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rng = random.Random(SEED)
    for person in PEOPLE:
        tg.private_chat(person, f"P{person}")
    tg.group(GROUP, "Fuzz group")
    tg.group(OTHER_GROUP, "Other group")
    await tg.add_bot_to_group(GROUP, PEOPLE[0])
    fuzz = Fuzzer(tg, bot, rng)
    for person in PEOPLE:
        await tg.send_text(person, person, "/start")
    for index in range(STEPS):
        await fuzz.step()
        if index % BURST == BURST - 1:
            await fuzz.settle()
            if rng.random() < 0.3:
                fuzz.time_passes()
    await fuzz.settle()

    errors = [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info
    ]
    refused = [
        f"{r.method} {r.status} {r.description} {str(r.params)[:160]}"
        for r in tg.requests
        if r.status != 200
        and r.method != "getUpdates"
        and not (r.status == 403 and _chat_of(r.params) in fuzz.unreachable)
        and not _not_modified(r)
        and not (
            _edit_not_found(r) and (_chat_of(r.params), r.params.get("message_id")) in fuzz.deleted
        )
    ]
    answers = Counter(str(r.params["callback_query_id"]) for r in tg.calls("answerCallbackQuery"))
    not_once = [f"{query}: {answers[query]}" for query in fuzz.queries if answers[query] != 1]
    report = {"errors logged": errors, "requests refused": refused, "not answered once": not_once}
    assert not any(report.values()), f"seed {SEED}, {STEPS} steps:\n" + "\n".join(
        f"{what} ({len(items)}):\n  " + "\n  ".join(items) for what, items in report.items()
    )
    assert len(fuzz.queries) > STEPS // 10, fuzz.actions


def _not_modified(request: RecordedRequest) -> bool:
    """A "not modified" answer to an edit (see the module docstring)."""
    return request.method.startswith("editMessage") and "not modified" in (
        request.description or ""
    )


def _edit_not_found(request: RecordedRequest) -> bool:
    return request.method.startswith("editMessage") and "not found" in (request.description or "")


def _chat_of(params: dict[str, Any]) -> int | None:
    value = params.get("chat_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
