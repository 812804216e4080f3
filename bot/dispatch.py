"""The dispatcher: one periodic job that delivers every chat's daily question.

The database holds each chat's next due instant (UTC, indexed). Each tick
claims due chats in batches, records a delivery row that is unique per (chat,
local date) in the same transaction that moves the chat's next due instant
past that date, commits, and only then sends. A crash after the commit leaves
a pending delivery whose lease runs out and which the next tick re-sends (if
it is still that local day); a crash before it leaves the chat due, and the
next tick claims it again. No job per user, nothing per user in memory.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telegram import Bot

from bot.context import Services
from bot.domain.schedule import is_still_due, local_date_of
from bot.questions import (
    PreparedSend,
    create_daily,
    pick_question,
    prepare,
    record_outcome,
    send_prepared,
)
from bot.sending import Outcome, Sent
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import learning

log = logging.getLogger(__name__)

BATCH_SIZE = 200
CONCURRENCY = 64


def _lease(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.delivery_lease_seconds)


@dataclass
class DispatchReport:
    """What one tick did, for logs, tests and the benchmark."""

    claimed: int = 0
    sent: int = 0
    skipped_missed_day: int = 0
    retried: int = 0
    failed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


async def dispatch_due(
    bot: Bot, services: Services, *, now: datetime | None = None
) -> DispatchReport:
    """Deliver everything due at ``now`` (default: the services' clock)."""
    report = DispatchReport()
    moment = now or services.clock()
    await _resend_stale(bot, services, moment, report)
    while True:
        batch = await _claim_batch(services, moment, report)
        if batch is None:
            break
        await _send_all(bot, services, batch, moment, report)
    if report.claimed or report.retried:
        log.info(
            "dispatch: %d claimed, %d sent, %d retried, %d missed days skipped, %d failed",
            report.claimed,
            report.sent,
            report.retried,
            report.skipped_missed_day,
            report.failed,
        )
    return report


async def _claim_batch(
    services: Services, now: datetime, report: DispatchReport
) -> list[PreparedSend] | None:
    """Claim one batch of due chats; None when nothing is due any more."""
    prepared: list[PreparedSend] = []
    async with services.sessions() as session, session.begin():
        rows = await chat_store.claim_due_chats(session=session, now=now, limit=BATCH_SIZE)
        if not rows:
            return None
        report.claimed += len(rows)
        chat_ids = [row.id for row in rows]
        cards = await learning.cards_for_people(chat_ids, session=session)
        delivered = await delivery_store.delivered_ids_for_chats(chat_ids, session=session)
        for row in rows:
            settings = chat_store.to_settings(row)
            due = row.next_due_at
            assert due is not None  # claim_due_chats only returns chats with a due instant
            if not is_still_due(settings.schedule, due=due, now=now):
                report.skipped_missed_day += 1
                await chat_store.save_chat(settings.rescheduled(now=now), session=session, now=now)
                continue
            local_date = local_date_of(due, settings.schedule.timezone)
            question_id = pick_question(
                services.bank,
                settings,
                cards=cards.get(row.id, {}),
                delivered=delivered.get(row.id, set()),
                now=now,
            )
            if question_id is None:
                await chat_store.save_chat(settings.rescheduled(now=now), session=session, now=now)
                continue
            delivery = await create_daily(
                settings,
                session=session,
                question_id=question_id,
                local_date=local_date,
                now=now,
                lease=_lease(services),
            )
            if delivery is not None:
                prepared.append(prepare(delivery))
    return prepared


async def _resend_stale(
    bot: Bot, services: Services, now: datetime, report: DispatchReport
) -> None:
    """Re-send pending deliveries whose lease expired, if their day is not over."""
    while True:
        items: list[PreparedSend] = []
        async with services.sessions() as session, session.begin():
            rows = await delivery_store.claim_stale_pending(
                session=session, now=now, limit=BATCH_SIZE, lease=_lease(services)
            )
            if not rows:
                return
            for row in rows:
                chat = await chat_store.get_chat(row.chat_id, session=session)
                too_late = row.attempts >= delivery_store.MAX_ATTEMPTS
                if (
                    chat is None
                    or too_late
                    or (
                        row.daily_on is not None
                        and local_date_of(now, chat.schedule.timezone) != row.daily_on
                    )
                ):
                    await delivery_store.mark_failed(row.id, session=session, status="expired")
                    continue
                items.append(prepare(row))
        report.retried += len(items)
        await _send_all(bot, services, items, now, report)


async def _send_all(
    bot: Bot, services: Services, items: list[PreparedSend], now: datetime, report: DispatchReport
) -> None:
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(item: PreparedSend) -> None:
        async with semaphore:
            outcome = await send_prepared(bot, services.bank, item)
            # Record each outcome at once: a crash must not forget a message
            # Telegram already accepted (it would be sent again on restart).
            async with services.sessions() as session, session.begin():
                await record_outcome(item, outcome, session=session, now=services.clock())
        report.outcomes.append(outcome)
        if isinstance(outcome, Sent):
            report.sent += 1
        else:
            report.failed += 1

    await asyncio.gather(*(one(item) for item in items))
