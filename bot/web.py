"""The bot's HTTP server: Telegram's webhook, ``/healthz`` and ``/metrics`` (aiohttp).

This is python-telegram-bot's "custom webhook" pattern: an aiohttp application
receives Telegram's POSTs, checks the secret token, claims the ``update_id`` in
the database (bot/storage/processed_updates.py, so a retried or load-balanced
duplicate is handled once across instances), puts the update on the
Application's ``update_queue`` and answers 200 at once; handling continues
asynchronously. TLS is the reverse proxy's job: this listens on plain HTTP.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import socket

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select
from telegram import Update

from bot import db_outage, metrics
from bot.config import Settings
from bot.context import BotApplication, Services
from bot.storage import processed_updates
from bot.storage.models import ChatRow

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are small; a larger body is not an update.
MAX_BODY_BYTES = 1024 * 1024


class ListenError(Exception):
    """The HTTP server could not listen (port taken, no permission); meant for a person."""


class WebServer:
    """Serves the webhook path (in webhook mode), ``/healthz`` and ``/metrics``."""

    def __init__(self, application: BotApplication, settings: Settings) -> None:
        self._application = application
        self._settings = settings
        self._secret = (
            settings.webhook_secret.get_secret_value().encode()
            if settings.webhook_secret is not None
            else None
        )
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        # Set once the Application runs; cleared when it starts stopping.
        self.ready = False
        self.accepting_updates = True
        self.mode = "webhook" if settings.webhook_mode else "polling"
        self.instance = f"{socket.gethostname()}:{os.getpid()}"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the web server is not running")
        return self._port

    async def start(self, host: str, port: int) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        if self._settings.webhook_mode:
            app.router.add_post(self._settings.webhook_path, self._webhook)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise ListenError(
                f"HTTP_LISTEN: cannot listen on {host}:{port}: {error.strerror}"
            ) from None
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        log.info("HTTP server listening on %s:%d", host, self._port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _services(self) -> Services | None:
        return self._application.bot_data.services

    # -- webhook ---------------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        # The whole body is read before any answer, so even a refused request leaves the
        # proxy's keep-alive connection clean for the next one.
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("oversized webhook body from %s", request.remote)
            return web.Response(status=413, text="too large")
        given = request.headers.get(SECRET_HEADER, "").encode()
        if self._secret is None or not hmac.compare_digest(given, self._secret):
            log.warning("webhook request without the right secret token from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        services = self._services()
        if not self.accepting_updates or services is None or not self._application.running:
            # Stopping (or not started yet): Telegram retries, maybe on another instance.
            return web.Response(status=503, text="not taking updates")
        update = self._parse_update(body, request.remote)
        if update is None:
            return web.Response(status=400, text="malformed update")
        if await self._first_delivery(services, update.update_id):
            await self._application.update_queue.put(update)
        else:
            metrics.UPDATES_DUPLICATE.inc()
            log.info(
                "update %d was delivered before; acknowledged, not processed again",
                update.update_id,
                extra={"update_id": update.update_id},
            )
        return web.Response(status=200, text="ok")

    def _parse_update(self, body: bytes, remote: str | None) -> Update | None:
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an Update object (no integer update_id)")
            update = Update.de_json(data, self._application.bot)
        except Exception as error:  # any malformed body is the sender's problem: 400
            log.warning("malformed webhook body from %s: %s", remote, str(error)[:200])
            return None
        return update

    async def _first_delivery(self, services: Services, update_id: int) -> bool:
        """Claim the update_id; during a database outage handle it anyway.

        Without the database the duplicate check cannot run, and dropping the update
        would leave the person without even the "try again" answer.
        """
        try:
            return await processed_updates.claim(services.engine, update_id, now=services.clock())
        except Exception as error:
            if not db_outage.is_unavailable(error):
                raise
            db_outage.status_of(services.engine).failed(error)
            return True

    # -- health and metrics ----------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        services = self._services()
        running = self.ready and self._application.running
        database = services is not None and await db_outage.ping(services.engine)
        if services is not None and database:
            db_outage.status_of(services.engine).succeeded()
        healthy = running and database
        body = {
            "status": "ok" if healthy else "unavailable",
            "running": running,
            "database": "up" if database else "down",
            "mode": self.mode,
            "instance": self.instance,
        }
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        services = self._services()
        if services is not None:
            await _refresh_active_chats(services)
        return web.Response(
            body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


async def _refresh_active_chats(services: Services) -> None:
    """Count active chats for the gauge; keep the last value if the database is away."""
    try:
        async with asyncio.timeout(db_outage.PING_TIMEOUT_SECONDS), services.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(ChatRow)
                .where(ChatRow.active.is_(True), ChatRow.paused.is_(False))
            )
    except Exception as error:
        if not (db_outage.is_unavailable(error) or isinstance(error, TimeoutError)):
            raise
        return
    metrics.ACTIVE_CHATS.set(int(count or 0))
