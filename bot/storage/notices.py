"""The notices outbox: one-off messages owed to people, claimed with a lease.

A notice is added in the transaction that owes it (``add``), so it exists exactly when
that transaction committed. A sender claims a batch (``claim``: the lease moves a lease
ahead, ``attempts`` up by one; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent
senders on several instances take disjoint rows; SQLite has one writer and needs
nothing), sends, then deletes what is done (``delete_done``). A notice whose claimer died is
claimable again when its lease runs out. ``drop_stale`` removes the ones that will not
go: too many attempts, or too old.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import decks
from bot.storage.models import NoticeRow

OWNER_LEFT = "owner_left"
"""payload ``{"titles": [...]}``: the owner of these decks you added used /forget."""
DECK_DELETED = "deck_deleted"
"""payload ``{"titles": [title]}``: the owner of this deck you added deleted it."""


@dataclass(frozen=True)
class Notice:
    """A claimed notice: whom to tell, what (``kind`` and ``payload``), which claim."""

    id: int
    person_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


_COLUMNS = (
    NoticeRow.id,
    NoticeRow.person_id,
    NoticeRow.kind,
    NoticeRow.payload,
    NoticeRow.attempts,
    NoticeRow.created_at,
)


def _notice(row: Any) -> Notice:
    return Notice(row.id, row.person_id, row.kind, row.payload, row.attempts, row.created_at)


async def add(
    kind: str,
    payloads: Mapping[int, dict[str, Any]],
    *,
    session: AsyncSession,
    now: datetime,
) -> int:
    """Owe each person in ``payloads`` one notice of ``kind``, claimable at once; how many."""
    rows = [
        {
            "person_id": person_id,
            "kind": kind,
            "payload": payload,
            "attempts": 0,
            "lease_until": now,
            "created_at": now,
        }
        for person_id, payload in sorted(payloads.items())
    ]
    if rows:
        await session.execute(insert(NoticeRow), rows)
    return len(rows)


async def add_deck_deleted(
    deck_id: int, title: str, *, session: AsyncSession, now: datetime
) -> int:
    """Owe each person who added the deck a notice that its owner deleted it (call before
    deleting it, in the same transaction); how many."""
    adders = await decks.adders_of(deck_id, session=session)
    return await add(
        DECK_DELETED, {adder: {"titles": [title]} for adder in adders}, session=session, now=now
    )


def _postgres(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def any_claimable(*, session: AsyncSession, now: datetime) -> bool:
    """Whether a run has anything to do: one index probe, read only (the periodic job
    asks every few seconds on every instance; almost always the answer is no)."""
    found = await session.scalar(select(NoticeRow.id).where(NoticeRow.lease_until <= now).limit(1))
    return found is not None


async def claim(
    *, session: AsyncSession, now: datetime, until: datetime, limit: int
) -> list[Notice]:
    """Claim up to ``limit`` notices whose lease ran out (oldest first), leased to
    ``until``. Commit before sending: the lease is what other senders see."""
    due = (
        select(NoticeRow.id)
        .where(NoticeRow.lease_until <= now)
        .order_by(NoticeRow.lease_until, NoticeRow.id)
        .limit(limit)
    )
    if _postgres(session):
        due = due.with_for_update(skip_locked=True)
    result = await session.execute(
        update(NoticeRow)
        .where(NoticeRow.id.in_(due.scalar_subquery()))
        .values(lease_until=until, attempts=NoticeRow.attempts + 1)
        .returning(*_COLUMNS)
    )
    return sorted((_notice(row) for row in result), key=lambda notice: notice.id)


async def renew(
    ids: Sequence[int], *, session: AsyncSession, now: datetime, until: datetime
) -> set[int]:
    """Extend the leases still running (``lease_until > now``: a lease that ran out may
    be another sender's by now, and is not taken back); the ids renewed."""
    if not ids:
        return set()
    result = await session.execute(
        update(NoticeRow)
        .where(NoticeRow.id.in_(sorted(ids)), NoticeRow.lease_until > now)
        .values(lease_until=until)
        .returning(NoticeRow.id)
    )
    return set(result.scalars().all())


async def release(ids: Sequence[int], *, session: AsyncSession, now: datetime) -> None:
    """End the leases of claimed notices this sender will not send (it is stopping):
    the next run of any instance sends them at once, and the claim is not counted."""
    if ids:
        await session.execute(
            update(NoticeRow)
            .where(NoticeRow.id.in_(sorted(ids)))
            .values(lease_until=now, attempts=NoticeRow.attempts - 1)
        )


async def delete_done(ids: Sequence[int], *, session: AsyncSession) -> None:
    """Delete notices that were sent, or will never be."""
    if ids:
        await session.execute(delete(NoticeRow).where(NoticeRow.id.in_(sorted(ids))))


async def drop_stale(
    *, session: AsyncSession, now: datetime, max_attempts: int, created_before: datetime
) -> list[Notice]:
    """Delete the unclaimed notices that will not be sent: ``max_attempts`` claims used
    up, or created before ``created_before``; the ones deleted (to be logged)."""
    result = await session.execute(
        delete(NoticeRow)
        .where(
            NoticeRow.lease_until <= now,
            or_(NoticeRow.attempts >= max_attempts, NoticeRow.created_at < created_before),
        )
        .returning(*_COLUMNS)
    )
    return sorted((_notice(row) for row in result), key=lambda notice: notice.id)


async def forget(person_id: int, *, session: AsyncSession) -> None:
    """Delete the notices owed to a person (/forget): nobody is left to tell."""
    await session.execute(delete(NoticeRow).where(NoticeRow.person_id == person_id))
