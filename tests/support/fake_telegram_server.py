"""The test suite's fake Bot API as a process of its own, for the benchmarks.

A benchmark runs the real bot (``python -m bot run``, or the dispatcher in the driver's
process) against this server and measures the bot's CPU; running the fake elsewhere keeps
its CPU out of those figures. It is ``FakeTelegram(validate=False)``
(tests/support/fake_telegram.py, lean mode: the token, Telegram's flood limits, long
polling and webhook delivery as in the tests, other methods answered without checks) with
control endpoints (JSON) for the benchmark driver:

- ``POST /control/updates`` ``{"updates": [{...}, ...]}``: queue updates (the fake
  assigns ``update_id``), answers ``{"ids": [...], "at": t}``;
- ``GET /control/log?since=N``: request records from index N on, each
  ``[t, method, chat_id, status, tag, ref]`` (method in lower case; see ``request_tag``),
  with ``rejected`` and ``rejected_by`` (429s for Telegram's limits, by limit);
- ``GET /control/updates_log``: per update id, ``[queued_at, served_at, endpoint]``
  (endpoint: the index of the webhook endpoint that took it, null for getUpdates);
- ``POST /control/config`` ``{"limits": bool, "webhook_endpoints": [url, ...]}``: turn
  the flood limits on or off; once the bot set a webhook, queued updates are POSTed to
  these endpoints in turn (the load balancer in front of several instances);
- ``POST /control/reset``: forget the log, the queue and the limits' windows.

Times are ``time.monotonic()`` (CLOCK_MONOTONIC, shared by every process of the machine),
so the driver can compare them with its own clock. The bot must use ``TOKEN``
(tests/support/bot_token.py).

Usage: ``python -m tests.support.fake_telegram_server [--limits]``: prints the API root on
stdout, serves until standard input closes, then prints how many ``sendMessage`` calls
it answered with success (``sendRichMessage`` included).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from typing import Any

from aiohttp import web

from tests.support.bot_token import TOKEN
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_telegram_world import RecordedRequest
from tests.support.flood_limits import FloodLimits

__all__ = ["TOKEN", "FakeTelegramServer", "request_tag", "serve"]

JSONDict = dict[str, Any]

GRADE_BUTTON = re.compile(r'"v\d+:g:')
SHOW_ANSWER_BUTTON = re.compile(r'"v\d+:r:')
_SEND_METHODS = ("sendmessage", "sendrichmessage")
_MESSAGE_METHODS = (*_SEND_METHODS, "editmessagetext", "editmessagereplymarkup")


def request_tag(method: str, params: JSONDict) -> tuple[str, Any]:
    """What a request is, for the driver: a short tag and a reference.

    sendMessage, sendRichMessage and message edits: "grades" (carries grade buttons, i.e.
    shows a model answer), "question" (carries Show answer), or "text"; the reference is the
    replied-to message id (sends) or the edited one. answerCallbackQuery: "callback", the
    callback query id. ``method`` is in lower case.
    """
    if method in _MESSAGE_METHODS:
        markup = params.get("reply_markup")
        markup_text = markup if isinstance(markup, str) else json.dumps(markup or "")
        if method in _SEND_METHODS:
            reply = params.get("reply_parameters") or params.get("reply_to_message_id")
            if isinstance(reply, str) and reply.startswith("{"):
                reply = json.loads(reply)
            ref = reply.get("message_id") if isinstance(reply, dict) else reply
        else:
            ref = params.get("message_id")
        if GRADE_BUTTON.search(markup_text):
            return "grades", ref
        if SHOW_ANSWER_BUTTON.search(markup_text):
            return "question", ref
        return "text", ref
    if method == "answercallbackquery":
        return "callback", params.get("callback_query_id")
    return "", None


class FakeTelegramServer:
    """The lean fake plus the driver's control endpoints."""

    def __init__(self, *, limits: bool) -> None:
        self.tg = FakeTelegram(TOKEN, validate=False, routes=[("/control/{action}", self.control)])
        self.tg.flood_limits = FloodLimits() if limits else None
        self.queued_at: dict[int, float] = {}

    def record(self, request: RecordedRequest) -> list[Any]:
        method = request.method.lower()
        if method == "getupdates":
            return [request.at, method, None, request.status, "", None]
        tag, ref = request_tag(method, request.params)
        chat_id = _int_or_none(request.params.get("chat_id"))
        return [request.at, method, chat_id, request.status, tag, ref]

    async def control(self, request: web.Request) -> web.Response:
        tg = self.tg
        action = request.match_info["action"]
        if action == "updates":
            body = await request.json()
            at = time.monotonic()
            ids = []
            for update in body["updates"]:
                ((kind, payload),) = update.items()
                update_id = tg.queue_update(kind, payload)["update_id"]
                self.queued_at[update_id] = at
                ids.append(update_id)
            return web.json_response({"ids": ids, "at": at})
        if action == "log":
            since = int(request.query.get("since", "0"))
            limits = tg.flood_limits
            return web.json_response(
                {
                    "log": [self.record(r) for r in tg.requests[since:]],
                    "rejected": limits.rejected if limits else 0,
                    "rejected_by": dict(limits.rejected_by) if limits else {},
                }
            )
        if action == "updates_log":
            endpoints = {url: index for index, url in enumerate(tg.webhook_endpoints)}
            log: dict[str, list[Any]] = {}
            for update_id, queued in self.queued_at.items():
                served, endpoint = tg.served.get(update_id, (None, None))
                log[str(update_id)] = [queued, served, endpoints.get(endpoint or "")]
            return web.json_response(log)
        if action == "config":
            body = await request.json()
            if "limits" in body:
                on = bool(body["limits"])
                if on and tg.flood_limits is None:
                    tg.flood_limits = FloodLimits()
                elif not on:
                    tg.flood_limits = None
            if "webhook_endpoints" in body:
                tg.webhook_endpoints = list(body["webhook_endpoints"])
            tg.pulse()
            return web.json_response({"limits": tg.flood_limits is not None})
        if action == "reset":
            tg.requests.clear()
            tg.drop_pending()
            tg.served.clear()
            self.queued_at.clear()
            if tg.flood_limits is not None:
                tg.flood_limits = FloodLimits()
            return web.json_response({"ok": True})
        raise web.HTTPNotFound()

    def messages_sent(self) -> int:
        return sum(
            1
            for r in self.tg.requests
            if r.method in ("sendMessage", "sendRichMessage") and r.status == 200
        )


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


async def serve(*, limits: bool) -> None:
    """Serve until standard input closes (the driver's end)."""
    server = FakeTelegramServer(limits=limits)
    async with server.tg as tg:
        print(tg.api_root, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(server.messages_sent(), flush=True)


if __name__ == "__main__":
    asyncio.run(serve(limits="--limits" in sys.argv[1:]))
