"""Group commit of send outcomes: one transaction for every outcome that is ready.

Recording each send in its own transaction costs a commit per message and, on
SQLite, writers that sleep on each other's locks. The recorder instead keeps
one writer: whatever finished while the previous commit ran is committed
together in the next one. A crash can therefore forget at most the outcomes of
one commit in flight (milliseconds), which are re-sent after their lease ends.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import update

from bot.context import Services
from bot.questions import PreparedSend, record_outcome
from bot.sending import Outcome, Sent
from bot.storage.models import DeliveryRow


class OutcomeRecorder:
    """Collects (delivery, outcome) pairs and commits them in batches, in order."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._pending: list[tuple[PreparedSend, Outcome]] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="outcome-recorder")

    def add(self, item: PreparedSend, outcome: Outcome) -> None:
        self._pending.append((item, outcome))
        self._idle.clear()
        self._wakeup.set()

    async def drain(self) -> None:
        """Wait until everything added so far is committed."""
        if self._pending:
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
            if self._pending:
                batch, self._pending = self._pending, []
                await self._commit(batch, self._services.clock())
            if not self._pending:
                self._idle.set()
                if self._closed:
                    return

    async def _commit(self, batch: list[tuple[PreparedSend, Outcome]], now: datetime) -> None:
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
