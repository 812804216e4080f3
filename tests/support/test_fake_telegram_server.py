"""The benchmarks' fake (tests/support/fake_telegram_server.py) speaks the driver's protocol.

The benchmark drivers read their figures from the control endpoints: which request carried
a question or an answer, when each update was handed over, how many 429s the flood limits
gave. A wrong record would make a benchmark report wrong latencies, so the protocol is
exercised here through a real PTB ``Bot`` and plain HTTP, as the drivers use it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, RetryAfter

from tests.support.bot_token import TOKEN
from tests.support.fake_telegram import SECRET_HEADER, FakeTelegram
from tests.support.fake_telegram_server import FakeTelegramServer

CHAT = 5001
SHOW_ANSWER = InlineKeyboardMarkup([[InlineKeyboardButton("Show answer", callback_data="v1:r:7")]])
GRADES = InlineKeyboardMarkup([[InlineKeyboardButton("Good", callback_data="v1:g:7:3")]])


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    fake = FakeTelegramServer(limits=False)
    async with fake.tg:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def control(
    http: aiohttp.ClientSession, server: FakeTelegramServer, action: str, body: object = None
) -> Any:
    url = f"{server.tg.api_root}/control/{action}"
    async with http.post(url, json=body) as response:
        assert response.status == 200
        return await response.json()


def _message_update(chat_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "B"}
    chat = {"id": chat_id, "type": "private", "first_name": "B"}
    return {"message": {"message_id": 10, "date": 0, "chat": chat, "from": user, "text": text}}


async def test_lean_mode_answers_chats_the_fake_never_saw() -> None:
    """The benchmarks seed chats straight into the database; the validating fake refuses
    them (Telegram's rule), the lean one answers with a well-formed message."""
    async with FakeTelegram(TOKEN) as strict, strict.make_bot() as bot:
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(CHAT, "Question")
    async with FakeTelegram(TOKEN, validate=False) as lean, lean.make_bot() as bot:
        sent = await bot.send_message(CHAT, "Question", reply_markup=SHOW_ANSWER)
        edited = await bot.edit_message_text("Answer", chat_id=CHAT, message_id=100)
    assert (sent.message_id, sent.chat.id, sent.text, sent.reply_markup) == (
        1_000_001,
        CHAT,
        "Question",
        SHOW_ANSWER,
    )
    assert (edited.message_id, edited.text) == (100, "Answer")  # type: ignore[union-attr]


async def test_the_log_tags_questions_answers_and_callbacks(
    server: FakeTelegramServer, http: aiohttp.ClientSession
) -> None:
    async with server.tg.make_bot() as bot:
        await bot.send_message(CHAT, "Question", reply_markup=SHOW_ANSWER)
        await bot.send_message(
            CHAT, "Answer", reply_markup=GRADES, reply_parameters=ReplyParameters(55)
        )
        await bot.edit_message_text("Plain", chat_id=CHAT, message_id=56)
        await bot.answer_callback_query("q-1")
        rich = await bot.do_api_request(
            "sendRichMessage",
            api_kwargs={
                "chat_id": CHAT,
                "rich_message": {"html": "<p>Answer</p>"},
                "reply_markup": GRADES,
                "reply_parameters": {"message_id": 57},
            },
        )
    assert isinstance(rich, dict)
    assert "rich_message" in rich
    assert "text" not in rich
    log = (await control(http, server, "log"))["log"]
    assert [record[1:] for record in log] == [
        ["getme", None, 200, "", None],
        ["sendmessage", CHAT, 200, "question", None],
        ["sendmessage", CHAT, 200, "grades", 55],
        ["editmessagetext", CHAT, 200, "text", "56"],
        ["answercallbackquery", None, 200, "callback", "q-1"],
        ["sendrichmessage", CHAT, 200, "grades", 57],
    ]
    assert server.messages_sent() == 3
    async with http.post(f"{server.tg.api_root}/control/log", params={"since": "4"}) as response:
        since = (await response.json())["log"]
    assert since == log[4:]
    times = [record[0] for record in log]
    assert times == sorted(times)
    assert times[-1] <= time.monotonic()


async def test_queued_updates_are_served_by_getupdates_and_logged(
    server: FakeTelegramServer, http: aiohttp.ClientSession
) -> None:
    reply = await control(http, server, "updates", {"updates": [_message_update(CHAT, "/start")]})
    (update_id,) = reply["ids"]
    async with server.tg.make_bot() as bot:
        updates = await bot.get_updates(timeout=0)
    assert [(u.update_id, u.message.text if u.message else None) for u in updates] == [
        (update_id, "/start")
    ]
    async with http.get(f"{server.tg.api_root}/control/updates_log") as response:
        updates_log = await response.json()
    queued, served, endpoint = updates_log[str(update_id)]
    assert (queued, endpoint) == (reply["at"], None)
    assert queued <= served <= time.monotonic()


async def test_limits_switched_on_answer_429_and_are_counted(
    server: FakeTelegramServer, http: aiohttp.ClientSession
) -> None:
    assert await control(http, server, "config", {"limits": True}) == {"limits": True}
    async with server.tg.make_bot() as bot:
        for _ in range(3):  # a private chat's burst
            await bot.send_message(CHAT, "Question")
        with pytest.raises(RetryAfter):
            await bot.send_message(CHAT, "Question")
    log = await control(http, server, "log")
    assert (log["rejected"], log["rejected_by"]) == (1, {"private": 1})
    assert [record[3] for record in log["log"] if record[1] == "sendmessage"] == [200] * 3 + [429]
    assert await control(http, server, "reset") == {"ok": True}
    after = await control(http, server, "log")
    assert (after["log"], after["rejected"], after["rejected_by"]) == ([], 0, {})


async def test_webhook_mode_logs_which_endpoint_took_each_update(
    server: FakeTelegramServer, http: aiohttp.ClientSession
) -> None:
    received: list[tuple[str, dict[str, Any]]] = []

    async def instance(request: web.Request) -> web.Response:
        received.append((request.headers[SECRET_HEADER], await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/tg", instance)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        root = f"http://127.0.0.1:{runner.addresses[0][1]}"
        endpoints = [f"{root}/unused", f"{root}/tg"]
        await control(http, server, "config", {"webhook_endpoints": endpoints})
        async with server.tg.make_bot() as bot:
            await bot.set_webhook("https://bench.example.test/tg", secret_token="s3cret")
        # The fake takes turns over the endpoints: the first (404 here) gets the update
        # first and the second, after the retry, takes it.
        reply = await control(http, server, "updates", {"updates": [_message_update(CHAT, "hi")]})
        (update_id,) = reply["ids"]
        await server.tg.wait_for(lambda: server.tg.pending_updates == 0)
        async with http.get(f"{server.tg.api_root}/control/updates_log") as response:
            queued, served, endpoint = (await response.json())[str(update_id)]
    finally:
        await runner.cleanup()
    assert [(secret, body["update_id"]) for secret, body in received] == [("s3cret", update_id)]
    assert (queued, endpoint) == (reply["at"], 1)
    assert queued <= served
