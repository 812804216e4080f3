"""A lean, limit-enforcing Bot API stand-in for the peak benchmarks, in its own process.

The bot under test is the real ``python -m bot run`` process, pointed here by
``TELEGRAM_API_URL``. This server answers every method the bot calls during the
benchmarked flows with well-formed results (no validation: the test suite's fake
does that, at a CPU cost that would make a benchmark measure the fake), serves
``getUpdates`` by long polling from a queue the benchmark driver fills, and
records every request so the driver can compute latencies and throughput.

When limits are on it answers like Telegram when a bot sends too fast: HTTP 429
with ``parameters.retry_after`` (tests/support/flood_limits.py, the same limits as
the test suite's fake). Rejected requests are counted and logged.

Control endpoints (JSON), for the driver only:

- ``POST /control/updates`` ``{"updates": [{...}, ...]}``: queue updates (the
  server assigns ``update_id``), answers ``{"ids": [...], "at": t}``;
- ``GET /control/log?since=N``: request records from index N on, each
  ``[t, method, chat_id, status, tag, ref]`` (see ``_tag``);
- ``GET /control/updates_log``: per update id, ``[queued_at, served_at, endpoint]``;
- ``POST /control/config`` ``{"limits": bool, "webhook_endpoints": [url, ...]}``;
  ``POST /control/reset``.

Webhook mode (several bot instances behind a load balancer): once the bot has
called ``setWebhook`` and the driver has named the instances' endpoints, queued
updates are POSTed to them in turn (round robin) with the secret token header,
as Telegram does, instead of being served to ``getUpdates``. The update log then
also says which endpoint (index) took each update.

Times are ``time.monotonic()`` (CLOCK_MONOTONIC, shared by every process of the
machine), so the driver can compare them with its own clock.

Usage: ``python -m benchmarks.fake_bot_api [--limits]``: prints the API root on
stdout, serves until standard input closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import time
from collections import deque
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.flood_limits import FloodLimits, is_message, retry_after

BOT = {
    "id": 999000,
    "is_bot": True,
    "first_name": "Bench",
    "username": "BenchBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

Record = list[Any]  # [t, method, chat_id, status, tag, ref]


def _markup_text(markup: object) -> str:
    if markup is None:
        return ""
    return markup if isinstance(markup, str) else json.dumps(markup)


GRADE_BUTTON = re.compile(r'"v\d+:g:')
SHOW_ANSWER_BUTTON = re.compile(r'"v\d+:r:')
MESSAGE_METHODS = ("sendmessage", "editmessagetext", "editmessagereplymarkup")


def _tag(method: str, params: dict[str, Any]) -> tuple[str, Any]:
    """What a request is, for the driver: a short tag and a reference.

    sendMessage and message edits: "grades" (carries grade buttons, i.e. shows a
    model answer), "question" (carries Show answer), or "text"; the reference
    is the replied-to message id (sendMessage) or the edited one.
    answerCallbackQuery: "callback", the callback query id.
    """
    if method in MESSAGE_METHODS:
        markup = _markup_text(params.get("reply_markup"))
        if method == "sendmessage":
            reply = params.get("reply_parameters") or params.get("reply_to_message_id")
            if isinstance(reply, str) and reply.startswith("{"):
                reply = json.loads(reply)
            ref = reply.get("message_id") if isinstance(reply, dict) else reply
        else:
            ref = params.get("message_id")
        if GRADE_BUTTON.search(markup):
            return "grades", ref
        if SHOW_ANSWER_BUTTON.search(markup):
            return "question", ref
        return "text", ref
    if method == "answercallbackquery":
        return "callback", params.get("callback_query_id")
    return "", None


class FakeBotApi:
    def __init__(self, *, limits: bool) -> None:
        self.limits_on = limits
        self.reset()

    def reset(self) -> None:
        self.limits = FloodLimits()
        self.log: list[Record] = []
        self.queue: deque[dict[str, Any]] = deque()
        self.updates_log: dict[int, list[float | None]] = {}
        self.next_update_id = 1
        self.next_message_id = 1_000_000
        self.arrived = asyncio.Event()
        self.rejected = 0
        self.webhook_endpoints: list[str] = []
        self.webhook_secret: str | None = None
        self.webhook_url: str | None = None

    # --- the Bot API -------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        method = request.match_info["method"].lower()  # Bot API names are case-insensitive
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(await request.post())
        chat_id = _chat_id(params.get("chat_id"))
        tag, ref = _tag(method, params)
        if self.limits_on and is_message(method):
            wait = self.limits.admit(chat_id, now)
            if wait > 0:
                self.rejected += 1
                seconds = retry_after(wait)
                self.log.append([now, method, chat_id, 429, tag, ref])
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {seconds}",
                        "parameters": {"retry_after": seconds},
                    },
                    status=429,
                )
        if method == "setwebhook":
            self.webhook_url = str(params.get("url") or "") or None
            self.webhook_secret = params.get("secret_token")
            self.arrived.set()
        elif method == "deletewebhook":
            self.webhook_url = None
        if method == "getupdates":
            result: Any = await self._get_updates(params)
            self.log.append([now, method, None, 200, str(len(result)), None])
            return web.json_response({"ok": True, "result": result})
        self.log.append([now, method, chat_id, 200, tag, ref])
        return web.json_response({"ok": True, "result": self._result(method, chat_id, params)})

    def _result(self, method: str, chat_id: int | None, params: dict[str, Any]) -> Any:
        if method == "getme":
            return BOT
        if method in ("sendmessage", "editmessagetext", "editmessagereplymarkup"):
            return self._message(method, chat_id, params)
        if method == "getchatmember":
            user = {"id": _chat_id(params.get("user_id")) or 1, "is_bot": False, "first_name": "A"}
            return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
        if method == "getchat":
            return _chat(chat_id or 1)
        return True

    def _message(self, method: str, chat_id: int | None, params: dict[str, Any]) -> dict[str, Any]:
        if method == "sendmessage":
            self.next_message_id += 1
            message_id = self.next_message_id
        else:
            message_id = int(params.get("message_id") or 1)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id or 1),
            "from": BOT,
            "text": str(params.get("text", "")) or "…",
        }
        markup = params.get("reply_markup")
        if markup:
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        if method != "sendmessage":
            message["edit_date"] = int(time.time())
        return message

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        while self.queue and self.queue[0]["update_id"] < offset:
            self.queue.popleft()
        if not self.queue and timeout > 0:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout)
        batch = [update for _, update in zip(range(limit), self.queue, strict=False)]
        served = time.monotonic()
        for update in batch:
            entry = self.updates_log[update["update_id"]]
            if entry[1] is None:
                entry[1] = served
        return batch

    # --- control -----------------------------------------------------------

    async def control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action == "updates":
            body = await request.json()
            at = time.monotonic()
            ids = []
            for update in body["updates"]:
                update_id = self.next_update_id
                self.next_update_id += 1
                self.queue.append({"update_id": update_id, **update})
                self.updates_log[update_id] = [at, None, None]
                ids.append(update_id)
            self.arrived.set()
            return web.json_response({"ids": ids, "at": at})
        if action == "log":
            since = int(request.query.get("since", "0"))
            return web.json_response(
                {
                    "log": self.log[since:],
                    "rejected": self.rejected,
                    "rejected_by": dict(self.limits.rejected_by),
                }
            )
        if action == "updates_log":
            return web.json_response({str(k): v for k, v in self.updates_log.items()})
        if action == "config":
            body = await request.json()
            self.limits_on = bool(body.get("limits", self.limits_on))
            self.webhook_endpoints = list(body.get("webhook_endpoints", self.webhook_endpoints))
            self.arrived.set()
            return web.json_response({"limits": self.limits_on})
        if action == "reset":
            endpoints = self.webhook_endpoints
            webhook = (self.webhook_url, self.webhook_secret)
            self.reset()
            self.webhook_endpoints = endpoints
            self.webhook_url, self.webhook_secret = webhook
            return web.json_response({"ok": True})
        raise web.HTTPNotFound()


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}


def _chat_id(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Bench group"}
    return {"id": chat_id, "type": "private", "first_name": "B"}


async def push_webhook_updates(api: FakeBotApi) -> None:
    """Webhook mode: POST each queued update to the instances in turn, concurrently
    (Telegram does not wait for one update's answer before sending the next chat's)."""
    turn = 0
    async with aiohttp.ClientSession() as http:
        pending: set[asyncio.Task[None]] = set()
        while True:
            if not (api.webhook_url and api.webhook_endpoints and api.queue):
                api.arrived.clear()
                await api.arrived.wait()
                continue
            update = api.queue.popleft()
            endpoint = turn % len(api.webhook_endpoints)
            turn += 1
            task = asyncio.create_task(_post(api, http, endpoint, update))
            pending.add(task)
            task.add_done_callback(pending.discard)


async def _post(
    api: FakeBotApi, http: aiohttp.ClientSession, endpoint: int, update: dict[str, Any]
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": api.webhook_secret or ""}
    url = api.webhook_endpoints[endpoint]
    for _ in range(50):
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.post(url, json=update, headers=headers) as response:
                if response.status == 200:
                    entry = api.updates_log[update["update_id"]]
                    entry[1], entry[2] = time.monotonic(), endpoint
                    return
        await asyncio.sleep(0.1)  # an instance down: Telegram retries (here, elsewhere)
        endpoint = (endpoint + 1) % len(api.webhook_endpoints)
        url = api.webhook_endpoints[endpoint]


async def serve(limits: bool) -> None:
    api = FakeBotApi(limits=limits)
    pusher = asyncio.create_task(push_webhook_updates(api))
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/bot{token}/{method}", api.handle)
    app.router.add_route("*", "/control/{action}", api.control)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"http://127.0.0.1:{port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    pusher.cancel()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve("--limits" in sys.argv[1:]))
