"""Service settings (webhook, HTTP_LISTEN, LOG_FORMAT), JSON logs, the SQLite single-process
lock, outage recognition and the rate limiter's waiting gauge."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy.exc
from telegram.error import NetworkError

from bot.service import metrics
from bot.service.config import ConfigError, load_settings
from bot.service.db_outage import is_unavailable
from bot.service.lifecycle import SingleInstanceError, single_instance
from bot.service.logs import context as log_context
from bot.service.logs.setup import REDACTED, configure_logging
from bot.telegram.ratelimit import PriorityRateLimiter

TOKEN = "123456:TEST-token-for-service-settings"
SECRET = "A-secret_token-0123456789"


def settings(**values: Any) -> Any:
    return load_settings(bot_token=TOKEN, _env_file=None, **values)


def test_polling_is_the_default_with_no_http_server() -> None:
    config = settings()
    assert not config.webhook_mode
    assert config.listen_address is None


def test_webhook_mode_listens_on_the_default_address_at_the_url_path() -> None:
    config = settings(webhook_url="https://bot.example.com/telegram", webhook_secret=SECRET)
    assert config.webhook_mode
    assert config.listen_address == ("0.0.0.0", 8080)
    assert config.webhook_path == "/telegram"
    assert config.secrets == [TOKEN, SECRET]


def test_http_listen_in_polling_mode_and_ipv6() -> None:
    assert settings(http_listen="127.0.0.1:9100").listen_address == ("127.0.0.1", 9100)
    assert settings(http_listen="[::1]:9100").listen_address == ("::1", 9100)
    assert settings(http_listen="").listen_address is None  # empty in .env means unset


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"webhook_url": "https://bot.example.com/tg"}, "WEBHOOK_SECRET is required"),
        (
            {"webhook_url": "https://bot.example.com/tg", "webhook_secret": "has spaces"},
            "WEBHOOK_SECRET: must be 1-256 characters",
        ),
        (
            {"webhook_url": "https://bot.example.com/tg", "webhook_secret": "x" * 257},
            "WEBHOOK_SECRET: must be 1-256 characters",
        ),
        ({"webhook_url": "http://bot.example.com/tg", "webhook_secret": SECRET}, "https://"),
        ({"http_listen": "8080"}, "HTTP_LISTEN must be host:port"),
        ({"http_listen": "0.0.0.0:99999"}, "HTTP_LISTEN must be host:port"),
        ({"log_format": "xml"}, "LOG_FORMAT must be text or json"),
    ],
)
def test_bad_service_settings_give_one_clear_message(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(**values)
    assert message in str(raised.value)
    assert SECRET not in str(raised.value)


def test_missing_secret_stops_start_up_with_the_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "WEBHOOK_SECRET"}} | {
        "BOT_TOKEN": TOKEN,
        "WEBHOOK_URL": "https://bot.example.com/tg",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "WEBHOOK_SECRET is required with WEBHOOK_URL" in result.stderr
    assert "Traceback" not in result.stderr


# -- JSON logs -----------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = configure_logging("INFO", secrets=[TOKEN, SECRET], log_format="json")
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_json_logs_are_one_object_per_line_with_fields_and_no_secrets(
    json_log: io.StringIO,
) -> None:
    from telegram import Chat, Message, Update

    log = logging.getLogger("bot.something")
    log.info("plain line with %s", "args")
    log.warning("delivery failed", extra={"chat_id": 42, "delivery_id": 7})
    update = Update(
        update_id=900,
        message=Message(message_id=1, date=None, chat=Chat(id=555, type="private")),  # type: ignore[arg-type]
    )
    token = log_context.bind_update(update)
    try:
        log.info("inside an update, token %s and secret %s", TOKEN, SECRET)
    finally:
        log_context.reset(token)
    try:
        raise RuntimeError(f"boom https://api.telegram.org/bot{TOKEN}/getMe")
    except RuntimeError:
        log.exception("it failed")

    lines = json_log.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 4
    assert records[0] == {
        "time": records[0]["time"],
        "level": "INFO",
        "logger": "bot.something",
        "message": "plain line with args",
    }
    assert records[0]["time"].endswith("+00:00")
    assert (records[1]["chat_id"], records[1]["delivery_id"]) == (42, 7)
    assert (records[2]["update_id"], records[2]["chat_id"]) == (900, 555)
    assert records[2]["message"] == f"inside an update, token {REDACTED} and secret {REDACTED}"
    assert "RuntimeError" in records[3]["exception"]
    assert TOKEN not in json_log.getvalue()
    assert SECRET not in json_log.getvalue()


# -- one process per SQLite database ---------------------------------------------------------


def test_a_second_process_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    refused = pytest.raises(SingleInstanceError, match="SQLite is for one process")
    with single_instance(url), refused, single_instance(url):
        pass
    with single_instance(url):  # released when the first one stops
        pass
    postgres = "postgresql+asyncpg://u@h/db"
    with single_instance(postgres), single_instance(postgres):
        pass  # PostgreSQL takes any number of instances


# -- outage recognition --------------------------------------------------------------------


def test_outage_errors_are_told_apart_from_bugs() -> None:
    dropped = sqlalchemy.exc.DBAPIError("SELECT 1", None, Exception("gone"))
    dropped.connection_invalidated = True
    assert is_unavailable(dropped)
    locked = sqlite3.OperationalError("database is locked")
    assert is_unavailable(sqlalchemy.exc.OperationalError("x", None, locked))
    assert is_unavailable(sqlalchemy.exc.TimeoutError("QueuePool limit reached"))
    wrapped = RuntimeError("handler failed")
    wrapped.__cause__ = sqlalchemy.exc.InterfaceError(
        "x", None, asyncpg.InterfaceError("connection is closed")
    )
    assert is_unavailable(wrapped)
    assert is_unavailable(asyncpg.AdminShutdownError("terminating connection"))
    assert is_unavailable(asyncpg.ConnectionDoesNotExistError("closed in the middle"))
    # Bugs and other failures are not outages, whatever class the driver gives them.
    assert not is_unavailable(sqlalchemy.exc.IntegrityError("x", None, Exception("dup")))
    missing = sqlite3.OperationalError("no such table: reviews")
    assert not is_unavailable(sqlalchemy.exc.OperationalError("x", None, missing))
    busy = asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    assert not is_unavailable(sqlalchemy.exc.InterfaceError("x", None, busy))
    assert not is_unavailable(asyncpg.UndefinedTableError("relation does not exist"))
    assert not is_unavailable(ValueError("bad"))
    assert not is_unavailable(NetworkError("Telegram is away"))
    assert not is_unavailable(ConnectionResetError("not raised by a database driver"))
    assert not is_unavailable(None)


# -- the rate limiter's waiting gauge --------------------------------------------------------


CHAT = {"chat_id": 1}


async def test_rate_limiter_reports_requests_waiting_in_it() -> None:
    limiter = PriorityRateLimiter(2, on_wait_change=metrics.rate_limiter_waiting)
    await limiter.initialize()
    gauge = metrics.RATE_LIMITER_WAITING.labels(traffic="interactive")
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_call(*args: Any, **kwargs: Any) -> bool:
        started.set()
        await release.wait()
        return True

    # Two may go in a window; both are held in flight by slow_call.
    first = [
        asyncio.create_task(limiter.process_request(slow_call, (), {}, "sendMessage", CHAT, None))
        for _ in range(2)
    ]
    await started.wait()
    # The next two wait for their turn (the window is full while those are in flight).
    others = [
        asyncio.create_task(limiter.process_request(slow_call, (), {}, "sendMessage", CHAT, None))
        for _ in range(2)
    ]
    for _ in range(5):
        await asyncio.sleep(0)
    assert gauge._value.get() == 2
    assert limiter.waiting() == 2
    release.set()
    assert await asyncio.gather(*first, *others) == [True, True, True, True]
    assert gauge._value.get() == 0
    await limiter.shutdown()
