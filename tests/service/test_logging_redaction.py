"""The bot token never reaches the logs, at any level, in messages or tracebacks;
nor do the values of a failed SQL statement (a typed answer, for one)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.service.logs.setup import REDACTED, configure_logging
from bot.storage.models import TypedAnswerRow

TOKEN = "987654:SECRET-token_value-XYZ"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = configure_logging("DEBUG", secrets=[TOKEN])
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_token_in_message_args_and_traceback_is_redacted(log_stream: io.StringIO) -> None:
    log = logging.getLogger("telegram.ext.ExtBot")
    log.debug("Calling Bot API endpoint `%s`", f"https://api.telegram.org/bot{TOKEN}/getMe")
    logging.getLogger("httpx").info("HTTP Request: POST https://x/bot%s/getUpdates", TOKEN)
    logging.getLogger("any").warning("encoded form %s", TOKEN.replace(":", "%3A"))
    try:
        raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN}/sendMessage")
    except RuntimeError:
        logging.getLogger("bot").exception("send failed")
    output = log_stream.getvalue()
    assert TOKEN not in output
    assert TOKEN.replace(":", "%3A") not in output
    assert output.count(REDACTED) == 4
    assert "RuntimeError" in output


async def test_real_httpx_request_log_is_redacted(log_stream: io.StringIO) -> None:
    """httpx itself logs the request URL (with the token) at INFO and DEBUG."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    async with httpx.AsyncClient(transport=transport) as client:
        await client.post(f"http://127.0.0.1/bot{TOKEN}/getMe")
    output = log_stream.getvalue()
    assert "HTTP Request" in output
    assert TOKEN not in output


TYPED = "my typed answer: bias is 42 and my password is hunter2"


async def test_a_failed_statement_never_logs_its_parameters(
    log_stream: io.StringIO, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A typed answer kept for a person who is gone: the INSERT fails on its foreign key.

    The error (its message and the traceback the bot logs) names the statement, never the
    values bound to it: those carry what people typed.
    """
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    row = TypedAnswerRow(
        person_id=404,
        chat_id=404,
        delivery_id=404,
        question_id="bias-variance",
        status="checked",
        answer=TYPED,
        created_at=now,
    )
    with pytest.raises(IntegrityError) as raised:
        async with sessions() as session, session.begin():
            session.add(row)
    try:
        raise raised.value
    except IntegrityError:
        logging.getLogger("bot.handlers.typed").exception("could not store the check")
    output = log_stream.getvalue()
    assert "INSERT INTO typed_answers" in output
    assert "hidden due to hide_parameters=True" in output
    assert TYPED not in output
    assert TYPED not in str(raised.value)
