"""A fake OpenAI-compatible chat-completions server for tests, on 127.0.0.1.

Serves ``POST /v1/chat/completions`` the way such servers do (bearer key, JSON body,
a ``chat.completion`` object back). A test chooses what it does next: answer with a
verdict (covered/missed per key point, a grade, advice), ``hold`` requests until
``release`` (to exercise the bot's timeout), or ``fail`` with an HTTP status. Every
request is recorded.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

JSONDict = dict[str, Any]
_POINT_LINE = re.compile(r"^(\d+)\. ", re.MULTILINE)


@dataclass
class RecordedCall:
    authorization: str | None
    body: JSONDict

    @property
    def user_prompt(self) -> str:
        return str(self.body["messages"][-1]["content"])


@dataclass
class FakeOpenAI:
    """``async with FakeOpenAI() as llm:``; point the bot at ``llm.base_url``."""

    key: str = "sk-test-secret-key-0123456789"
    covered: list[bool] | None = None  # None: every point covered
    grade: str = "easy"
    advice: str = "Mention the trade-off explicitly."
    content: str | None = None  # a raw reply instead of the verdict (bad JSON tests)
    status: int = 200
    holding: bool = False
    calls: list[RecordedCall] = field(default_factory=list)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _port: int | None = None

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def hold(self) -> None:
        """Requests wait (never answered in time) until ``release``."""
        self.holding = True
        self._released = asyncio.Event()

    def release(self) -> None:
        self.holding = False
        self._released.set()

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.calls.append(RecordedCall(request.headers.get("Authorization"), body))
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        if self.holding:
            await self._released.wait()
        if self.status != 200:
            return web.json_response({"error": {"message": "unavailable"}}, status=self.status)
        prompt = str(body["messages"][-1]["content"])
        points = len(_POINT_LINE.findall(prompt.split("Typed answer:")[0]))
        covered = self.covered if self.covered is not None else [True] * points
        content = self.content or json.dumps(
            {
                "points": [{"n": n, "covered": c} for n, c in enumerate(covered, start=1)],
                "grade": self.grade,
                "advice": self.advice,
            }
        )
        return web.json_response(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1,
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )
