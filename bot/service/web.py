"""The bot's HTTP server: Telegram's webhook, ``/healthz`` and ``/metrics`` (aiohttp).

This is python-telegram-bot's "custom webhook" pattern, with one difference: a POST
is answered only once its update was handled. Telegram re-delivers an update that
did not get 2xx, so an update is never lost: if this instance dies or gives the
update up while handling it, Telegram asks again, here or at another instance.

A POST: the secret token header is checked first (403, the body is not even read);
while stopping the answer is 503 (Telegram retries, perhaps elsewhere); the body is
parsed (400 if it is not an update); the ``update_id`` is claimed in the database
(bot/storage/processed_updates.py, shared by every instance); the update goes on
the Application's ``update_queue``; once its handlers are done the claim is marked
done and the answer is 200. A delivery of an update handled before gets 200 at once;
one that another delivery is handling right now gets 503 (ask again later). Claims
being handled are renewed so that only a dead instance's claims are taken over.
TLS is the reverse proxy's job: this listens on plain HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import socket
from collections.abc import Awaitable
from datetime import timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select
from telegram import Update

from bot.service import db_outage, metrics
from bot.service.config import Settings
from bot.service.context import BotApplication, Services
from bot.storage import processed_updates
from bot.storage.models import ChatRow
from bot.storage.processed_updates import Claim
from bot.telegram.inflight import InFlightUpdates

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
        self._claim_timeout = timedelta(seconds=settings.webhook_claim_timeout_seconds)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._renewer: asyncio.Task[None] | None = None
        # POSTs past the "accepting" check that have not put their update on the queue
        # yet; stopping waits for them (``quiesce``) before PTB's stop signal is queued.
        self._queuing = 0
        self._none_queuing = asyncio.Event()
        self._none_queuing.set()
        # Claimed updates whose POST waits for their handling (renewed meanwhile).
        self._holding: set[int] = set()
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

    @property
    def holding(self) -> int:
        """Webhook POSTs waiting for their update's handling."""
        return len(self._holding)

    async def start(self, host: str, port: int) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        if self._settings.webhook_mode:
            app.router.add_post(self._settings.webhook_path, self._webhook)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
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
        if self._settings.webhook_mode:
            self._renewer = asyncio.create_task(self._renew_claims(), name="renew-webhook-claims")
        log.info("HTTP server listening on %s:%d", host, self._port)

    async def quiesce(self) -> None:
        """Take no more updates (503 from now on); return once every POST already past
        that check has put its update on the queue (or given up)."""
        self.ready = False
        self.accepting_updates = False
        await self._none_queuing.wait()

    async def stop(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _services(self) -> Services | None:
        return self._application.bot_data.services

    def _tracker(self) -> InFlightUpdates:
        processor = self._application.update_processor
        if not isinstance(processor, InFlightUpdates):
            raise TypeError("webhook mode needs the InFlightUpdates processor (bot/app.py)")
        return processor

    # -- webhook ---------------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        # The secret first, from the header alone: a forged request costs no body read.
        # Header bytes that are not UTF-8 arrive as surrogate escapes; encoded back the
        # same way they are compared as the bytes that were sent (and never match).
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if self._secret is None or not hmac.compare_digest(given, self._secret):
            log.warning("webhook request without the right secret token from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        services = self._services()
        if not self.accepting_updates or services is None or not self._application.running:
            # Stopping (or not started yet): Telegram retries, maybe on another instance.
            return web.Response(status=503, text="not taking updates")
        self._queuing += 1
        self._none_queuing.clear()
        try:
            taken = await self._take(request, services)
        finally:
            self._queuing -= 1
            if self._queuing == 0:
                self._none_queuing.set()
        if isinstance(taken, web.Response):
            return taken
        update, handled, claimed = taken
        return await self._answer_when_handled(services, update, handled, claimed=claimed)

    async def _take(
        self, request: web.Request, services: Services
    ) -> web.Response | tuple[Update, asyncio.Future[None], bool]:
        """Read, parse and claim the update and put it on the queue; or the answer why not."""
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("oversized webhook body from %s", request.remote)
            return web.Response(status=413, text="too large")
        update = self._parse_update(body, request.remote)
        if update is None:
            return web.Response(status=400, text="malformed update")
        claim = await self._claim(services, update.update_id)
        if claim is Claim.DONE:
            metrics.UPDATES_DUPLICATE.inc()
            log.info(
                "update %d was handled before; acknowledged, not handled again",
                update.update_id,
                extra={"update_id": update.update_id},
            )
            return web.Response(status=200, text="ok")
        if claim is Claim.BUSY:
            log.info(
                "update %d is being handled by another delivery; Telegram will ask again",
                update.update_id,
                extra={"update_id": update.update_id},
            )
            return web.Response(status=503, text="being handled")
        if claim is Claim.TAKEN_OVER:
            metrics.UPDATES_TAKEN_OVER.inc()
            log.warning(
                "update %d was claimed but not handled in time; taking it over",
                update.update_id,
                extra={"update_id": update.update_id},
            )
        handled = self._tracker().expect(update)
        await self._application.update_queue.put(update)
        return update, handled, claim is not None

    async def _answer_when_handled(
        self, services: Services, update: Update, handled: asyncio.Future[None], *, claimed: bool
    ) -> web.Response:
        """Wait for the update's handling: 200 once done, 503 if it was cut short."""
        update_id = update.update_id
        if claimed:
            self._holding.add(update_id)
        try:
            # ``wait`` leaves ``handled`` alone if this request is cancelled (the server
            # closing): the claim then stays, and its timeout lets the retry take over.
            await asyncio.wait((handled,))
        finally:
            self._holding.discard(update_id)
        if handled.cancelled():
            # Cut short at the shutdown limit: give the claim up so that Telegram's
            # retry (here after a restart, or at another instance) handles it at once.
            metrics.UPDATES_RELEASED.inc()
            if claimed:
                await self._database_call(
                    services, processed_updates.release(services.engine, [update_id])
                )
            return web.Response(status=503, text="not handled, ask again")
        if claimed:
            await self._database_call(
                services,
                processed_updates.finish(services.engine, update_id, now=services.clock()),
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

    async def _claim(self, services: Services, update_id: int) -> Claim | None:
        """Claim the update_id; None during a database outage (handle it anyway).

        Without the database the duplicate check cannot run, and dropping the update
        would leave the person without even the "try again" answer.
        """
        try:
            return await processed_updates.claim(
                services.engine,
                update_id,
                now=services.clock(),
                abandoned_after=self._claim_timeout,
            )
        except Exception as error:
            if not db_outage.is_unavailable(error):
                raise
            db_outage.status_of(services.engine).failed(error)
            return None

    async def _database_call(self, services: Services, call: Awaitable[object]) -> None:
        """Mark a claim done or release it; during an outage the claim stays as it is
        (its timeout lets a retry take it over), and the outage is logged once."""
        try:
            await call
        except Exception as error:
            if not db_outage.is_unavailable(error):
                raise
            db_outage.status_of(services.engine).failed(error)

    async def _renew_claims(self) -> None:
        """Every third of the claim timeout, renew the claims of updates being handled."""
        interval = self._claim_timeout.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            services = self._services()
            if services is None or not self._holding:
                continue
            try:
                await processed_updates.renew(
                    services.engine, set(self._holding), now=services.clock()
                )
            except Exception as error:
                if not db_outage.is_unavailable(error):
                    log.warning("could not renew webhook claims: %s", str(error)[:200])
                    continue
                db_outage.status_of(services.engine).failed(error)

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
