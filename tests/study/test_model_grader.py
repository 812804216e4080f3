"""The model grader's reply parsing and configuration (the HTTP side is in the e2e tests)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.srs import Rating
from bot.study.model_grader import (
    SHARED_KEY,
    ModelVerdict,
    build_messages,
    close_shared_grader,
    parse_reply,
    shared_grader,
)
from tests.support.bot_harness import test_settings


def _reply(points: list[dict[str, object]], grade: str = "good", advice: str = "Add X.") -> str:
    return json.dumps({"points": points, "grade": grade, "advice": advice})


def test_a_valid_reply_in_point_order() -> None:
    content = _reply([{"n": 2, "covered": False}, {"n": 1, "covered": True}], "hard")
    assert parse_reply(content, 2, "m") == ModelVerdict((True, False), Rating.HARD, "Add X.", "m")


def test_a_fenced_reply_is_accepted() -> None:
    content = "```json\n" + _reply([{"n": 1, "covered": True}], "easy") + "\n```"
    verdict = parse_reply(content, 1, "m")
    assert verdict is not None
    assert verdict.suggested == Rating.EASY


@pytest.mark.parametrize(
    "content",
    [
        None,
        "",
        "not json",
        "[]",
        _reply([{"n": 1, "covered": True}]),  # one point missing
        _reply([{"n": 1, "covered": True}, {"n": 3, "covered": True}]),  # wrong numbers
        _reply([{"n": 1, "covered": True}, {"n": 2, "covered": True}], grade="great"),
        _reply([{"n": 1, "covered": "maybe"}, {"n": 2, "covered": True}]),
        _reply([{"n": 1, "covered": True}, {"n": 2, "covered": True}], advice="x" * 401),
    ],
)
def test_anything_else_is_rejected(content: str | None) -> None:
    assert parse_reply(content, 2, "m") is None


def test_the_prompt_numbers_the_points() -> None:
    messages = build_messages("Q?", ["first point", "second point"], "my answer")
    assert messages[0]["role"] == "system"
    assert messages[1]["content"] == (
        "Question:\nQ?\n\nKey points of the model answer:\n1. first point\n2. second point"
        "\n\nTyped answer:\nmy answer"
    )


def test_configuration_needs_url_key_and_model() -> None:
    base = test_settings("http://127.0.0.1:1", "sqlite+aiosqlite:///:memory:")
    assert not base.llm_enabled
    assert base.llm_daily_limit == 20
    assert base.llm_timeout_seconds == 15
    partial = test_settings(
        "http://127.0.0.1:1", "sqlite+aiosqlite:///:memory:", llm_api_url="http://x/v1"
    )
    assert not partial.llm_enabled
    full = test_settings(
        "http://127.0.0.1:1",
        "sqlite+aiosqlite:///:memory:",
        llm_api_url="http://x/v1",
        llm_api_key="sk-abc",
        llm_model="m",
    )
    assert full.llm_enabled
    assert "sk-abc" in full.secrets
    assert "sk-abc" not in repr(full), "the key is a SecretStr"


async def test_one_grader_per_running_bot_closed_at_shutdown() -> None:
    settings = test_settings(
        "http://127.0.0.1:9",
        "sqlite+aiosqlite://",
        llm_api_url="http://127.0.0.1:9/v1",
        llm_api_key="sk-test",
        llm_model="m",
    )
    extras: dict[str, Any] = {}
    grader = shared_grader(extras, settings)
    assert shared_grader(extras, settings) is grader
    assert extras == {SHARED_KEY: grader}
    await close_shared_grader(extras)
    assert extras == {}
    await close_shared_grader(extras)  # nothing made: nothing to close
