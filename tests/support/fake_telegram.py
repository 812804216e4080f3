"""A fake Telegram Bot API server for end-to-end tests, speaking real HTTP on 127.0.0.1.

The bot under test is a real python-telegram-bot ``Application`` pointed at this server
(``base_url=f"{tg.api_root}/bot"``), so requests go through PTB's own encoding, error
mapping and retry logic exactly as in production. The server validates parameters against
the Bot API spec and applies Telegram's content rules, so a message Telegram would reject
fails the test instead of production. Tests drive users, groups and button presses through
the same object and inspect what the bot sent.

``validate=False`` is the lean mode the benchmarks use (through
``tests.support.fake_telegram_server``, in a process of its own). A benchmark seeds its
chats and messages straight into the bot's database, so the simulated world has never
seen them and would answer "chat not found"; and the checks cost CPU a benchmark should
not wait for (a ``sendMessage`` with HTML and a keyboard: about 0.20 ms validated, 0.12 ms
lean, measured on the development machine). In that mode the token, the flood limits,
``getUpdates``, ``getMe`` and the webhook calls and delivery behave as above, and every
other method is answered at once with a well-formed result
(tests/support/fake_telegram_lean.py) without checking its parameters or the chat.

Everything runs on the test's event loop; there are no threads and no locks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web
from telegram import Bot

from tests.support.fake_telegram_lean import WORLD_METHODS, LeanAnswers
from tests.support.fake_telegram_methods import HANDLERS, older_server_error
from tests.support.fake_telegram_spec import (
    ApiError,
    bad_request,
    canonical_method,
    coerce_params,
    utf16_len,
)
from tests.support.fake_telegram_world import (
    ANONYMOUS_ADMIN,
    BOT_USER,
    MEMBER_STATUSES,
    CallbackAnswer,
    ChatInfo,
    Fault,
    MessageEdit,
    RecordedRequest,
    SentMessage,
    StoredFile,
    UploadedFile,
    UserInfo,
    World,
    member_payload,
)
from tests.support.flood_limits import FloodLimits, is_message, retry_after

__all__ = [
    "DEFAULT_TOKEN",
    "DOWNLOAD",
    "SECRET_HEADER",
    "CallbackAnswer",
    "ChatInfo",
    "FakeTelegram",
    "HeldCall",
    "MessageEdit",
    "RecordedRequest",
    "SentMessage",
    "StoredFile",
    "UploadedFile",
    "UserInfo",
    "WebhookPost",
]

JSONDict = dict[str, Any]

DEFAULT_TOKEN = "123456:TEST-token"
_API_PATH = re.compile(r"/bot([^/]*)/([^/]+)")
# Where a file's bytes are downloaded after getFile, as Telegram and a self-hosted Bot API
# server serve them: ``<api>/file/bot<token>/<file_path>``.
_FILE_PATH = re.compile(r"/file/bot([^/]*)/(.+)")
DOWNLOAD = "file download"
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?")
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_POLL_INTERVAL = 0.005
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_WEBHOOK_RETRY_SECONDS = 0.05


@dataclass
class HeldCall:
    """A Bot API call held by ``FakeTelegram.hold_call``: ``arrived`` is set when the call
    comes in; it is answered (normally) only after ``release()``."""

    method: str
    chat_id: int | None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.arrived.is_set() or self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def release(self) -> None:
        self.released.set()


@dataclass(frozen=True)
class WebhookPost:
    """One POST of an update to a webhook endpoint and the HTTP status it got (0: no answer)."""

    update_id: int | None
    endpoint: str
    status: int


class FakeTelegram(World):
    """The fake Bot API server plus the simulated world behind it.

    Use as ``async with FakeTelegram() as tg:``; point the bot at ``tg.api_root``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_user: UserInfo = BOT_USER,
        validate: bool = True,
        routes: Sequence[tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = (),
    ) -> None:
        super().__init__(bot_user)
        self.token = token
        # validate=False: the benchmarks' lean mode (see the module docstring).
        self._lean = None if validate else LeanAnswers(bot_user)
        # Extra HTTP routes (path, handler) served beside the Bot API: the benchmark
        # server's control endpoints.
        self._routes = list(routes)
        self.latency = 0.0
        # Telegram's flood limits (off unless a test turns them on: enforce_flood_limits).
        self.flood_limits: FloodLimits | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        # Webhook delivery: while a webhook is set, queued updates are POSTed to these
        # endpoints in turn (the load balancer in front of the bot's instances), with the
        # secret token header, as Telegram does: up to the webhook's ``max_connections``
        # at once, one chat's updates one after another (the next only once the previous
        # got 2xx), and an update not answered with 2xx is posted again.
        self.webhook_endpoints: list[str] = []
        self.webhook_posts: list[WebhookPost] = []
        self._pusher: asyncio.Task[None] | None = None
        self._posting: dict[int, asyncio.Task[None]] = {}
        self._holds: list[HeldCall] = []
        self._http: aiohttp.ClientSession | None = None

    # -- server lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_root(self) -> str:
        """``http://127.0.0.1:PORT``; the bot uses ``{api_root}/bot`` as its base URL."""
        if self._port is None:
            raise RuntimeError("FakeTelegram is not running; use `async with FakeTelegram()`")
        return f"http://127.0.0.1:{self._port}"

    def make_bot(self, token: str | None = None) -> Bot:
        """A real PTB ``Bot`` whose every request comes here (never to api.telegram.org)."""
        root = self.api_root
        return Bot(token or self.token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")

    async def start(self) -> None:
        """Listen on a free loopback port (never anything reachable from outside)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for path, handler in self._routes:
            app.router.add_route("*", path, handler)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._http = aiohttp.ClientSession()
        self._pusher = asyncio.create_task(self._push_webhook_updates(), name="fake-webhook")

    async def stop(self) -> None:
        """End pending long polls first so the runner's graceful shutdown is instant."""
        self.close_polls()
        pusher, self._pusher = self._pusher, None
        if pusher is not None:
            pusher.cancel()
            await asyncio.gather(pusher, return_exceptions=True)
        posting = list(self._posting.values())
        for task in posting:
            task.cancel()
        await asyncio.gather(*posting, return_exceptions=True)
        for hold in self._holds:
            hold.release()
        http, self._http = self._http, None
        if http is not None:
            await http.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # -- webhook delivery ------------------------------------------------------------------

    async def post_update(
        self, endpoint: str, update: JSONDict | bytes, *, secret: str | None
    ) -> int:
        """POST one update (or any raw body) to a webhook endpoint; its HTTP status, 0 if none.

        Tests use it directly to post forged, malformed or repeated deliveries.
        """
        assert self._http is not None, "FakeTelegram is not running"
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        update_id = update.get("update_id") if isinstance(update, dict) else None
        try:
            async with self._http.post(
                endpoint, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.webhook_posts.append(WebhookPost(update_id, endpoint, status))
        return status

    async def _push_webhook_updates(self) -> None:
        turn = itertools.count()
        while not self._closing:
            webhook = self.webhook
            if webhook is None or not self.webhook_endpoints:
                await self.wait_changed(1.0)
                continue
            connections = int(webhook.get("max_connections") or 40)
            busy_chats = {_order_key(u) for u in self._in_flight()}
            # Look a little past the connection limit: later chats may go while one waits.
            for update in self.deliverable(connections + len(self._posting) + 100):
                if len(self._posting) >= connections:
                    break
                key = _order_key(update)
                if update["update_id"] in self._posting or key in busy_chats:
                    busy_chats.add(key)  # this chat's later updates wait their turn
                    continue
                busy_chats.add(key)
                endpoint = self.webhook_endpoints[next(turn) % len(self.webhook_endpoints)]
                self._posting[update["update_id"]] = asyncio.create_task(
                    self._deliver(endpoint, update, webhook["secret_token"])
                )
            await self.wait_changed(1.0)

    def _in_flight(self) -> list[JSONDict]:
        return [u for u in self.pending() if u["update_id"] in self._posting]

    async def _deliver(self, endpoint: str, update: JSONDict, secret: str | None) -> None:
        """One POST of one update; 2xx confirms it, anything else makes it due again."""
        try:
            status = await self.post_update(endpoint, update, secret=secret)
            if 200 <= status < 300:
                self.served.setdefault(update["update_id"], (time.monotonic(), endpoint))
                self.confirm_update(update["update_id"])
            else:
                await asyncio.sleep(_WEBHOOK_RETRY_SECONDS)
        finally:
            self._posting.pop(update["update_id"], None)
            self.pulse()

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        download = _FILE_PATH.fullmatch(request.path)
        if download is not None:
            return self._download(request, *download.groups(), arrived=arrived)
        match = _API_PATH.fullmatch(request.path)
        if match is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        token, name = match.groups()
        method = canonical_method(name) or name
        params: JSONDict = {}

        def record(status: int, description: str | None = None) -> None:
            self.requests.append(
                RecordedRequest(
                    method,
                    params,
                    status,
                    description,
                    request.method,
                    request.content_type,
                    at=arrived,
                )
            )

        try:
            params = await _read_params(request)
            hold = next(
                (h for h in self._holds if h.matches(method, _int_or_none(params.get("chat_id")))),
                None,
            )
            if hold is not None:
                hold.arrived.set()
                await hold.released.wait()
                if _client_gone(request):
                    # The caller gave up while it was held: as if it never reached Telegram.
                    return web.Response(status=499)
            params, result = await self._dispatch(token, method, params)
        except ApiError as err:
            # A long poll the client abandoned (PTB cancels it on stop) ends in 409 that
            # nobody reads: leave it out, so it does not look like a failure the bot saw.
            if not (err.status == 409 and _client_gone(request)):
                record(err.status, err.description)
            return web.json_response(err.payload(), status=err.status)
        except Exception as exc:
            record(500, f"FakeTelegram crashed: {exc!r}")
            raise
        record(200)
        return web.json_response({"ok": True, "result": result})

    def _download(
        self, request: web.Request, token: str, file_path: str, *, arrived: float
    ) -> web.Response:
        """GET ``/file/bot<token>/<file_path>``: the bytes of a file getFile described.

        Recorded among the requests as the method ``DOWNLOAD`` (``tg.calls(DOWNLOAD)``).
        """
        stored = self.downloads.get(file_path)
        if request.method != "GET":
            status, description = 405, "Method Not Allowed"
        elif token != self.token:
            status, description = 401, "Unauthorized"
        elif stored is None:
            status, description = 404, "Not Found"
        else:
            status, description = 200, None
        self.requests.append(
            RecordedRequest(
                DOWNLOAD,
                {"file_path": file_path},
                status,
                description,
                request.method,
                "",
                at=arrived,
            )
        )
        if stored is None or status != 200:
            return web.json_response(ApiError(status, str(description)).payload(), status=status)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _dispatch(self, token: str, method: str, raw: JSONDict) -> tuple[JSONDict, Any]:
        """Authenticate, apply armed faults, check parameters, run the handler."""
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        if canonical_method(method) is None:
            raise ApiError(404, "Not Found")
        if (older := older_server_error(self, method)) is not None:
            raise older
        chat_id = _int_or_none(raw.get("chat_id"))
        fault = self.take_fault(method, chat_id)
        if fault is not None:
            raise fault.error()
        if self.flood_limits is not None and is_message(method):
            chat = raw.get("chat_id")
            key: int | str | None = _int_or_none(chat)
            if key is None and isinstance(chat, str):
                key = chat  # "@channel"
            wait = self.flood_limits.admit(key, time.monotonic())
            if wait > 0:
                seconds = retry_after(wait)
                raise ApiError(
                    429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
                )
        if self._lean is not None and method not in WORLD_METHODS:
            return raw, self._lean.answer(method, raw)
        handler = HANDLERS.get(method)
        if handler is None:
            raise bad_request(f"method {method} is not implemented by FakeTelegram")
        params = coerce_params(method, raw)
        # Multipart parts named by ``attach://<name>`` are not parameters themselves.
        params.update({f"__upload__{k}": v for k, v in raw.items() if isinstance(v, UploadedFile)})
        return params, await handler(self, params)

    # -- fault injection -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (for ``chat_id``, if given) fail.

        429 always carries ``retry_after`` (default 1 s) as Telegram's does, so PTB raises
        ``RetryAfter``; ``migrate_to_chat_id`` makes PTB raise ``ChatMigrated``.
        """
        canonical = canonical_method(method)
        if canonical is None:
            raise ValueError(f"fail_next: {method!r} is not a Bot API method")
        if status == 429 and retry_after is None:
            retry_after = 1
        self.arm_fault(
            Fault(
                method=canonical,
                status=status,
                description=description
                or _default_description(status, retry_after, migrate_to_chat_id),
                remaining=times,
                chat_id=chat_id,
                retry_after=retry_after,
                migrate_to_chat_id=migrate_to_chat_id,
            )
        )

    def hold_call(self, method: str, *, chat_id: int | None = None) -> HeldCall:
        """Hold the next call of ``method`` (for ``chat_id``, if given) until released:
        a request in flight, for tests that force an interleaving."""
        canonical = canonical_method(method)
        if canonical is None:
            raise ValueError(f"hold_call: {method!r} is not a Bot API method")
        hold = HeldCall(canonical, chat_id)
        self._holds.append(hold)
        return hold

    def enforce_flood_limits(self, limits: FloodLimits | None = None) -> FloodLimits:
        """Answer 429 with ``retry_after``, as Telegram does, beyond its flood limits
        (tests/support/flood_limits.py); returns the limits, which count rejections."""
        self.flood_limits = limits or FloodLimits()
        return self.flood_limits

    def block(self, chat_id: int, *, notify: bool = False) -> None:
        """The user blocks the bot (or, for a group, the bot is kicked): sends get 403.

        Telegram also sends the bot a ``my_chat_member`` update (member -> kicked) for
        a private chat; ``notify=True`` does that. The default leaves it out, as if the
        bot never saw it, so a test can exercise the 403 path.
        """
        chat = self.chat(chat_id)
        if notify and not chat.is_group and not chat.blocked and chat.user is not None:
            self._private_status_update(chat, "member", "kicked")
        chat.blocked = True

    def unblock(self, chat_id: int) -> None:
        """The user unblocks the bot: for a private chat Telegram sends ``my_chat_member``
        (kicked -> member), as it does before any message a blocked user sends."""
        chat = self.chat(chat_id)
        if chat.blocked and not chat.is_group and chat.user is not None:
            self._private_status_update(chat, "kicked", "member")
        chat.blocked = False

    def _private_status_update(self, chat: ChatInfo, old: str, new: str) -> None:
        assert chat.user is not None
        self.queue_update(
            "my_chat_member",
            {
                "chat": chat.payload(),
                "from": chat.user.payload(),
                "date": int(time.time()),
                "old_chat_member": member_payload(self.bot_user, old),
                "new_chat_member": member_payload(self.bot_user, new),
            },
        )

    # -- users and chats -------------------------------------------------------------------

    def private_chat(
        self,
        user_id: int,
        first_name: str = "Ada",
        username: str | None = None,
        language_code: str | None = "en",
        *,
        last_name: str | None = None,
    ) -> ChatInfo:
        """Register a user and their private chat with the bot (re-registering updates them).

        The bot may only write there once the user sent something (Telegram's rule).
        """
        if user_id <= 0:
            raise ValueError("private chat ids are the (positive) user id")
        user = UserInfo(user_id, first_name, username, last_name, language_code)
        self.users[user_id] = user
        chat = self.chats.setdefault(user_id, ChatInfo(user_id, "private", user=user))
        chat.user = user
        return chat

    def group(
        self,
        chat_id: int,
        title: str = "Test group",
        type: str = "group",
        *,
        username: str | None = None,
        bot_status: str = "left",
    ) -> ChatInfo:
        """Create a group or supergroup (negative id); the bot is not in it until added.

        Pass ``bot_status="member"`` (or "administrator") to start with the bot inside,
        without the ``my_chat_member`` update that ``add_bot_to_group`` produces.
        """
        if chat_id >= 0 or type not in {"group", "supergroup"}:
            raise ValueError("groups have negative ids and type 'group' or 'supergroup'")
        _check_status(bot_status)
        chat = ChatInfo(chat_id, type, title=title, username=username)
        chat.members[self.bot_user.id] = bot_status
        self.chats[chat_id] = chat
        return chat

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What ``getChatMember`` reports for ``user_id`` (default "member")."""
        _check_status(status)
        self.ensure_user(user_id)
        self.chat(chat_id).members[user_id] = status

    # -- simulated user activity -----------------------------------------------------------

    async def send_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        anonymous_admin: bool = False,
        reply_to_message_id: int | None = None,
    ) -> JSONDict:
        """A user writes ``text``; a leading ``/cmd[@bot]`` gets its ``bot_command`` entity.

        ``anonymous_admin`` sends as Telegram does for anonymous group admins: ``from`` is
        GroupAnonymousBot and ``sender_chat`` the group itself.
        """
        chat, sender = self._sender(chat_id, user_id, anonymous_admin=anonymous_admin)
        content: JSONDict = {"text": text}
        if entities := _command_entities(text):
            content["entities"] = entities
        if anonymous_admin:
            content["sender_chat"] = chat.payload()
        if reply_to_message_id is not None:
            replied = self.stored(chat_id, reply_to_message_id)
            if replied is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id}")
            content["reply_to_message"] = dict(replied.payload)
        return await self._user_message(chat, sender, content)

    async def send_document(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        anonymous_admin: bool = False,
    ) -> JSONDict:
        """A user sends a file: it is kept under a new file id (getFile then gives its
        ``file_path``, the download endpoint its bytes) and arrives as a ``document``
        message; a leading ``/cmd`` in ``caption`` gets its ``bot_command`` entity."""
        chat, sender = self._sender(chat_id, user_id, anonymous_admin=anonymous_admin)
        stored = self.upload_file(data, file_name, mime_type=mime_type)
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": stored.mime_type,
            "file_size": len(data),
        }
        content: JSONDict = {"document": document}
        if caption is not None:
            content["caption"] = caption
            if entities := _command_entities(caption):
                content["caption_entities"] = entities
        if anonymous_admin:
            content["sender_chat"] = chat.payload()
        return await self._user_message(chat, sender, content)

    def upload_file(
        self, data: bytes, file_name: str, *, mime_type: str | None = None
    ) -> StoredFile:
        """Put a file on the fake's servers, as a user's upload does, without a message:
        its ``file_id`` then works for getFile and for sends."""
        if not data:
            raise ValueError("Telegram refuses empty files")
        guessed = mimetypes.guess_type(file_name, strict=False)[0]
        kind = mime_type or guessed or "application/octet-stream"
        return self.store_file(UploadedFile(file_name, kind, data), kind="document")

    async def send_location(
        self, chat_id: int, user_id: int, latitude: float, longitude: float
    ) -> JSONDict:
        """A user shares a location (a plain one, not live)."""
        chat, sender = self._sender(chat_id, user_id, anonymous_admin=False)
        location = {"latitude": latitude, "longitude": longitude}
        return await self._user_message(chat, sender, {"location": location})

    async def edit_text(self, chat_id: int, message_id: int, text: str) -> JSONDict:
        """The author edits their text message: an ``edited_message`` update.

        The stored message takes the new text (and a leading command's entity) and an
        ``edit_date``, as Telegram's copy does; the update carries the whole message.
        """
        stored = self.stored(chat_id, message_id)
        if stored is None or stored.by_bot or "text" not in stored.payload:
            raise ValueError(f"no user text message {message_id} in chat {chat_id}")
        payload = stored.payload
        payload["text"] = text
        payload.pop("entities", None)
        if entities := _command_entities(text):
            payload["entities"] = entities
        payload["edit_date"] = int(time.time())
        self.queue_update("edited_message", dict(payload))
        await asyncio.sleep(0)
        return dict(payload)

    async def send_content(self, chat_id: int, user_id: int, content: JSONDict) -> JSONDict:
        """A user sends any other message content: a sticker, a photo, a poll, a service
        message such as ``new_chat_members``... (``content`` holds the Message fields)."""
        chat, sender = self._sender(chat_id, user_id, anonymous_admin=False)
        return await self._user_message(chat, sender, dict(content))

    async def press(self, chat_id: int, user_id: int, message_id: int, data: str) -> str:
        """A user presses a button of a bot message: a ``callback_query`` update.

        ``data`` is whatever the test says (forged data included). A deleted message comes
        as an ``InaccessibleMessage`` (``date`` 0), like Telegram. Returns the query id.
        """
        chat = self.chat(chat_id)
        stored = self.stored(chat_id, message_id, include_deleted=True)
        if stored is None or not stored.by_bot:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        message = dict(stored.payload)
        if stored.deleted:
            message = {"chat": chat.payload(), "message_id": message_id, "date": 0}
        query_id = self.new_callback_query_id()
        query = {
            "id": query_id,
            "from": self.ensure_user(user_id).payload(),
            "message": message,
            "chat_instance": str(abs(chat_id) * 7919 + 13),
            "data": data,
        }
        self.queue_update("callback_query", query)
        await asyncio.sleep(0)
        return query_id

    async def add_bot_to_group(self, chat_id: int, by_user_id: int) -> JSONDict:
        """``by_user_id`` adds the bot: ``my_chat_member`` then the ``new_chat_members``
        service message, in Telegram's order. Returns the service message."""
        chat = self._group(chat_id)
        old = chat.status_of(self.bot_user.id)
        if old not in {"left", "kicked"}:
            raise ValueError(f"the bot is already in chat {chat_id} ({old})")
        by = self.ensure_user(by_user_id)
        chat.blocked = False
        self._bot_status_update(chat, by, "member")
        return await self._user_message(chat, by, {"new_chat_members": [self.bot_user.payload()]})

    async def remove_bot_from_group(
        self, chat_id: int, by_user_id: int, *, kicked: bool = True
    ) -> None:
        """``by_user_id`` removes (``kicked``) the bot, or it is just "left"; later sends 403."""
        chat = self._group(chat_id)
        self._bot_status_update(chat, self.ensure_user(by_user_id), "kicked" if kicked else "left")
        await asyncio.sleep(0)

    async def migrate_group(
        self, chat_id: int, new_supergroup_id: int, *, by_user_id: int | None = None
    ) -> ChatInfo:
        """Upgrade a group: a ``migrate_to_chat_id`` message in the old chat, then a
        ``migrate_from_chat_id`` one in the new supergroup; the old id then answers 400 with
        ``migrate_to_chat_id``."""
        old = self._group(chat_id)
        if old.type != "group" or new_supergroup_id in self.chats:
            raise ValueError("only a basic group can migrate, to an unused chat id")
        new = ChatInfo(
            new_supergroup_id, "supergroup", title=old.title, members=dict(old.members), seen=True
        )
        self.chats[new_supergroup_id] = new
        by = ANONYMOUS_ADMIN if by_user_id is None else self.ensure_user(by_user_id)
        await self._user_message(old, by, {"migrate_to_chat_id": new_supergroup_id})
        old.migrated_to = new_supergroup_id
        content = {"migrate_from_chat_id": chat_id, "sender_chat": new.payload()}
        await self._user_message(new, ANONYMOUS_ADMIN, content)
        return new

    def _sender(
        self, chat_id: int, user_id: int, *, anonymous_admin: bool
    ) -> tuple[ChatInfo, UserInfo]:
        """The chat and author of a simulated message, refusing impossible combinations."""
        if chat_id not in self.chats and chat_id == user_id > 0:
            known = self.users.get(user_id)
            self.private_chat(user_id, known.first_name if known else "Ada")
        chat = self.chat(chat_id)
        if not chat.is_group:
            if user_id != chat_id or anonymous_admin:
                raise ValueError("in a private chat only its user (not anonymously) writes")
            return chat, self.users[user_id]
        if chat.status_of(self.bot_user.id) in {"left", "kicked"}:
            raise ValueError(f"the bot is not in chat {chat_id}; it would get no updates")
        return chat, ANONYMOUS_ADMIN if anonymous_admin else self.ensure_user(user_id)

    def _group(self, chat_id: int) -> ChatInfo:
        chat = self.chat(chat_id)
        if not chat.is_group:
            raise ValueError(f"chat {chat_id} is not a group")
        return chat

    async def _user_message(self, chat: ChatInfo, sender: UserInfo, content: JSONDict) -> JSONDict:
        """Store a message from someone other than the bot and deliver it as an update.

        A user writing to the bot also unblocks it (with Telegram's ``my_chat_member``
        update first), as restarting a blocked bot does.
        """
        if not chat.is_group:
            self.unblock(chat.id)  # writing to a bot one blocked means unblocking it first
        payload = self.new_message(chat, sender, **content)
        chat.seen = True
        self.queue_update("message", payload)
        await asyncio.sleep(0)
        return dict(payload)

    def _bot_status_update(self, chat: ChatInfo, by: UserInfo, new: str) -> None:
        old = chat.status_of(self.bot_user.id)
        chat.members[self.bot_user.id] = new
        chat.seen = True
        self.queue_update(
            "my_chat_member",
            {
                "chat": chat.payload(),
                "from": by.payload(),
                "date": int(time.time()),
                "old_chat_member": member_payload(self.bot_user, old),
                "new_chat_member": member_payload(self.bot_user, new),
            },
        )

    # -- inspection ------------------------------------------------------------------------

    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[SentMessage]:
        """Messages the bot sent (deleted ones included, flagged), oldest first."""
        return [
            m
            for m in self.sent_messages()
            if (chat_id is None or m.chat_id == chat_id)
            and (method is None or m.method.lower() == method.lower())
        ]

    def messages_in(self, chat_id: int) -> list[JSONDict]:
        """Every undeleted message of the chat, from anyone, as ``Message`` objects."""
        return [dict(m.payload) for m in self.all_messages(chat_id)]

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests of one method (case-insensitive)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline on a condition, not on one await
        *,
        what: str | None = None,
    ) -> None:
        """Wait until ``predicate()`` holds; on timeout fail with a dump of the traffic."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                label = what or getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {label}\n{self.dump()}"
                )
            await asyncio.sleep(_POLL_INTERVAL)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - see wait_for
    ) -> list[SentMessage]:
        """Wait until the bot sent at least ``count`` messages to ``chat_id``; return them."""
        await self.wait_for(
            lambda: len(self.sent(chat_id)) >= count,
            timeout,
            what=f"{count} message(s) to chat {chat_id}",
        )
        return self.sent(chat_id)

    async def wait_until_consumed(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - see wait_for
    ) -> None:
        """Wait until the bot confirmed every queued update (fetched it and polled again).

        Confirmation does not mean the handlers finished; wait for their effects for that.
        """
        await self.wait_for(lambda: self.pending_updates == 0, timeout, what="updates consumed")

    def dump(self) -> str:
        """A readable account of the traffic, for assertion messages."""
        lines = [f"pending updates: {self.pending_updates}", "requests (getUpdates omitted):"]
        for r in [r for r in self.requests if r.method != "getUpdates"][-30:]:
            outcome = "ok" if r.status == 200 else f"{r.status} {r.description}"
            lines.append(f"  {r.method} {_short(r.params)} -> {outcome}")
        lines.append("sent messages:")
        for m in self.sent_messages():
            flags = " (deleted)" if m.deleted else ""
            lines.append(f"  [{m.chat_id}] #{m.message_id}{flags} {m.text!r:.120} {m.buttons}")
        return "\n".join(lines)


async def _read_params(request: web.Request) -> JSONDict:
    """Query string plus body: JSON, urlencoded form or multipart (files kept whole).

    PTB 22 posts ``application/x-www-form-urlencoded`` (multipart only when uploading),
    with strings as-is and everything else, nested objects included, JSON-encoded.
    """
    params: JSONDict = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text())
        except ValueError:
            raise bad_request("can't parse JSON encoded request body") from None
        if not isinstance(body, dict):
            raise bad_request("JSON encoded request body must be an Object")
        params.update(body)
    elif request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                params[key] = UploadedFile(value.filename, value.content_type, value.file.read())
            else:
                params[key] = value if isinstance(value, str) else bytes(value).decode("utf-8")
    return params


def _order_key(update: JSONDict) -> object:
    """Telegram delivers one chat's updates in sequence: the chat (else the sender) of
    an update; an update with neither goes on its own."""
    for value in update.values():
        if not isinstance(value, dict):
            continue
        message = value.get("message") if "message" in value else None
        chat = value.get("chat") or (message.get("chat") if isinstance(message, dict) else None)
        if isinstance(chat, dict):
            return ("chat", chat.get("id"))
        sender = value.get("from")
        if isinstance(sender, dict):
            return ("user", sender.get("id"))
    return ("update", update["update_id"])


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _command_entities(text: str) -> list[JSONDict]:
    """The ``bot_command`` entity Telegram attaches to a leading ``/command[@bot]``."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


def _default_description(status: int, retry_after: int | None, migrate_to: int | None) -> str:
    if migrate_to is not None:
        return "Bad Request: group chat was upgraded to a supergroup chat"
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    return _DEFAULT_DESCRIPTIONS.get(status, f"HTTP {status}")


def _check_status(status: str) -> None:
    if status not in MEMBER_STATUSES:
        raise ValueError(f"member status must be one of {sorted(MEMBER_STATUSES)}")


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _short(params: JSONDict) -> str:
    text = json.dumps(params, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
