"""Webhook mode, /healthz and /metrics, end to end: the real Application behind its own
aiohttp server, the fake Bot API posting updates to it as Telegram does."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.service.lifecycle import ALLOWED_UPDATES
from bot.storage.models import ProcessedUpdateRow
from tests.support.bot_harness import (
    TOKEN,
    FakeClock,
    running_service,
    small_bank,
    test_settings,
    write_bank,
)
from tests.support.bot_process import free_port, start_bot
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

SECRET = "s3cr3t_Webhook-token"
WEBHOOK_URL = "https://bot.example.test/telegram/hook"
ADA = 1001
BOB = 1002


def webhook_settings(tg: FakeTelegram, database: TestDatabase) -> Any:
    return test_settings(
        tg.api_root,
        database.url,
        webhook_url=WEBHOOK_URL,
        webhook_secret=SECRET,
        http_listen="127.0.0.1:0",
    )


def command_update(tg: FakeTelegram, chat_id: int, text: str, update_id: int) -> dict[str, Any]:
    """An update as Telegram would post it: a private message with its command entity."""
    chat = tg.private_chat(chat_id, "Ada")
    chat.seen = True
    assert chat.user is not None
    message = tg.new_message(
        chat,
        chat.user,
        text=text,
        entities=[{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
    )
    return {"update_id": update_id, "message": message}


def replies(tg: FakeTelegram, chat_id: int) -> list[str]:
    return [m.plain_text or "" for m in tg.sent(chat_id, method="sendMessage")]


async def test_webhook_mode_secret_duplicates_and_malformed_bodies(
    tg: FakeTelegram,
    database: TestDatabase,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_service(webhook_settings(tg, database), clock) as bot:
        endpoint = f"{bot.http_root}/telegram/hook"
        # setWebhook with the URL, the secret and the update kinds the bot handles.
        [call] = tg.calls("setWebhook")
        assert call.status == 200
        assert call.params["url"] == WEBHOOK_URL
        assert call.params["secret_token"] == SECRET
        assert call.params["allowed_updates"] == ALLOWED_UPDATES
        assert tg.calls("getUpdates") == []
        # While the webhook is set, getUpdates is refused like Telegram does.
        fake_bot = tg.make_bot(tg.token)
        async with fake_bot:
            with pytest.raises(Exception, match="webhook is active"):
                await fake_bot.get_updates()

        # A user writes: Telegram posts the update to the webhook; the bot answers.
        tg.webhook_endpoints = [endpoint]
        tg.private_chat(ADA, "Ada")
        await tg.send_text(ADA, ADA, "/help")
        await tg.wait_for_messages(ADA, 1)
        # Answered once handled, so the answer comes after the reply was sent.
        await tg.wait_for(lambda: bool(tg.webhook_posts), what="the POST's answer")
        assert tg.webhook_posts[-1].status == 200

        # Without the secret, or with a wrong one: 403 and nothing processed.
        forged = command_update(tg, BOB, "/help", 800_000_001)
        assert await tg.post_update(endpoint, forged, secret=None) == 403
        assert await tg.post_update(endpoint, forged, secret="wrong-secret") == 403
        assert await tg.post_update(endpoint, forged, secret=SECRET.upper()) == 403
        # Malformed bodies: 400, one log line each, no traceback.
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot.service.web"):
            assert await tg.post_update(endpoint, b"{not json", secret=SECRET) == 400
            assert await tg.post_update(endpoint, b'{"no_update_id": 1}', secret=SECRET) == 400
            assert await tg.post_update(endpoint, b"[1, 2]", secret=SECRET) == 400
        malformed = [r for r in caplog.records if "malformed webhook body" in r.getMessage()]
        assert len(malformed) == 3
        assert all(r.exc_info is None for r in malformed)

        # The same update delivered twice (Telegram's retry): processed once.
        first = command_update(tg, BOB, "/help", 800_000_002)
        assert await tg.post_update(endpoint, first, secret=SECRET) == 200
        assert await tg.post_update(endpoint, first, secret=SECRET) == 200
        # A later update of the same chat is handled after the earlier ones (in order), so
        # once its answer is there, any second answer to the duplicate would be too.
        marker = command_update(tg, BOB, "/settings", 800_000_003)
        assert await tg.post_update(endpoint, marker, secret=SECRET) == 200
        await tg.wait_for(lambda: len(replies(tg, BOB)) >= 2, what="the marker's reply")
        bob = replies(tg, BOB)
        help_text = replies(tg, ADA)[0]
        assert len(bob) == 2, bob
        # The /help answer once (the forged ones never), then the marker's.
        assert bob[0] == help_text
        assert bob[1] != help_text
        async with bot.services.sessions() as session:
            claimed = await session.scalar(select(func.count()).select_from(ProcessedUpdateRow))
        assert claimed == 3  # ADA's update, the duplicate once, the marker


async def test_stopping_service_answers_503_so_telegram_retries(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    async with running_service(webhook_settings(tg, database), clock) as bot:
        endpoint = f"{bot.http_root}/telegram/hook"
        assert bot.service.web is not None
        bot.service.web.accepting_updates = False  # what stop() does first
        update = command_update(tg, ADA, "/help", 800_000_010)
        assert await tg.post_update(endpoint, update, secret=SECRET) == 503
        bot.service.web.accepting_updates = True
        assert await tg.post_update(endpoint, update, secret=SECRET) == 200
        await tg.wait_for_messages(ADA, 1)
    # The webhook is left in place for the other instances: stopping does not delete it.
    assert tg.calls("deleteWebhook") == []


async def test_polling_mode_removes_a_leftover_webhook(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    tg.webhook = {"url": WEBHOOK_URL, "secret_token": SECRET, "allowed_updates": None}
    async with running_service(test_settings(tg.api_root, database.url), clock) as bot:
        assert bot.service.web is None  # no HTTP_LISTEN in polling mode: no server
        assert tg.calls("deleteWebhook")
        tg.private_chat(ADA, "Ada")
        await tg.send_text(ADA, ADA, "/help")
        await tg.wait_for_messages(ADA, 1)


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_healthz_and_metrics_in_polling_mode(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    settings = test_settings(tg.api_root, database.url, http_listen="127.0.0.1:0")
    async with running_service(settings, clock) as bot:
        status, body = await _get(f"{bot.http_root}/healthz")
        assert status == 200
        health = json.loads(body)
        assert (health["status"], health["database"], health["mode"]) == ("ok", "up", "polling")

        status, text = await _get(f"{bot.http_root}/metrics")
        assert status == 200
        before = _samples(text)
        families = {f.name: f.type for f in text_string_to_metric_families(text)}
        assert {
            "interview_bot_deliveries": "counter",
            "interview_bot_delivery_lateness_seconds": "histogram",
            "interview_bot_update_handling_seconds": "histogram",
            "interview_bot_rate_limiter_waiting_requests": "gauge",
            "interview_bot_telegram_429": "counter",
            "interview_bot_database_errors": "counter",
            "interview_bot_active_chats": "gauge",
        }.items() <= families.items()
        sent_key = ("interview_bot_deliveries_total", (("outcome", "sent"),))
        lateness_key = ("interview_bot_delivery_lateness_seconds_count", ())

        tg.private_chat(ADA, "Ada")
        await tg.send_text(ADA, ADA, "/start")
        await tg.wait_for_messages(ADA, 1)
        clock.set(datetime(2026, 3, 2, 9, 0, 20, tzinfo=UTC))  # 20 s after the due minute
        await tg.wait_for(
            lambda: any("Question of the day" in t for t in replies(tg, ADA)),
            what="the daily question",
        )
        await asyncio.sleep(0.1)  # the tick records the outcome right after the send

        _, text = await _get(f"{bot.http_root}/metrics")
        after = _samples(text)
        assert after[sent_key] == before.get(sent_key, 0) + 1
        assert after[lateness_key] == before.get(lateness_key, 0) + 1
        assert after[("interview_bot_active_chats", ())] == 1
        command_key = ("interview_bot_update_handling_seconds_count", (("kind", "command"),))
        assert after[command_key] >= before.get(command_key, 0) + 1


async def test_running_service_reports_unhealthy_once_stopping(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    settings = test_settings(tg.api_root, database.url, http_listen="127.0.0.1:0")
    async with running_service(settings, clock) as bot:
        assert bot.service.web is not None
        bot.service.web.ready = False
        status, body = await _get(f"{bot.http_root}/healthz")
        assert status == 503
        assert json.loads(body)["running"] is False


async def _run_until_exit(tg: FakeTelegram, tmp_path: Path, **env: str) -> tuple[int, str]:
    content = write_bank(small_bank(), tmp_path / "content")
    log_path = tmp_path / "bot.log"
    with log_path.open("ab") as log:
        process = await start_bot(
            tg, f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}", content, log, **env
        )
        try:
            async with asyncio.timeout(60):
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode is not None
    return process.returncode, log_path.read_text(encoding="utf-8")


async def test_refused_webhook_or_token_stops_start_up_with_one_clear_line(
    tmp_path: Path,
) -> None:
    async with FakeTelegram(token=TOKEN) as tg:
        tg.fail_next(
            "setWebhook", status=400, description="Bad Request: bad webhook: Failed to resolve host"
        )
        code, output = await _run_until_exit(
            tg,
            tmp_path / "webhook",
            WEBHOOK_URL=WEBHOOK_URL,
            WEBHOOK_SECRET=SECRET,
            HTTP_LISTEN=f"127.0.0.1:{free_port()}",
        )
        assert code == 1
        assert "Could not start: the Bot API call failed: Bad webhook: failed to resolve host" in (
            output
        )
        assert "Traceback" not in output
    async with FakeTelegram(token="999:another-token-entirely") as tg:
        code, output = await _run_until_exit(tg, tmp_path / "token")
        assert code == 1
        assert "Could not start: the Bot API call failed" in output
        assert "rejected by the server" in output
        assert "Unclosed client session" not in output
        assert TOKEN not in output
        assert "Traceback" not in output
