"""Rich message or HTML (bot/telegram/rich_messages.py) against the fake Bot API, with a
plain PTB ``Bot``: the modes, and which failures are fallbacks and which are not."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, EndPointNotFound, InvalidToken

from bot.telegram.rich_messages import Content, RichMessages, RichMode, send_content
from tests.support.fake_telegram import DEFAULT_TOKEN, FakeTelegram

ADA = 42
RICH = "<p>The loss <tg-math>\\mathcal{L}</tg-math></p>"
HTML = "The loss 𝓛"


def content(calls: list[str] | None = None) -> Content:
    def rich() -> tuple[str, ...]:
        if calls is not None:
            calls.append("rich")
        return (RICH,)

    return Content(what="question q1", html=lambda: (HTML,), rich=rich)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=DEFAULT_TOKEN) as server:
        server.private_chat(ADA)
        await server.send_text(ADA, ADA, "hi")
        yield server


@pytest.fixture
async def fake_bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with tg.make_bot() as bot:
        yield bot


async def test_auto_sends_rich_then_switches_for_good_on_404(
    tg: FakeTelegram, fake_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    rich = RichMessages(RichMode.AUTO)
    first = await send_content(fake_bot, rich, content(), chat_id=ADA)
    assert tg.sent(ADA)[-1].message_id == first
    assert tg.sent(ADA)[-1].method == "sendRichMessage"
    tg.rich_messages = False
    with caplog.at_level(logging.INFO, logger="bot.telegram.rich_messages"):
        await send_content(fake_bot, rich, content(), chat_id=ADA)
        await send_content(fake_bot, rich, content(), chat_id=ADA)
    assert [m.method for m in tg.sent(ADA)[-2:]] == ["sendMessage", "sendMessage"]
    assert len(tg.calls("sendRichMessage")) == 2, "no rich attempt after the switch"
    assert not rich.on
    assert len(caplog.records) == 1


async def test_on_keeps_trying_rich_after_a_404_and_logs_an_error_once(
    tg: FakeTelegram, fake_bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    tg.rich_messages = False
    rich = RichMessages(RichMode.ON)
    with caplog.at_level(logging.INFO, logger="bot.telegram.rich_messages"):
        for _ in range(2):
            await send_content(fake_bot, rich, content(), chat_id=ADA)
    assert [m.method for m in tg.sent(ADA)] == ["sendMessage", "sendMessage"]
    assert len(tg.calls("sendRichMessage")) == 2
    assert rich.on
    assert [r.levelname for r in caplog.records] == ["ERROR"]


async def test_off_never_renders_or_sends_rich(tg: FakeTelegram, fake_bot: Bot) -> None:
    calls: list[str] = []
    await send_content(fake_bot, RichMessages(RichMode.OFF), content(calls), chat_id=ADA)
    assert calls == []
    assert tg.calls("sendRichMessage") == []
    assert tg.sent(ADA)[-1].text == HTML


async def test_a_plain_content_goes_as_html(tg: FakeTelegram, fake_bot: Bot) -> None:
    plain = Content(what="question q2", html=lambda: (HTML,), rich=lambda: None)
    await send_content(fake_bot, RichMessages(), plain, chat_id=ADA)
    assert tg.calls("sendRichMessage") == []
    assert tg.sent(ADA)[-1].method == "sendMessage"


async def test_failures_about_the_chat_or_the_token_are_not_fallbacks(
    tg: FakeTelegram, fake_bot: Bot
) -> None:
    rich = RichMessages()
    tg.fail_next("sendRichMessage", status=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await send_content(fake_bot, rich, content(), chat_id=ADA)
    # PTB reports a 401 of do_api_request as EndPointNotFound, like a 404: the cause tells.
    tg.fail_next("sendRichMessage", status=401, description="Unauthorized")
    with pytest.raises(EndPointNotFound) as raised:
        await send_content(fake_bot, rich, content(), chat_id=ADA)
    assert isinstance(raised.value.__cause__, InvalidToken)
    assert tg.calls("sendMessage") == []
    assert rich.on, "a 401 is not an older server"
