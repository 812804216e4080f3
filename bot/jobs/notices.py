"""The notices sender: one-off messages owed to people, sent from the outbox
(bot/storage/notices.py) so that none is lost to a crash or a restart, and none is sent
by two instances.

The transaction that owes a notice (a /forget, a deck deleted) writes its row. A run
claims a batch with a lease and commits, sends each as broadcast traffic (behind
replies to people, as the daily questions), and deletes each row once Telegram has
accepted it. The run is kicked right after the reply that owes the notices (so they go
at once) and by a periodic job on every instance (bot/app.py), which sends what a
crashed or restarted process left: a row nobody sent is claimable from the start, a
claimed one once its lease has run out. A send without an answer (a timeout) may
have arrived: it is retried once at once (bot/telegram/sending.py), then left to a
later run after the lease, as the dispatcher does: at least once, and only such a send
can make a notice arrive twice.

While its sends wait (in the rate limiter behind replies and daily questions) the run
renews its leases every third of their length, as the dispatcher does
(bot/jobs/send_outcomes.py), so no other instance takes them meanwhile; a notice whose
lease this run can no longer vouch for is not sent from here. A blocked or deleted chat
(403, 400) drops the notice with one log line; a notice claimed ``MAX_ATTEMPTS`` times,
or older than ``MAX_AGE``, is dropped with one log line too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import Bot

from bot.jobs.send_outcomes import RENEWALS_PER_LEASE, RETRY_SECONDS
from bot.rendering import deck_sharing_texts as say
from bot.service import db_outage
from bot.service.context import Services
from bot.storage import notices as store
from bot.storage.notices import Notice
from bot.telegram.ratelimit import Traffic
from bot.telegram.sending import (
    Blocked,
    Migrated,
    Rejected,
    Sent,
    Transient,
    deliver,
    send_message_id,
)

log = logging.getLogger(__name__)

BATCH = 50
"""Notices claimed at once (and leased together)."""
RUN_LIMIT = 500
"""The most notices one run claims: a run's work is bounded; the next run goes on."""
CONCURRENCY = 4
MAX_ATTEMPTS = 5
"""Claims after which a notice that never went out is dropped."""
MAX_AGE = timedelta(days=7)
"""A notice not sent within this long is dropped: it would be news nobody needs."""


@dataclass
class NoticeReport:
    """What one run did, for logs and tests."""

    claimed: int = 0
    sent: int = 0
    dropped: int = 0
    """Refused for good by Telegram (blocked, deleted chat), or stale (attempts, age)."""
    retried_later: int = 0
    """Transient failures: claimable again when their lease runs out."""
    lease_lost: int = 0
    released: int = 0


def render(notice: Notice) -> str | None:
    """The notice's text (HTML), rendered now; None for a payload this code cannot read
    (a row from a newer release during a rolling deploy, or a broken one)."""
    titles = notice.payload.get("titles")
    if not isinstance(titles, list) or not titles or not all(isinstance(t, str) for t in titles):
        return None
    if notice.kind == store.OWNER_LEFT:
        return say.owner_left_text(titles)
    if notice.kind == store.DECK_DELETED:
        return say.deck_deleted_text(titles)
    return None


async def send_notices(bot: Bot, services: Services, *, limit: int = RUN_LIMIT) -> NoticeReport:
    """Send claimable notices, batch after batch, until none is left or ``limit`` were
    claimed. Stops claiming when the bot is stopping."""
    report = NoticeReport()
    while report.claimed < limit and not services.stopping.is_set():
        size = min(BATCH, limit - report.claimed)
        batch, until = await _claim(services, size)
        report.claimed += len(batch)
        if batch:
            await _send_batch(bot, services, batch, until, report)
        if len(batch) < size:
            break
    if report.claimed:
        log.info(
            "notices: %d claimed, %d sent, %d dropped, %d left for a retry, %d lease lost, "
            "%d released",
            report.claimed,
            report.sent,
            report.dropped,
            report.retried_later,
            report.lease_lost,
            report.released,
        )
    return report


async def kick(bot: Bot, services: Services) -> None:
    """A run that never raises: after a reply that owed notices, and from the periodic job.

    What it could not do (the database away) the next run does; an outage is said once,
    by DatabaseStatus (bot/service/db_outage.py)."""
    try:
        await send_notices(bot, services)
    except Exception as error:  # one traceback per distinct failure, not one per run
        services.notice_failures.failed(error, services)
    else:
        services.notice_failures.succeeded()


def _refusal(outcome: Blocked | Migrated | Rejected) -> str:
    if isinstance(outcome, Migrated):
        return f"the chat moved to {outcome.new_chat_id}"
    return outcome.reason


def _lease(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.delivery_lease_seconds)


async def _claim(services: Services, size: int) -> tuple[list[Notice], datetime]:
    """Drop the stale notices and claim a batch, in one transaction, committed (none
    when nothing is claimable: the common case writes nothing)."""
    now = services.clock()
    until = now + _lease(services)
    async with services.autocommit() as session:
        if not await store.any_claimable(session=session, now=now):
            return [], until
    async with services.sessions() as session, session.begin():
        stale = await store.drop_stale(
            session=session, now=now, max_attempts=MAX_ATTEMPTS, created_before=now - MAX_AGE
        )
        batch = await store.claim(session=session, now=now, until=until, limit=size)
    for notice in stale:
        log.warning(
            "notice %d (%s) dropped unsent after %d attempts, %d days old",
            notice.id,
            notice.kind,
            notice.attempts,
            (now - notice.created_at).days,
        )
    return batch, until


class _Leases:
    """The claims of a batch: until when this run may vouch for each."""

    def __init__(self, services: Services, batch: Sequence[Notice], until: datetime) -> None:
        self._services = services
        self._until = {notice.id: until for notice in batch}

    def holds(self, notice: Notice) -> bool:
        until = self._until.get(notice.id)
        return until is not None and self._services.clock() < until

    def done(self, notice: Notice) -> None:
        self._until.pop(notice.id, None)

    async def renew(self) -> None:
        """Extend the leases still held, in one statement (only those still running)."""
        now = self._services.clock()
        ids = [notice for notice, until in self._until.items() if until > now]
        if not ids:
            return
        until = now + _lease(self._services)
        try:
            async with self._services.sessions() as session, session.begin():
                renewed = await store.renew(ids, session=session, now=now, until=until)
        except Exception as error:
            if db_outage.is_unavailable(error):
                db_outage.status_of(self._services.engine).failed(error)
            else:
                log.error("could not renew %d notice leases: %s", len(ids), error)
            return
        for notice in renewed:
            if notice in self._until:
                self._until[notice] = until

    @contextlib.asynccontextmanager
    async def kept(self) -> AsyncIterator[None]:
        """Renew every third of the lease while the body runs."""

        async def keep() -> None:
            every = _lease(self._services).total_seconds() / RENEWALS_PER_LEASE
            while True:
                await asyncio.sleep(every)
                await self.renew()

        task = asyncio.create_task(keep(), name="notice-leases")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _send_batch(
    bot: Bot, services: Services, batch: list[Notice], until: datetime, report: NoticeReport
) -> None:
    """Send a claimed batch (leased until ``until``), a few at a time; delete each sent
    or refused notice's row as soon as its answer came."""
    leases = _Leases(services, batch, until)
    semaphore = asyncio.Semaphore(CONCURRENCY)
    released: list[int] = []

    async def one(notice: Notice) -> None:
        async with semaphore:
            if services.stopping.is_set():
                released.append(notice.id)  # another run sends it, at once
                leases.done(notice)
                return
            if not leases.holds(notice):
                report.lease_lost += 1  # it may be another instance's now; a later run
                return
            text = render(notice)
            if text is None:
                log.warning(
                    "notice %d (%s) dropped: its payload cannot be read", notice.id, notice.kind
                )
                report.dropped += 1
                await _finish(services, [notice.id])
                return
            params: dict[str, object] = {
                "chat_id": notice.person_id,
                "text": text,
                "parse_mode": "HTML",
            }

            async def call() -> int:
                return await send_message_id(bot, params, traffic=Traffic.BROADCAST)

            outcome = await deliver(call)
        leases.done(notice)
        if isinstance(outcome, Transient):
            report.retried_later += 1
            log.info(
                "notice %d (%s) not sent (%s); retried after its lease",
                notice.id,
                notice.kind,
                outcome.reason,
            )
            return
        if isinstance(outcome, Sent):
            report.sent += 1
        else:
            report.dropped += 1
            log.warning(
                "notice %d (%s) dropped: Telegram refused it for good (%s)",
                notice.id,
                notice.kind,
                _refusal(outcome),
            )
        await _finish(services, [notice.id])

    async with leases.kept():
        await asyncio.gather(*(one(notice) for notice in batch))
    if released:
        report.released += len(released)
        with contextlib.suppress(Exception):  # only shortens leases; they run out anyway
            async with services.sessions() as session, session.begin():
                await store.release(released, session=session, now=services.clock())


async def _finish(services: Services, ids: list[int]) -> None:
    """Delete done notices, retrying through a database outage: a sent notice whose row
    stayed would be sent again after its lease. Given up only when the bot stops."""
    status = db_outage.status_of(services.engine)
    while True:
        try:
            async with services.sessions() as session, session.begin():
                await store.delete_done(ids, session=session)
        except Exception as error:
            if db_outage.is_unavailable(error) and not services.stopping.is_set():
                status.failed(error)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            log.error("could not delete %d sent notices: %s", len(ids), db_outage.describe(error))
        return
