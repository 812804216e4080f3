"""Running the bot as a service: start in polling or webhook mode, stop gracefully.

``run`` is what ``interview-bot run`` does. It replaces PTB's ``run_polling`` so
that one code path serves both modes, the HTTP server (bot/service/web.py) and a shutdown
that keeps the delivery guarantees, all of it within ``SHUTDOWN_SECONDS``:

1. SIGTERM/SIGINT sets ``Services.stopping``: the dispatcher claims nothing more,
   sends nothing more, and releases what it had claimed but not sent yet; the job
   queue starts no job (the running tick is waited for, none is cancelled unstarted);
2. no more updates are taken: the webhook answers 503 so Telegram retries, perhaps
   on another instance, and POSTs already past that point finish putting their
   update on the queue (before PTB's stop signal, which would drop them); long
   polling stops;
3. updates already taken and sends in flight finish, and their outcomes are
   committed (``Application.stop`` waits for the queue and the dispatcher's tick);
   the webhook answers each of those POSTs 200 once its update is handled;
4. if that does not end ``CLOSING_SECONDS`` before the limit, the updates still being
   handled are cut short and the log says how many: a webhook update's claim is
   released and its POST answered 503, so Telegram re-delivers it (to another
   instance, or this one after its restart); with long polling they are lost, as
   Telegram was told they arrived;
5. the HTTP server, the database and the Bot API sessions are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url
from telegram.request import BaseRequest

from bot.service.config import Settings
from bot.service.context import BotApplication, BotContext
from bot.service.gc_tuning import tune_garbage_collector
from bot.service.web import WebServer
from bot.storage import processed_updates
from bot.telegram.inflight import InFlightUpdates
from bot.telegram.updates import ALLOWED_UPDATES as ALLOWED_UPDATES  # also for tests

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 9.0
# Kept back from the limit for what follows the drain: releasing the claims of
# updates cut short, answering their POSTs, closing the database and the sessions.
CLOSING_SECONDS = 3.0
PRUNE_INTERVAL = timedelta(minutes=10)


class SingleInstanceError(Exception):
    """A second process on one SQLite database; the message is meant for a person."""


class BotService:
    """The Application with its update source (polling or webhook) and HTTP server."""

    def __init__(
        self,
        application: BotApplication,
        settings: Settings,
        *,
        poll_interval: float = 0.0,
        poll_timeout: int = 10,
    ) -> None:
        self.application = application
        self.settings = settings
        self.web: WebServer | None = None
        self._poll_interval = poll_interval
        self._poll_timeout = poll_timeout
        self._initialized = False

    async def start(self) -> None:
        application = self.application
        try:
            await application.initialize()
        except BaseException:
            await _close_requests(application)
            raise
        self._initialized = True
        if application.post_init is not None:
            await application.post_init(application)
        address = self.settings.listen_address
        if address is not None:
            self.web = WebServer(application, self.settings)
            await self.web.start(*address)
        if self.settings.webhook_mode:
            await self._set_webhook()
        else:
            assert application.updater is not None
            # start_polling deletes a webhook left from an earlier run first.
            await application.updater.start_polling(
                poll_interval=self._poll_interval,
                timeout=self._poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
        await application.start()
        if self.web is not None:
            self.web.ready = True

    async def _set_webhook(self) -> None:
        settings = self.settings
        assert settings.webhook_url is not None
        assert settings.webhook_secret is not None
        await self.application.bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        assert self.application.job_queue is not None
        self.application.job_queue.run_repeating(
            _prune_processed_updates,
            interval=PRUNE_INTERVAL,
            first=timedelta(minutes=1),
            name="prune-processed-updates",
        )
        log.info("webhook set: Telegram posts updates to %s", settings.webhook_url)

    async def stop(self, *, limit: float = SHUTDOWN_SECONDS) -> None:
        """Stop taking updates, finish what is in flight, close everything (idempotent).

        Every step is bounded so that the whole takes at most ``limit`` seconds and
        always ends with the database and the Bot API sessions closed.
        """
        application = self.application
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        closing = min(CLOSING_SECONDS, limit / 3)
        drain_until = deadline - closing
        services = application.bot_data.services
        if services is not None:
            services.stopping.set()
        _pause_jobs(application)
        if self.web is not None:
            await _within(self.web.quiesce(), drain_until - loop.time(), "taking updates")
        if application.updater is not None and application.updater.running:
            await _within(application.updater.stop(), drain_until - loop.time(), "polling")
        if application.running:
            await self._drain(drain_until, give_up_at=deadline - closing / 2)
        if self.web is not None:
            await self.web.stop()
        if self._initialized:
            self._initialized = False
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
            await application.shutdown()

    async def _drain(self, cut_at: float, *, give_up_at: float) -> None:
        """``Application.stop``: it handles what was queued and waits for the jobs. At
        ``cut_at`` the updates still being handled are cut short; at ``give_up_at`` the
        stop itself is (a job that does not end)."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.create_task(self.application.stop(), name="application-stop")
        done, _ = await asyncio.wait((stopping,), timeout=max(0.0, cut_at - loop.time()))
        if not done:
            processor = self.application.update_processor
            cut = processor.cancel_all() if isinstance(processor, InFlightUpdates) else 0
            if cut:
                log.warning(
                    "shutdown limit: %d update(s) not handled in time; %s",
                    cut,
                    "released, Telegram delivers them again"
                    if self.settings.webhook_mode
                    else "dropped (long polling cannot give them back)",
                )
            done, _ = await asyncio.wait((stopping,), timeout=max(0.0, give_up_at - loop.time()))
        if not done:
            log.error("shutdown limit: the running jobs did not stop in time; cancelled")
            stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopping
        processor = self.application.update_processor
        if isinstance(processor, InFlightUpdates) and (left := processor.cancel_waiters()):
            # Never reached the processor (cannot happen once the webhook is quiesced,
            # but their POSTs must not wait forever): released like the ones cut short.
            log.warning("shutdown: %d queued update(s) were never handled; released", left)


def _pause_jobs(application: BotApplication) -> None:
    """No job starts from now on; the running ones are waited for by ``Application.stop``.

    PTB's ``JobQueue.stop`` waits for the jobs running when it is called, then shuts
    the scheduler down, which cancels any job submitted in between: a tick due in that
    window would end in APScheduler's "Error running job" traceback. Paused, none is.
    """
    queue = application.job_queue
    if queue is not None and queue.scheduler.running:
        queue.scheduler.pause()


async def _within(step: Awaitable[None], seconds: float, what: str) -> None:
    """Run one shutdown step for at most ``seconds``; the shutdown goes on regardless."""
    try:
        async with asyncio.timeout(max(0.0, seconds)):
            await step
    except TimeoutError:
        log.warning("shutdown limit: stopped waiting for %s", what)


async def _close_requests(application: BotApplication) -> None:
    """Close the HTTP sessions a failed ``initialize`` (Telegram unreachable, token
    refused) left open; ``Application.shutdown`` skips them when not initialized."""
    requests: tuple[BaseRequest, ...] = getattr(application.bot, "_request", ())
    for request in requests:
        await request.shutdown()


async def _prune_processed_updates(context: BotContext) -> None:
    services = context.services
    await processed_updates.prune(services.engine, now=services.clock())


async def run(application: BotApplication, settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully (see the module docstring)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    service = BotService(application, settings)
    try:
        await service.start()
        tune_garbage_collector()  # after start-up: what it built lives as long as the process
        log.info("running (%s)", "webhook" if settings.webhook_mode else "long polling")
        await stop.wait()
        log.info("stopping: finishing what is in flight")
    finally:
        try:
            # service.stop keeps to SHUTDOWN_SECONDS itself; this is the last resort.
            async with asyncio.timeout(SHUTDOWN_SECONDS + 0.5):
                await service.stop()
        except TimeoutError:
            log.error("shutdown took longer than %.0f s; exiting anyway", SHUTDOWN_SECONDS)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped")


@contextlib.contextmanager
def single_instance(database_url: str) -> Iterator[None]:
    """Refuse a second process on the same SQLite file (PostgreSQL takes any number).

    An advisory lock (flock) on a file next to the database, held while the bot
    runs and released by the OS even if the process dies.
    """
    url = make_url(database_url)
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, no check
        yield
        return
    lock_path = Path(path).with_name(Path(path).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = lock_path.open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SingleInstanceError(
                f"Another interview-bot process is already running on the SQLite database "
                f"{path}.\nSQLite is for one process. Stop the other one, or use PostgreSQL "
                f"(DATABASE_URL=postgresql+asyncpg://...) to run several instances."
            ) from None
        yield
    finally:
        handle.close()
