"""A lean Bot API stand-in for the benchmark, in a process of its own.

The validating fake of the test suite spends more CPU per request than the bot
itself, which would make the benchmark measure the fake. This one only parses
the request and answers with a well-formed Message, so the figures are the
bot's. Usage: python -m benchmarks.fake_server — prints the API root on stdout,
serves until standard input closes, then prints how many messages it received.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from aiohttp import web

BOT = {"id": 999000, "is_bot": True, "first_name": "Bench", "username": "BenchBot"}


class LeanApi:
    def __init__(self) -> None:
        self.sent = 0
        self.next_id = 1

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()  # Bot API names are case-insensitive
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(await request.post())
        result: Any = True
        if method == "getme":
            result = BOT
        elif method == "getupdates":
            await asyncio.sleep(min(float(params.get("timeout", 0) or 0), 1.0))
            result = []
        elif method == "sendmessage":
            self.sent += 1
            self.next_id += 1
            chat_id = int(params["chat_id"])
            markup = params.get("reply_markup")
            result = {
                "message_id": self.next_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "B"},
                "from": BOT,
                "text": str(params.get("text", "")),
            }
            if markup:
                result["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        return web.json_response({"ok": True, "result": result})


async def serve() -> None:
    api = LeanApi()
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", api.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"http://127.0.0.1:{port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    print(api.sent, flush=True)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())
