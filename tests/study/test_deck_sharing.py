"""Sharing's pure parts and its one send: link codes, payloads, escaping, and the
/forget notices going out as broadcast traffic."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from telegram._utils.types import JSONDict
from telegram.ext import BaseRateLimiter, ExtBot

from bot.rendering import deck_sharing_texts as say
from bot.storage.decks import StoredDeck
from bot.study import deck_sharing
from bot.telegram.ratelimit import Traffic
from bot.telegram.sending import Sent

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_codes_are_long_random_and_fit_a_start_parameter() -> None:
    codes = {deck_sharing.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 24  # 18 random bytes: 144 bits
        payload = f"d-{code}"
        assert len(payload) <= 64
        assert all(c.isascii() and (c.isalnum() or c in "_-") for c in payload)
        assert deck_sharing.code_of_payload(payload) == code


def test_payloads_that_are_not_links() -> None:
    for payload in ("", "d-", "d-short", "x-" + "A" * 24, "d-" + "A" * 23 + "!", "forget"):
        assert deck_sharing.code_of_payload(payload) is None
    assert deck_sharing.link("InterviewTestBot", "abc") == (
        "https://t.me/InterviewTestBot?start=d-abc"
    )


def _deck(title: str) -> StoredDeck:
    return StoredDeck(
        id=7,
        owner_id=1,
        title=title,
        version=1,
        question_count=1,
        share_code=None,
        created_at=START,
        updated_at=START,
    )


def test_titles_and_names_are_content_not_markup() -> None:
    text = say.link_text(_deck("<i>x</i> & co"), "<b>Eve</b>", own=False, added=False)
    assert text.startswith("<b>&lt;i&gt;x&lt;/i&gt; &amp; co</b>: 1 question, shared by ")
    assert "&lt;b&gt;Eve&lt;/b&gt;" in text
    assert "<b>Eve" not in text
    assert "&lt;script&gt;" in say.owner_left_text(["<script>"])


class _NoLimit(BaseRateLimiter[Traffic]):
    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Traffic | None,
    ) -> bool | JSONDict | list[JSONDict]:
        return await callback(*args, **kwargs)


class _RecordingBot(ExtBot[Traffic]):
    """Records each request's text and rate-limiter traffic class; sends nothing."""

    def __init__(self) -> None:
        super().__init__("1:fake", rate_limiter=_NoLimit())
        self._requests: list[tuple[Any, Any]] = []

    async def do_api_request(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        params = kwargs["api_kwargs"]
        self._requests.append((params["chat_id"], kwargs.get("rate_limit_args")))
        return {"message_id": len(self._requests), "text": params["text"]}


async def test_adders_are_told_once_each_as_broadcast_traffic() -> None:
    bot = _RecordingBot()
    outcomes = await deck_sharing.tell_adders(
        bot, {12: ["a", "b"], 11: ["c"]}, text=say.owner_left_text
    )
    assert outcomes == [Sent(1), Sent(2)]
    assert bot._requests == [(11, Traffic.BROADCAST), (12, Traffic.BROADCAST)]
