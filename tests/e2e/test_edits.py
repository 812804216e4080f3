"""Edited messages run nothing: an edited /next sends no question, an edited /export no
files, an edited typed answer is not checked again; each gets one short line at most.
Polling and webhook mode ask Telegram for the same update kinds."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.rendering.texts import EDITS_NOT_READ
from bot.storage.models import DeliveryRow, TypedAnswerRow
from bot.telegram.updates import ALLOWED_UPDATES
from tests.support.bot_harness import FakeClock, RunningBot, running_service, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram, SentMessage

ADA = 1001
GROUP = -300
BOB = 2002


async def said(tg: FakeTelegram, chat_id: int, text: str, expect: str) -> tuple[int, SentMessage]:
    """The user writes; wait for the bot's message containing ``expect``.

    Returns the user's message id and the bot's message.
    """
    count = len(tg.sent(chat_id))
    sender = ADA if chat_id == ADA else BOB
    message = await tg.send_text(chat_id, sender, text)
    await tg.wait_for(
        lambda: any(expect in (m.plain_text or "") for m in tg.sent(chat_id)[count:]),
        what=f"a reply with {expect!r} to {text!r}",
    )
    reply = next(m for m in tg.sent(chat_id)[count:] if expect in (m.plain_text or ""))
    return message["message_id"], reply


async def edited(tg: FakeTelegram, chat_id: int, message_id: int, text: str) -> list[SentMessage]:
    """Edit a message; return everything the bot sent for it (a marker /help after it
    arrives once the edit is handled: a chat's updates are handled in order)."""
    count = len(tg.sent(chat_id))
    await tg.edit_text(chat_id, message_id, text)
    await said(tg, chat_id, "/help", "/question")
    return tg.sent(chat_id)[count:-1]


async def deliveries(bot: RunningBot) -> int:
    async with bot.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(DeliveryRow)) or 0)


async def test_an_edited_command_runs_nothing_and_says_so_once(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    tg.private_chat(ADA, "Ada")
    await said(tg, ADA, "/start", "Hi Ada")
    next_id, _ = await said(tg, ADA, "/next", "Extra question")
    assert await deliveries(bot) == 1

    replies = await edited(tg, ADA, next_id, "/next")
    assert [m.plain_text for m in replies] == [EDITS_NOT_READ]
    assert await deliveries(bot) == 1

    export_id, _ = await said(tg, ADA, "/export", "Your settings")
    documents = len(tg.sent(ADA, "sendDocument"))
    replies = await edited(tg, ADA, export_id, "/export please")
    assert [m.plain_text for m in replies] == [EDITS_NOT_READ]
    assert len(tg.sent(ADA, "sendDocument")) == documents

    # An edit of the edit is not re-read either.
    replies = await edited(tg, ADA, next_id, "/quiz nlp 3")
    assert [m.plain_text for m in replies] == [EDITS_NOT_READ]
    assert await deliveries(bot) == 1


async def test_an_edited_typed_answer_is_not_checked_again(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    tg.private_chat(ADA, "Ada")
    await said(tg, ADA, "/start", "Hi Ada")
    _, question = await said(tg, ADA, "/question", "Question of the day")
    typed = next(d for t, d in question.buttons if t.startswith("✍️"))
    assert typed is not None
    count = len(tg.sent(ADA))
    await tg.press(ADA, ADA, question.message_id, typed)
    await tg.wait_for(lambda: len(tg.sent(ADA)) > count, what="the prompt")
    answer_id, _ = await said(tg, ADA, "Bias is error from wrong assumptions.", "Model answer")
    async with bot.services.sessions() as session:
        checked_before = (await session.scalars(select(TypedAnswerRow))).one().checked_at

    replies = await edited(tg, ADA, answer_id, "Variance is sensitivity to noise, and bias too.")
    assert [m.plain_text for m in replies] == [EDITS_NOT_READ]
    async with bot.services.sessions() as session:
        rows = (await session.scalars(select(TypedAnswerRow))).all()
    assert [row.checked_at for row in rows] == [checked_before]


async def test_edits_in_groups_run_nothing(tg: FakeTelegram, bot: RunningBot) -> None:
    tg.group(GROUP, bot_status="member")
    tg.set_member_status(GROUP, BOB, "administrator")
    quiz_id, _ = await said(tg, GROUP, "/quiz nlp 1", "What is")
    replies = await edited(tg, GROUP, quiz_id, "/quiz stop")
    assert [m.plain_text for m in replies] == [EDITS_NOT_READ]
    # Plain group talk that was edited gets no line at all.
    message = await tg.send_text(GROUP, BOB, "hello all")
    assert await edited(tg, GROUP, message["message_id"], "hello everyone") == []


async def test_polling_and_webhook_ask_for_the_same_update_kinds(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    settings = test_settings(tg.api_root, database.url)
    async with running_service(settings, clock):
        await tg.wait_for(lambda: bool(tg.calls("getUpdates")), what="a long poll")
    polled = {tuple(call.params.get("allowed_updates") or ()) for call in tg.calls("getUpdates")}
    assert polled == {tuple(ALLOWED_UPDATES)}

    webhook = test_settings(
        tg.api_root,
        database.url,
        webhook_url="https://bot.example.org/telegram",
        webhook_secret="s3cret-token",
        http_listen="127.0.0.1:0",
    )
    async with running_service(webhook, clock):
        pass
    (call,) = tg.calls("setWebhook")
    assert call.params["allowed_updates"] == ALLOWED_UPDATES
