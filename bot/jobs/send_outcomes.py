"""One writer per dispatcher tick: group commits of send outcomes, and the leases of the
deliveries the tick is sending.

Outcomes. Recording each send in its own transaction costs a commit per message
and, on SQLite, writers that sleep on each other's locks. The recorder instead
keeps one writer: whatever finished while the previous commit ran is committed
together in the next one. A crash can therefore forget at most the outcomes of
one commit in flight (milliseconds), which are re-sent after their lease ends.

Leases. A claimed delivery is leased from the instant it is claimed
(``lease_until`` = claim + ``DELIVERY_LEASE_SECONDS``). While the tick holds it
(waiting for its turn, in the rate limiter behind replies, in flight, or sent
and not yet recorded) the recorder renews the lease every third of its length,
one UPDATE for all of them, so no other instance re-sends it while this one is
alive however long the broadcast takes. When the process dies the renewals stop,
the lease runs out, and any instance's next tick sends the rest. A delivery
whose lease this instance can no longer vouch for (renewals failed, the event
loop stalled past it) is not sent from here: it may be another instance's now.

Failures. When the database cannot be reached, a commit is retried until it
can: those messages did reach Telegram, and forgetting their outcome would send
them again once their lease ran out. Any other failure of a group commit (a bug,
a row deleted by /forget meanwhile) is not retried: the outcomes are recorded
one at a time, the vanished rows are skipped, and one log line says what
happened. The recorder never stops, so the tick it serves always ends.

Deliveries the dispatcher claimed but did not send because the bot is stopping
are released (lease ended now), so the next tick of any instance sends them at
once instead of waiting for the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select

from bot.domain.clock import Clock
from bot.service import db_outage
from bot.service.context import Services
from bot.storage import deliveries as delivery_store
from bot.storage.models import DeliveryRow
from bot.study.questions import PreparedSend, record_outcome
from bot.telegram.sending import Outcome, Sent

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
# Renew a third of the way into the lease: two renewals may fail before it runs out.
RENEWALS_PER_LEASE = 3

Recorded = Literal["recorded", "vanished", "failed"]


class OutcomeRecorder:
    """Collects (delivery, outcome) pairs and commits them in batches, in order; keeps the
    leases of the deliveries it was told are held (``hold``) until they are recorded."""

    def __init__(self, services: Services, *, clock: Clock | None = None) -> None:
        self._services = services
        self._clock = clock or services.clock
        self._lease = timedelta(seconds=services.settings.delivery_lease_seconds)
        self._renew_every = self._lease.total_seconds() / RENEWALS_PER_LEASE
        self._held: dict[int, datetime] = {}
        """Delivery id -> the instant until which this instance knows its lease is valid."""
        self._pending: list[tuple[PreparedSend, Outcome]] = []
        self._released: list[int] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="outcome-recorder")

    @property
    def lease(self) -> timedelta:
        return self._lease

    def hold(self, items: Iterable[PreparedSend], *, until: datetime) -> None:
        """Deliveries just claimed, leased until ``until``: renew them until recorded."""
        for item in items:
            self._held[item.delivery_id] = until

    def holds(self, item: PreparedSend) -> bool:
        """Whether this instance's lease on the delivery is still known to be valid."""
        until = self._held.get(item.delivery_id)
        return until is not None and self._clock() < until

    def add(self, item: PreparedSend, outcome: Outcome) -> None:
        self._pending.append((item, outcome))
        self._idle.clear()
        self._wakeup.set()

    def release(self, item: PreparedSend) -> None:
        """A claimed delivery that will not be sent now: end its lease for a prompt re-send."""
        self._released.append(item.delivery_id)
        self._idle.clear()
        self._wakeup.set()

    async def drain(self) -> None:
        """Wait until everything added so far is committed (or could not be)."""
        if self._pending or self._released:
            self._idle.clear()
            self._wakeup.set()
        idle = asyncio.ensure_future(self._idle.wait())
        try:
            await asyncio.wait({idle, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()

    async def close(self) -> None:
        await self.drain()
        self._closed = True
        self._wakeup.set()
        await asyncio.wait({self._task})
        self._held.clear()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_renewal = loop.time() + self._renew_every
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_renewal - loop.time())):
                    await self._wakeup.wait()
            self._wakeup.clear()
            try:
                if self._pending or self._released:
                    batch, self._pending = self._pending, []
                    released, self._released = self._released, []
                    await self._record(batch, released)
                if loop.time() >= next_renewal:
                    next_renewal = loop.time() + self._renew_every
                    await self._renew()
            except Exception:  # _record and _renew handle their failures; never stop here
                log.exception("outcome recorder: unexpected error; carrying on")
            if not self._pending and not self._released:
                self._idle.set()
                if self._closed:
                    return

    # -- leases ----------------------------------------------------------------------------

    async def _renew(self) -> None:
        """Extend the lease of every delivery still held, in one statement.

        Only leases that are still running are extended (``lease_until > now``): a
        delivery whose lease ran out may have been claimed by another instance, and
        is not taken back. What was not renewed stays with its old deadline here, after
        which ``holds`` says no and it is not sent from this instance.
        """
        now = self._clock()
        ids = [delivery for delivery, until in self._held.items() if until > now]
        if not ids:
            return
        until = now + self._lease
        try:
            async with self._services.sessions() as session, session.begin():
                renewed = await delivery_store.renew_leases(
                    ids, session=session, now=now, until=until
                )
        except Exception as error:
            if db_outage.is_unavailable(error):
                db_outage.status_of(self._services.engine).failed(error)
            else:
                log.error("could not renew %d delivery leases: %s", len(ids), error)
            return
        for delivery in renewed:
            if delivery in self._held:
                self._held[delivery] = until

    # -- outcomes --------------------------------------------------------------------------

    async def _record(self, batch: list[tuple[PreparedSend, Outcome]], released: list[int]) -> None:
        """Commit, retrying through a database outage; one by one after any other failure."""
        status = db_outage.status_of(self._services.engine)
        while True:
            try:
                await self._commit(batch, self._clock(), released)
            except Exception as error:
                if db_outage.is_unavailable(error):
                    status.failed(error)
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                await self._record_one_by_one(batch, released, error)
            break
        for item, _ in batch:
            self._held.pop(item.delivery_id, None)
        for delivery in released:
            self._held.pop(delivery, None)

    async def _commit(
        self,
        batch: list[tuple[PreparedSend, Outcome]],
        now: datetime,
        released: list[int] | None = None,
    ) -> None:
        sent = [
            {"delivery": item.delivery_id, "message": outcome.message_id}
            for item, outcome in batch
            if isinstance(outcome, Sent)
        ]
        async with self._services.sessions() as session, session.begin():
            if sent:
                await delivery_store.mark_many_sent(sent, session=session, now=now)
            for item, outcome in batch:
                if not isinstance(outcome, Sent):
                    await record_outcome(item, outcome, session=session, now=now)
            if released:
                await delivery_store.end_leases(released, session=session, now=now)

    async def _record_one_by_one(
        self, batch: list[tuple[PreparedSend, Outcome]], released: list[int], error: Exception
    ) -> None:
        """The group commit failed for a reason other than an outage: record what can be."""
        counts: dict[Recorded, int] = {"recorded": 0, "vanished": 0, "failed": 0}
        for item, outcome in batch:
            counts[await self._record_single(item, outcome)] += 1
        if released:
            with contextlib.suppress(Exception):  # only shortens leases; they run out anyway
                async with self._services.sessions() as session, session.begin():
                    await delivery_store.end_leases(released, session=session, now=self._clock())
        log.error(
            "recording %d send outcomes together failed (%s); recorded one by one: "
            "%d recorded, %d skipped (deleted meanwhile), %d failed",
            len(batch),
            db_outage.describe(error),
            counts["recorded"],
            counts["vanished"],
            counts["failed"],
            exc_info=error,
        )

    async def _record_single(self, item: PreparedSend, outcome: Outcome) -> Recorded:
        status = db_outage.status_of(self._services.engine)
        while True:
            try:
                async with self._services.sessions() as session, session.begin():
                    found = await session.scalar(
                        select(DeliveryRow.id).where(DeliveryRow.id == item.delivery_id)
                    )
                    if found is None:
                        return "vanished"
                    await record_outcome(item, outcome, session=session, now=self._clock())
            except Exception as error:
                if db_outage.is_unavailable(error):
                    status.failed(error)
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                return "failed"
            return "recorded"
