"""Group commit of send outcomes: one transaction for every outcome that is ready.

Recording each send in its own transaction costs a commit per message and, on
SQLite, writers that sleep on each other's locks. The recorder instead keeps
one writer: whatever finished while the previous commit ran is committed
together in the next one. A crash can therefore forget at most the outcomes of
one commit in flight (milliseconds), which are re-sent after their lease ends.

When the database cannot be reached, a commit is retried until it can: those
messages did reach Telegram, and forgetting their outcome would send them again
once their lease ran out. Deliveries the dispatcher claimed but did not send
because the bot is stopping are released (lease ended now), so the next tick of
any instance sends them at once instead of waiting for the lease.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import update

from bot import db_outage
from bot.context import Services
from bot.questions import PreparedSend, record_outcome
from bot.sending import Outcome, Sent
from bot.storage.models import DeliveryRow

RETRY_SECONDS = 1.0


class OutcomeRecorder:
    """Collects (delivery, outcome) pairs and commits them in batches, in order."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._pending: list[tuple[PreparedSend, Outcome]] = []
        self._released: list[int] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="outcome-recorder")

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
        """Wait until everything added so far is committed."""
        if self._pending or self._released:
            self._idle.clear()
            self._wakeup.set()
        await self._idle.wait()
        if self._task.done():
            self._task.result()  # surface a failed commit

    async def close(self) -> None:
        await self.drain()
        self._closed = True
        self._wakeup.set()
        await self._task

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._pending or self._released:
                batch, self._pending = self._pending, []
                released, self._released = self._released, []
                await self._commit_until_recorded(batch, released)
            if not self._pending and not self._released:
                self._idle.set()
                if self._closed:
                    return

    async def _commit_until_recorded(
        self, batch: list[tuple[PreparedSend, Outcome]], released: list[int]
    ) -> None:
        """Commit, retrying through a database outage (see the module docstring)."""
        status = db_outage.status_of(self._services.engine)
        while True:
            try:
                await self._commit(batch, self._services.clock(), released)
            except Exception as error:
                if not db_outage.is_unavailable(error):
                    raise
                status.failed(error)
                await asyncio.sleep(RETRY_SECONDS)
            else:
                return

    async def _commit(
        self,
        batch: list[tuple[PreparedSend, Outcome]],
        now: datetime,
        released: list[int] | None = None,
    ) -> None:
        sent = [
            {
                "id": item.delivery_id,
                "status": "sent",
                "message_id": outcome.message_id,
                "sent_at": now,
                "lease_until": None,
            }
            for item, outcome in batch
            if isinstance(outcome, Sent)
        ]
        async with self._services.sessions() as session, session.begin():
            if sent:
                await session.execute(update(DeliveryRow), sent)
            for item, outcome in batch:
                if not isinstance(outcome, Sent):
                    await record_outcome(item, outcome, session=session, now=now)
            if released:
                await session.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.id.in_(released), DeliveryRow.status == "pending")
                    .values(lease_until=now)
                )
