"""The fake Bot API must behave like Telegram, as seen by a real PTB ``Bot``/``Application``.

If the fake were more forgiving than Telegram, end-to-end tests would pass while production
fails; so every rule the fake claims to enforce is exercised here through PTB's own request
encoding and error mapping.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.app import build_application
from tests.support.bot_harness import TOKEN, test_settings
from tests.support.fake_telegram import DEFAULT_TOKEN, DOWNLOAD, FakeTelegram
from tests.support.fake_telegram_spec import spec

ADA = 42
GROUP = -4001
GROUP_A = -4101
GROUP_B = -4102
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Reveal", callback_data="reveal:1")]])


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=DEFAULT_TOKEN) as server:
        yield server


@pytest.fixture
async def fake_bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    """An initialized PTB ``Bot`` on the fake; ``async with`` closes its HTTP clients."""
    async with tg.make_bot() as bot:
        yield bot


async def _started(tg: FakeTelegram, user_id: int = ADA) -> int:
    """A private chat the bot may write to (the user said something first)."""
    tg.private_chat(user_id)
    await tg.send_text(user_id, user_id, "hello")
    return user_id


def _missing_required(obj: dict[str, Any], type_name: str) -> list[str]:
    fields = spec()["types"][type_name]["fields"]
    return [f["name"] for f in fields if f["required"] and f["name"] not in obj]


# -- through a real telegram.Bot ------------------------------------------------------------


async def test_get_me_describes_the_test_bot(fake_bot: Bot) -> None:
    me = await fake_bot.get_me()
    assert (me.id, me.username, me.is_bot) == (999000, "InterviewTestBot", True)


async def test_ptb_posts_form_encoded_bodies_with_json_nested_objects(
    tg: FakeTelegram, fake_bot: Bot
) -> None:
    chat = await _started(tg)
    await fake_bot.send_message(chat, "<b>hi</b>", parse_mode=ParseMode.HTML, reply_markup=KEYBOARD)
    call = tg.calls("sendMessage")[-1]
    assert (call.http_method, call.content_type) == ("POST", "application/x-www-form-urlencoded")
    assert call.params["reply_markup"] == KEYBOARD.to_dict()


async def test_valid_html_is_sent_and_recorded(tg: FakeTelegram, fake_bot: Bot) -> None:
    chat = await _started(tg)
    message = await fake_bot.send_message(
        chat, "<b>Q1</b> x &lt; y &amp; z", parse_mode=ParseMode.HTML, reply_markup=KEYBOARD
    )
    assert message.text == "Q1 x < y & z"
    assert message.reply_markup == KEYBOARD
    [sent] = tg.sent(chat)
    assert sent.message_id == message.message_id
    assert (sent.text, sent.parse_mode) == ("<b>Q1</b> x &lt; y &amp; z", "HTML")
    assert sent.plain_text == "Q1 x < y & z"
    assert sent.buttons == [("Reveal", "reveal:1")]


@pytest.mark.parametrize("text", ["<b>unclosed", "x < y", "<div>block</div>", "<b> </b>"])
async def test_bad_html_is_rejected(tg: FakeTelegram, fake_bot: Bot, text: str) -> None:
    chat = await _started(tg)
    with pytest.raises(BadRequest, match=r"parse entities|text is empty"):
        await fake_bot.send_message(chat, text, parse_mode=ParseMode.HTML)
    assert tg.sent(chat) == []


async def test_length_limit_is_4096_utf16_units(tg: FakeTelegram, fake_bot: Bot) -> None:
    chat = await _started(tg)
    await fake_bot.send_message(chat, "x" * 4096)
    await fake_bot.send_message(chat, "😀" * 2048)  # 2 UTF-16 units each
    for text in ["x" * 4097, "😀" * 2049, "<b>" + "x" * 4097 + "</b>"]:
        with pytest.raises(BadRequest, match="Message is too long"):
            await fake_bot.send_message(chat, text, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await fake_bot.send_message(chat, "   ")


async def test_callback_data_is_limited_to_64_bytes(tg: FakeTelegram, fake_bot: Bot) -> None:
    chat = await _started(tg)
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])
    await fake_bot.send_message(chat, "64 bytes", reply_markup=ok)
    for data in ["x" * 65, "é" * 33]:
        bad = InlineKeyboardMarkup([[InlineKeyboardButton("bad", callback_data=data)]])
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await fake_bot.send_message(chat, "too much data", reply_markup=bad)


async def test_edit_rules_match_telegram(tg: FakeTelegram, fake_bot: Bot) -> None:
    chat = await _started(tg)
    message = await fake_bot.send_message(chat, "question", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="not modified"):
        await fake_bot.edit_message_text(
            "question", chat, message.message_id, reply_markup=KEYBOARD
        )
    with pytest.raises(BadRequest, match="not modified"):
        await fake_bot.edit_message_reply_markup(chat, message.message_id, reply_markup=KEYBOARD)
    edited = await fake_bot.edit_message_text(
        "<i>question</i>", chat, message.message_id, parse_mode=ParseMode.HTML
    )
    assert isinstance(edited, type(message))
    assert edited.edit_date is not None
    [sent] = tg.sent(chat)
    assert (sent.text, sent.reply_markup) == ("<i>question</i>", None)
    assert [e.method for e in sent.edits] == ["editMessageText"]
    user_message = tg.messages_in(chat)[0]["message_id"]
    for message_id in (user_message, 999):
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await fake_bot.edit_message_text("new", chat, message_id)


async def test_delete_then_press_gives_inaccessible_message(
    tg: FakeTelegram, fake_bot: Bot
) -> None:
    chat = await _started(tg)
    message = await fake_bot.send_message(chat, "bye", reply_markup=KEYBOARD)
    assert await fake_bot.delete_message(chat, message.message_id)
    assert tg.sent(chat)[0].deleted
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await fake_bot.delete_message(chat, message.message_id)
    await tg.press(chat, chat, message.message_id, "reveal:1")
    [*_, update] = await fake_bot.get_updates()
    assert update.callback_query is not None
    assert update.callback_query.message is not None
    assert not update.callback_query.message.is_accessible


async def test_answer_callback_query_once_and_short(tg: FakeTelegram, fake_bot: Bot) -> None:
    chat = await _started(tg)
    message = await fake_bot.send_message(chat, "q", reply_markup=KEYBOARD)
    query_id = await tg.press(chat, chat, message.message_id, "forged")
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await fake_bot.answer_callback_query(query_id, text="x" * 201)
    assert await fake_bot.answer_callback_query(query_id, text="ok", show_alert=True)
    with pytest.raises(BadRequest, match="Query is too old"):
        await fake_bot.answer_callback_query(query_id)
    assert tg.callback_answers == [(query_id, "ok", True)]


async def test_reply_parameters_are_checked(tg: FakeTelegram, fake_bot: Bot) -> None:
    chat = await _started(tg)
    hello = tg.messages_in(chat)[0]["message_id"]
    reply = await fake_bot.send_message(chat, "hi", reply_parameters=ReplyParameters(hello))
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "hello"
    assert tg.sent(chat)[0].reply_to_message_id == hello
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await fake_bot.send_message(chat, "hi", reply_parameters=ReplyParameters(12345))


async def test_429_raises_retry_after(
    tg: FakeTelegram, fake_bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else reading retry_after warns (PTB 22)
    chat = await _started(tg)
    tg.fail_next("sendmessage", status=429, retry_after=3, chat_id=chat)
    with pytest.raises(RetryAfter) as caught:
        await fake_bot.send_message(chat, "flood")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    await fake_bot.send_message(chat, "fine again")
    assert [r.status for r in tg.calls("sendMessage")] == [429, 200]


async def test_fault_only_hits_its_chat_and_count(tg: FakeTelegram, fake_bot: Bot) -> None:
    ada, bob = await _started(tg, ADA), await _started(tg, 43)
    tg.fail_next("sendMessage", status=500, times=2, chat_id=bob)
    await fake_bot.send_message(ada, "unaffected")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await fake_bot.send_message(bob, "x")
    await fake_bot.send_message(bob, "recovered")


async def test_blocked_user_and_kicked_bot_give_forbidden(tg: FakeTelegram, fake_bot: Bot) -> None:
    chat = await _started(tg)
    tg.block(chat)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await fake_bot.send_message(chat, "hi")
    tg.unblock(chat)
    await fake_bot.send_message(chat, "hi again")

    tg.group(GROUP, "ML club")
    await tg.add_bot_to_group(GROUP, by_user_id=ADA)
    await fake_bot.send_message(GROUP, "hello group")
    await tg.remove_bot_from_group(GROUP, by_user_id=ADA)
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await fake_bot.send_message(GROUP, "still here?")


async def test_migrated_group_raises_chat_migrated(tg: FakeTelegram, fake_bot: Bot) -> None:
    tg.group(GROUP, "ML club")
    await tg.add_bot_to_group(GROUP, by_user_id=ADA)
    new = await tg.migrate_group(GROUP, -1001234567890, by_user_id=ADA)
    with pytest.raises(ChatMigrated) as caught:
        await fake_bot.send_message(GROUP, "hi")
    assert caught.value.new_chat_id == new.id
    await fake_bot.send_message(new.id, "hi supergroup")
    updates = await fake_bot.get_updates()
    service = [u.message for u in updates if u.message is not None]
    assert service[-2].migrate_to_chat_id == new.id
    assert service[-1].migrate_from_chat_id == GROUP
    tg.fail_next("sendMessage", status=400, migrate_to_chat_id=-1009)
    with pytest.raises(ChatMigrated):
        await fake_bot.send_message(new.id, "armed")


async def test_wrong_token_is_invalid(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with tg.make_bot(token="123456:wrong"):
            pass  # pragma: no cover - initialize() calls getMe and fails
    assert [(r.method, r.status) for r in tg.requests] == [("getMe", 401)]


async def test_unknown_chat_is_not_found(tg: FakeTelegram, fake_bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await fake_bot.send_message(777, "hi")
    tg.private_chat(777)  # known to the world, but the user never wrote to the bot
    with pytest.raises(BadRequest, match="Chat not found"):
        await fake_bot.send_message(777, "hi")


async def test_members_and_administrators(tg: FakeTelegram, fake_bot: Bot) -> None:
    tg.group(GROUP, "ML club", type="supergroup", bot_status="administrator")
    await tg.send_text(GROUP, ADA, "hi")
    for user_id, status in [(1, "creator"), (2, "administrator"), (3, "left"), (4, "kicked")]:
        tg.set_member_status(GROUP, user_id, status)
    tg.ensure_user(5)
    statuses = {u: (await fake_bot.get_chat_member(GROUP, u)).status for u in range(1, 6)}
    assert statuses == {1: "creator", 2: "administrator", 3: "left", 4: "kicked", 5: "member"}
    admins = await fake_bot.get_chat_administrators(GROUP)
    assert sorted(a.user.id for a in admins) == [1, 2, 999000]
    with pytest.raises(BadRequest, match="User not found"):
        await fake_bot.get_chat_member(GROUP, 123456)
    chat = await fake_bot.get_chat(GROUP)
    assert (chat.type, chat.title) == ("supergroup", "ML club")


async def test_commands_are_filed_per_scope(tg: FakeTelegram, fake_bot: Bot) -> None:
    from telegram import BotCommand, BotCommandScopeAllGroupChats

    await fake_bot.set_my_commands([BotCommand("start", "Start")])
    await fake_bot.set_my_commands(
        [BotCommand("today", "Question")], scope=BotCommandScopeAllGroupChats()
    )
    assert tg.commands["default"] == [{"command": "start", "description": "Start"}]
    assert [c.command for c in await fake_bot.get_my_commands()] == ["start"]
    with pytest.raises(BadRequest):
        await fake_bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await fake_bot.delete_my_commands(scope=BotCommandScopeAllGroupChats())
    assert "all_group_chats" not in tg.commands


async def test_results_carry_the_spec_required_fields(tg: FakeTelegram) -> None:
    chat = await _started(tg)
    tg.group(GROUP, "ML club", bot_status="member")
    tg.set_member_status(GROUP, 1, "administrator")
    await tg.send_text(GROUP, 1, "hi")
    url = f"{tg.api_root}/bot{DEFAULT_TOKEN}"
    async with aiohttp.ClientSession() as http:
        me = await _call(http, f"{url}/getMe")
        message = await _call(http, f"{url}/sendMessage", chat_id=chat, text="x")
        info = await _call(http, f"{url}/getChat", chat_id=GROUP)
        admin = await _call(http, f"{url}/getChatMember", chat_id=GROUP, user_id=1)
        webhook = await _call(http, f"{url}/getWebhookInfo")
    assert _missing_required(me, "User") == []
    assert _missing_required(message, "Message") == []
    assert _missing_required(info, "ChatFullInfo") == []
    assert _missing_required(admin, "ChatMemberAdministrator") == []
    assert _missing_required(webhook, "WebhookInfo") == []


async def _call(http: aiohttp.ClientSession, url: str, **params: Any) -> Any:
    async with http.post(url, json=params) as response:
        body = await response.json()
    assert body["ok"], body
    return body["result"]


# -- raw HTTP: encodings, routing, parameter checks --------------------------------------------


async def test_http_encodings_routing_and_parameter_checks(tg: FakeTelegram) -> None:
    chat = await _started(tg)
    url = f"{tg.api_root}/bot{DEFAULT_TOKEN}"
    async with aiohttp.ClientSession() as http:
        cases: list[tuple[str, str, dict[str, Any], int, str]] = [
            ("GET", f"{url}/GETME", {"params": {}}, 200, ""),
            ("GET", f"{url}/sendMessage", {"params": {"chat_id": chat, "text": "q"}}, 200, ""),
            ("POST", f"{url}/sendMessage", {"json": {"chat_id": chat, "text": "j"}}, 200, ""),
            ("POST", f"{url}/sendMessage", {"data": _multipart(chat)}, 200, ""),
            ("POST", f"{url}/noSuchMethod", {}, 404, "Not Found"),
            ("POST", f"{tg.api_root}/bot1:bad/getMe", {}, 401, "Unauthorized"),
            ("POST", f"{url}/sendMessage", {"json": {"chat_id": chat}}, 400, "text is empty"),
            ("POST", f"{url}/sendMessage", {"json": {"text": "x"}}, 400, "chat_id is empty"),
            (
                "POST",
                f"{url}/sendMessage",
                {"json": {"chat_id": chat, "text": "x", "disable_notification": "maybe"}},
                400,
                "must be of type Boolean",
            ),
            ("POST", f"{url}/deleteMessage", {"json": {"chat_id": chat}}, 400, "is required"),
            (
                "POST",
                f"{url}/sendMessage",
                {"data": {"chat_id": str(chat), "text": "x", "reply_markup": "{nope"}},
                400,
                "can't parse reply_markup",
            ),
        ]
        for verb, target, kwargs, status, description in cases:
            async with http.request(verb, target, **kwargs) as response:
                body = await response.json()
            assert response.status == status, (target, kwargs, body)
            assert body["ok"] is (status == 200)
            if status != 200:
                assert body["error_code"] == status
                assert description in body["description"], body


def _multipart(chat: int) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("chat_id", str(chat))
    form.add_field("text", "multipart")
    form.add_field("document", b"bytes", filename="a.txt")
    return form


async def test_get_updates_long_polls_and_offset_confirms(tg: FakeTelegram, fake_bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await fake_bot.get_updates(timeout=1) == ()
    assert loop.time() - started >= 0.9
    with pytest.raises(BadRequest, match=r"(?i)must be of type integer"):
        await fake_bot.get_updates(timeout=0.5)  # type: ignore[arg-type]  # deliberately wrong

    tg.private_chat(ADA)
    poll = asyncio.create_task(fake_bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    await tg.send_text(ADA, ADA, "/start")
    [first] = await asyncio.wait_for(poll, 1)
    assert first.message is not None
    assert first.message.text == "/start"
    assert tg.pending_updates == 1  # delivered, not yet confirmed
    await tg.send_text(ADA, ADA, "second")
    [second] = await fake_bot.get_updates(offset=first.update_id + 1)
    assert second.update_id == first.update_id + 1
    assert tg.pending_updates == 1
    assert await fake_bot.get_updates(offset=second.update_id + 1) == ()
    assert tg.pending_updates == 0


async def test_allowed_updates_filters_and_group_events_parse(
    tg: FakeTelegram, fake_bot: Bot
) -> None:
    tg.group(GROUP, "ML club")
    await tg.add_bot_to_group(GROUP, by_user_id=ADA)
    await tg.send_text(GROUP, ADA, "/today@InterviewTestBot now", anonymous_admin=True)
    updates = await fake_bot.get_updates()
    member, joined, command = updates
    assert member.my_chat_member is not None
    assert member.my_chat_member.old_chat_member.status == "left"
    assert member.my_chat_member.new_chat_member.status == "member"
    assert joined.message is not None
    assert [u.id for u in joined.message.new_chat_members] == [999000]
    message = command.message
    assert message is not None
    assert message.sender_chat is not None
    assert message.sender_chat.id == GROUP
    assert message.from_user is not None
    assert message.from_user.username == "GroupAnonymousBot"
    assert message.entities[0].length == len("/today@InterviewTestBot")

    await tg.remove_bot_from_group(GROUP, by_user_id=ADA, kicked=False)
    await fake_bot.get_updates(offset=command.update_id + 1, allowed_updates=["message"])
    assert tg.pending_updates == 0  # the my_chat_member update was not wanted


# -- through a real Application with long polling --------------------------------------------


async def _ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("pong", reply_markup=KEYBOARD)


async def _button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(f"got {query.data}")
    await query.edit_message_text(f"pressed <b>{query.data}</b>", parse_mode=ParseMode.HTML)


def _application(tg: FakeTelegram) -> Application[Any, Any, Any, Any, Any, Any]:
    app = (
        ApplicationBuilder()
        .token(DEFAULT_TOKEN)
        .base_url(f"{tg.api_root}/bot")
        .base_file_url(f"{tg.api_root}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("ping", _ping))
    app.add_handler(CallbackQueryHandler(_button))
    return app


async def test_application_polls_handles_and_shuts_down_cleanly(tg: FakeTelegram) -> None:
    app = _application(tg)
    tg.private_chat(ADA)
    tg.group(GROUP, "ML club", bot_status="member")
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        await tg.send_text(ADA, ADA, "/ping")
        [pong] = await tg.wait_for_messages(ADA, 1)
        assert pong.text == "pong"

        await tg.send_text(GROUP, ADA, "/ping@SomeOtherBot")
        asked = await tg.send_text(GROUP, ADA, "/ping@InterviewTestBot")
        [group_pong] = await tg.wait_for_messages(GROUP, 1)
        assert group_pong.reply_to_message_id in (None, asked["message_id"])

        query_id = await tg.press(ADA, ADA, pong.message_id, "reveal:1")
        await tg.wait_for(lambda: pong.edits != [], what="the edit after the press")
        assert tg.callback_answers == [(query_id, "got reveal:1", False)]
        assert (pong.plain_text, pong.reply_markup) == ("pressed reveal:1", None)
        await tg.wait_until_consumed()
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert len(tg.sent(GROUP)) == 1
    assert {r.status for r in tg.requests} == {200}


async def test_wait_for_failure_dumps_the_traffic(tg: FakeTelegram, fake_bot: Bot) -> None:
    chat = await _started(tg)
    await fake_bot.send_message(chat, "only one")
    with pytest.raises(AssertionError, match=r"(?s)2 message\(s\).*sendMessage.*only one"):
        await tg.wait_for_messages(chat, 2, timeout=0.05)


# -- files: sendPhoto and sendDocument keep what was uploaded --------------------------------


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()


async def test_send_photo_keeps_the_upload_and_reuses_its_file_id(
    tg: FakeTelegram, fake_bot: Bot
) -> None:
    from telegram import InputFile

    chat = await _started(tg)
    data = _png(1200, 1400)
    message = await fake_bot.send_photo(
        chat, InputFile(data, filename="stats.png"), caption="<b>Stats</b>", parse_mode="HTML"
    )
    assert tg.calls("sendPhoto")[-1].content_type == "multipart/form-data"
    assert message.caption == "Stats"
    largest = message.photo[-1]
    # Telegram keeps photos at most 1280 px on their longer side.
    assert (largest.width, largest.height) == (1097, 1280)
    [sent] = tg.sent(chat, "sendPhoto")
    assert sent.file is not None
    assert sent.file.data == data
    assert sent.file.file_id == largest.file_id
    assert sent.plain_text == "Stats"
    again = await fake_bot.send_photo(chat, largest.file_id)
    assert tg.sent(chat, "sendPhoto")[-1].file == sent.file
    assert again.photo[-1].file_id == largest.file_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await fake_bot.send_photo(chat, "no-such-file-id")
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await fake_bot.send_photo(chat, InputFile(b"not an image", filename="x.png"))
    with pytest.raises(BadRequest, match=r"(?i)photo_invalid_dimensions"):
        await fake_bot.send_photo(chat, InputFile(_png(2100, 100), filename="wide.png"))
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await fake_bot.send_photo(chat, largest.file_id, caption="x" * 1025)


async def test_send_document_keeps_name_type_and_bytes(tg: FakeTelegram, fake_bot: Bot) -> None:
    from telegram import InputFile

    chat = await _started(tg)
    message = await fake_bot.send_document(
        chat, InputFile(b"a,b\n1,2\n", filename="reviews.csv"), caption="Your reviews"
    )
    document = message.document
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "reviews.csv",
        "text/csv",
        8,
    )
    [sent] = tg.sent(chat, "sendDocument")
    assert sent.file is not None
    assert sent.file.data == b"a,b\n1,2\n"
    assert sent.plain_text == "Your reviews"
    with pytest.raises(BadRequest, match=r"(?i)file must be non-empty"):
        await fake_bot.send_document(chat, InputFile(b"", filename="empty.txt"))


# -- files users send: a document update, getFile, then the download endpoint ---------------


async def test_user_document_arrives_and_downloads_through_get_file(
    tg: FakeTelegram, fake_bot: Bot
) -> None:
    data = b"question,answer\nWhat is BPE?,Byte-pair encoding\n"
    tg.private_chat(ADA)
    sent = await tg.send_document(ADA, ADA, data, "nlp.csv", caption="My NLP deck")
    [update] = await fake_bot.get_updates()
    message = update.message
    assert message is not None
    assert message.message_id == sent["message_id"]
    assert message.caption == "My NLP deck"
    assert message.caption_entities == ()
    document = message.document
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "nlp.csv",
        "text/csv",
        len(data),
    )
    assert _missing_required(sent["document"], "Document") == []

    file = await fake_bot.get_file(document.file_id)
    assert file.file_unique_id == document.file_unique_id
    assert file.file_size == len(data)
    # PTB joins the configured base_file_url, the token and file_path: never another host.
    assert file.file_path == f"{tg.api_root}/file/bot{DEFAULT_TOKEN}/documents/file_0.csv"
    assert bytes(await file.download_as_bytearray()) == data
    assert [(c.http_method, c.params, c.status) for c in tg.calls(DOWNLOAD)] == [
        ("GET", {"file_path": "documents/file_0.csv"}, 200)
    ]
    # Asking again gives the same path.
    again = await fake_bot.get_file(document.file_id)
    assert again.file_path == file.file_path


async def test_group_document_with_a_command_caption(tg: FakeTelegram, fake_bot: Bot) -> None:
    tg.group(GROUP, "ML club", bot_status="member")
    await tg.send_document(
        GROUP, ADA, b"deck: {}", "club.yaml", mime_type="application/x-yaml", caption="/decks"
    )
    [update] = await fake_bot.get_updates()
    message = update.message
    assert message is not None
    assert message.chat.id == GROUP
    assert message.from_user is not None
    assert message.from_user.id == ADA
    assert message.caption == "/decks"
    [entity] = message.caption_entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)
    assert message.document is not None
    assert message.document.mime_type == "application/x-yaml"
    file = await fake_bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"deck: {}"


async def test_file_errors_match_telegram(tg: FakeTelegram, fake_bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await fake_bot.get_file("no-such-file")
    with pytest.raises(ValueError, match="empty"):
        tg.upload_file(b"", "empty.csv")
    too_big = tg.upload_file(b"x" * (20 * 1024 * 1024 + 1), "big.csv")
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await fake_bot.get_file(too_big.file_id)
    stored = tg.upload_file(b"a,b\n", "small.csv")
    path = (await fake_bot.get_file(stored.file_id)).file_path
    assert path is not None
    async with aiohttp.ClientSession() as http:
        async with http.get(path) as response:
            assert (response.status, await response.read()) == (200, b"a,b\n")
        wrong_token = path.replace(DEFAULT_TOKEN, "123456:other")
        async with http.get(wrong_token) as response:
            assert response.status == 401
        async with http.get(f"{tg.api_root}/file/bot{DEFAULT_TOKEN}/documents/nope.csv") as r:
            assert r.status == 404
    statuses = [c.status for c in tg.calls(DOWNLOAD)]
    assert statuses == [200, 401, 404]


async def test_the_bot_downloads_from_its_configured_api_url(tmp_path: Path) -> None:
    """build_application derives the file URL from ``telegram_api_url`` (a self-hosted
    server's address), as it does the method URL; the test forbids any other host."""
    async with FakeTelegram(token=TOKEN) as tg:
        await _download_with_the_application(tg, tmp_path)


async def _download_with_the_application(tg: FakeTelegram, tmp_path: Path) -> None:
    settings = test_settings(tg.api_root, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    application = build_application(settings)
    stored = tg.upload_file(b"questions: []\n", "mine.yaml")
    async with application.bot as bot:
        file = await bot.get_file(stored.file_id)
        assert bytes(await file.download_as_bytearray()) == b"questions: []\n"
    assert [c.status for c in tg.calls(DOWNLOAD)] == [200]


async def test_webhook_delivery_is_concurrent_across_chats_sequential_within_one_and_retried(
    tg: FakeTelegram, fake_bot: Bot
) -> None:
    """As Telegram: up to max_connections POSTs at once, a chat's next update only after
    its previous one got 2xx, and an update answered otherwise posted again."""
    in_flight: list[tuple[int, int]] = []  # (chat, update_id) being answered
    seen: list[tuple[int, int, int]] = []  # (chat, update_id, most in flight at once)
    release = asyncio.Event()
    refuse_once = {True}

    async def endpoint(request: web.Request) -> web.Response:
        data = await request.json()
        chat = data["message"]["chat"]["id"]
        in_flight.append((chat, data["update_id"]))
        seen.append((chat, data["update_id"], len(in_flight)))
        try:
            await release.wait()
            if chat == GROUP_B and refuse_once:
                refuse_once.clear()
                return web.Response(status=503)
            return web.Response(status=200)
        finally:
            in_flight.remove((chat, data["update_id"]))

    app = web.Application()
    app.router.add_post("/hook", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        await fake_bot.set_webhook("https://bot.example.test/hook", secret_token="s3cret")
        tg.webhook_endpoints = [f"http://127.0.0.1:{port}/hook"]
        for chat in (GROUP_A, GROUP_B):
            tg.group(chat, bot_status="member")
        for _ in range(2):
            for chat in (GROUP_A, GROUP_B):
                await tg.send_text(chat, ADA, "hello")
        await tg.wait_for(lambda: len(in_flight) == 2, what="one POST per chat at once")
        assert {chat for chat, _ in in_flight} == {GROUP_A, GROUP_B}
        release.set()
        await tg.wait_for(lambda: tg.pending_updates == 0, what="every update delivered")
    finally:
        await runner.cleanup()
    # Never two updates of one chat at once; each chat's updates in order; B's first
    # update (refused once) posted again before its second.
    for chat in (GROUP_A, GROUP_B):
        ids = [update_id for c, update_id, _ in seen if c == chat]
        assert ids == sorted(ids)
    b_ids = [update_id for c, update_id, _ in seen if c == GROUP_B]
    assert len(b_ids) == 3
    assert b_ids[0] == b_ids[1]
    assert max(most for _, _, most in seen) == 2


# -- rich messages (Bot API 10.1) -------------------------------------------------------------

RICH = (
    "<h3>Model answer</h3><p>Loss: <tg-math>\\mathcal{L} &lt; 1</tg-math></p>"
    '<pre><code class="language-python">f(x)</code></pre>'
)


async def test_send_rich_message_returns_a_message_with_its_blocks(
    tg: FakeTelegram, fake_bot: Bot
) -> None:
    chat = await _started(tg)
    result = await fake_bot.do_api_request(
        "sendRichMessage",
        api_kwargs={"chat_id": chat, "rich_message": {"html": RICH}, "reply_markup": KEYBOARD},
    )
    assert isinstance(result, dict)
    assert "text" not in result
    assert result["rich_message"]["blocks"][0] == {
        "type": "heading",
        "text": "Model answer",
        "size": 3,
    }
    assert result["reply_markup"] == KEYBOARD.to_dict()
    # PTB (which predates 10.1) keeps the field it does not know among api_kwargs, silently.
    message = Message.de_json(result, fake_bot)
    assert message is not None
    assert message.text is None
    assert message.api_kwargs["rich_message"] == result["rich_message"]
    [sent] = tg.sent(chat)
    assert (sent.method, sent.text, sent.rich) == ("sendRichMessage", RICH, True)
    assert sent.plain_text == "Model answerLoss: \\mathcal{L} < 1f(x)"
    assert sent.buttons == [("Reveal", "reveal:1")]
    # A press brings the rich message back in the callback query, as Telegram does.
    await tg.press(chat, chat, sent.message_id, "reveal:1")
    [update] = await fake_bot.get_updates(offset=-1)
    assert update.callback_query is not None
    pressed = update.callback_query.message
    assert isinstance(pressed, Message)
    assert "rich_message" in pressed.api_kwargs


@pytest.mark.parametrize(
    ("rich_message", "error"),
    [
        ({"html": "<div>x</div>"}, "can't parse rich message: unsupported tag <div>"),
        ({"html": "<p>a < b</p>"}, "can't parse rich message: unescaped"),
        ({"html": "<p>&copy;</p>"}, "can't parse rich message: unsupported or unescaped entity"),
        ({"html": "<p>x"}, "can't parse rich message: unclosed"),
        (
            {"html": "<table><tr><td><p>x</p></td></tr></table>"},
            "can't parse rich message: block <p> inside <td>",
        ),
        ({"html": "<table><tr>" + "<td>x</td>" * 21 + "</tr></table>"}, "21 columns"),
        ({"html": "<p>" + "x" * 32_769 + "</p>"}, "rich message is too long"),
        ({"html": "<p>x</p>" * 501}, "too many blocks"),
        ({"html": "<blockquote>" * 17 + "x" + "</blockquote>" * 17}, "nested too deeply"),
        ({"html": "<p> </p>"}, "rich message is empty"),
        ({"html": "<p>x</p>", "markdown": "x"}, "exactly one of html and markdown"),
        ({}, "exactly one of html and markdown"),
    ],
)
async def test_send_rich_message_rejects_what_telegram_rejects(
    tg: FakeTelegram, fake_bot: Bot, rich_message: dict[str, Any], error: str
) -> None:
    chat = await _started(tg)
    with pytest.raises(BadRequest, match="(?i)" + re.escape(error)):
        await fake_bot.do_api_request(
            "sendRichMessage", api_kwargs={"chat_id": chat, "rich_message": rich_message}
        )
    assert tg.sent(chat) == []


async def test_edit_message_text_with_rich_message(tg: FakeTelegram, fake_bot: Bot) -> None:
    chat = await _started(tg)
    sent = await fake_bot.do_api_request(
        "sendRichMessage", api_kwargs={"chat_id": chat, "rich_message": {"html": RICH}}
    )
    edit = {"chat_id": chat, "message_id": sent["message_id"]}
    with pytest.raises(BadRequest, match="not modified"):
        await fake_bot.do_api_request(
            "editmessagetext", api_kwargs=edit | {"rich_message": {"html": RICH}}
        )
    with pytest.raises(BadRequest, match=r"(?i)can.t parse rich message"):
        await fake_bot.do_api_request(
            "editmessagetext", api_kwargs=edit | {"rich_message": {"html": "<u>x"}}
        )
    with pytest.raises(BadRequest, match=r"(?i)only one of text and rich_message"):
        await fake_bot.do_api_request(
            "editmessagetext", api_kwargs=edit | {"text": "x", "rich_message": {"html": RICH}}
        )
    edited = await fake_bot.do_api_request(
        "editmessagetext",
        api_kwargs=edit | {"rich_message": {"html": RICH + "<p><i>Answer below</i></p>"}},
    )
    assert isinstance(edited, dict)
    assert edited["rich_message"]["blocks"][-1] == {
        "type": "paragraph",
        "text": {"type": "italic", "text": "Answer below"},
    }
    [message] = tg.sent(chat)
    assert message.rich
    assert message.plain_text is not None
    assert message.plain_text.endswith("Answer below")
    assert [e.method for e in message.edits] == ["editMessageText"]


async def test_an_older_server_answers_404_method_not_found(
    tg: FakeTelegram, fake_bot: Bot
) -> None:
    chat = await _started(tg)
    tg.rich_messages = False
    with pytest.raises(EndPointNotFound):
        await fake_bot.do_api_request(
            "sendRichMessage", api_kwargs={"chat_id": chat, "rich_message": {"html": RICH}}
        )
    [call] = tg.calls("sendRichMessage")
    assert (call.status, call.description) == (404, "Not Found: method not found")
    # It does not know editMessageText's rich_message either: no text, so no edit.
    message = await fake_bot.send_message(chat, "plain")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await fake_bot.do_api_request(
            "editmessagetext",
            api_kwargs={
                "chat_id": chat,
                "message_id": message.message_id,
                "rich_message": {"html": RICH},
            },
        )
    assert tg.sent(chat, method="sendRichMessage") == []
