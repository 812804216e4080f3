"""The dispatcher: one periodic job that delivers every chat's daily question.

The database holds each chat's next due instant (UTC, indexed). Each tick
claims due chats in batches, records a delivery row that is unique per (chat,
local date) in the same transaction that moves the chat's next due instant
past that date, commits, and only then sends. A crash after the commit leaves
a pending delivery whose lease runs out and which a later tick re-sends (if it
is still that local day); a crash before it leaves the chat due, and the next
tick claims it again. No job per user, nothing per user in memory.

Each claim is leased from the instant it is taken, and the tick's recorder
renews the leases while the sends wait (bot/jobs/send_outcomes.py): a broadcast that takes
minutes at Telegram's limit is not re-sent by another instance meanwhile. A
watchdog logs a tick that runs far past what its sends should take.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
from array import array
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot

from bot.domain.chats import ChatSettings
from bot.domain.clock import Clock
from bot.domain.content import Bank
from bot.domain.schedule import is_still_due, local_date_of
from bot.domain.srs import CardDue
from bot.jobs.send_outcomes import OutcomeRecorder
from bot.service import metrics
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import groups as group_store
from bot.storage import learning
from bot.storage.models import DeliveryRow, QuizRow
from bot.study.banks import bank_for_questions, banks_for_settings
from bot.study.questions import (
    PreparedSend,
    pick_due_card,
    pick_group_question,
    pick_question,
    prepare,
    prepare_daily,
    send_prepared,
)
from bot.telegram.ratelimit import Traffic
from bot.telegram.sending import Sent

log = logging.getLogger(__name__)

BATCH_SIZE = 500
CONCURRENCY = 16
# Planning a batch is Python work on the event loop; let updates in this often.
YIELD_EVERY = 25
# At the free limit a batch is claimed for about this many seconds of sending.
BATCH_SECONDS = 5


def batch_size(services: Services) -> int:
    """How many due chats one claim takes.

    Unlimited or paid (1,000/s), 500. At Telegram's free 30/s a batch of 500
    would be claimed for 17 s of sending and would keep the event loop busy
    planning it while people tap; 150 (5 s) is plenty to keep the budget full,
    keeps claims close to their sends, and leaves the rest to other instances.
    """
    settings = services.settings
    if settings.send_rate_limit <= 0 or settings.broadcast_paid:
        return BATCH_SIZE
    return max(50, min(BATCH_SIZE, int(settings.send_rate_limit * BATCH_SECONDS)))


@dataclass
class DispatchReport:
    """What one tick did, for logs, tests and the benchmark."""

    claimed: int = 0
    sent: int = 0
    skipped_missed_day: int = 0
    retried: int = 0
    failed: int = 0
    lease_lost: int = 0
    """Claimed deliveries not sent because this instance could no longer vouch for its lease."""
    lateness: array[float] = field(default_factory=lambda: array("d"))
    """Seconds between each daily question's due minute and its send (first sends)."""

    def lateness_summary(self) -> str:
        if not self.lateness:
            return "no daily sends"
        return (
            f"lateness p50 {statistics.median(self.lateness):.1f} s, max {max(self.lateness):.1f} s"
        )


def _lease(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.delivery_lease_seconds)


async def dispatch_due(
    bot: Bot, services: Services, *, now: datetime | None = None
) -> DispatchReport:
    """Deliver everything due (at ``now``, a fixed instant, or the services' clock).

    Each batch is claimed at the clock's reading at that moment, and leased from it.
    """
    report = DispatchReport()
    clock: Clock = services.clock if now is None else (lambda: now)
    recorder = OutcomeRecorder(services, clock=clock)
    try:
        async with _watchdog(services, report):
            await _resend_stale(bot, services, clock, report, recorder)
            await _send_due(bot, services, clock, report, recorder)
    finally:
        await recorder.close()
    if report.claimed or report.retried:
        log.info(
            "dispatch: %d claimed, %d sent, %d retried, %d missed days skipped, %d failed; %s",
            report.claimed,
            report.sent,
            report.retried,
            report.skipped_missed_day,
            report.failed,
            report.lateness_summary(),
        )
    if report.lease_lost:
        log.warning(
            "dispatch: %d claimed deliveries not sent, their lease ran out before their turn "
            "(a later tick sends them)",
            report.lease_lost,
        )
    return report


async def _claim_held(
    services: Services, clock: Clock, report: DispatchReport, recorder: OutcomeRecorder
) -> list[PreparedSend] | None:
    """Claim the next batch at the clock's reading and hand its leases to the recorder at once."""
    if services.stopping.is_set():
        return None
    moment = clock()
    batch = await _claim_batch(services, moment, report)
    if batch is not None:
        recorder.hold(batch, until=moment + recorder.lease)
    return batch


async def _send_due(
    bot: Bot,
    services: Services,
    clock: Clock,
    report: DispatchReport,
    recorder: OutcomeRecorder,
) -> None:
    """Claim and send batch after batch, the next claim running while a batch is sent.

    Claiming (the database's work and the planning) and sending (Telegram's round
    trips) wait on different things: done one after the other, each batch's sends
    would wait for its claim and the claim for the last send. One claim ahead keeps
    the sends going; its leases are held, and renewed, from the moment it commits,
    and it is sent only after the batch before it (oldest claims first).
    """
    batch = await _claim_held(services, clock, report, recorder)
    while batch is not None:
        ahead = asyncio.create_task(_claim_held(services, clock, report, recorder))
        try:
            await _send_all(bot, services, batch, report, recorder)
        except BaseException:
            # The tick fails: a batch already claimed ahead is released, not left to its lease.
            ahead.cancel()
            with contextlib.suppress(BaseException):
                for item in await ahead or []:
                    recorder.release(item)
            raise
        batch = await ahead


def expected_seconds(services: Services, sends: int) -> float:
    """How long a tick with ``sends`` sends should take at most: the sends at the
    configured rate, twice over, plus one lease for retries and replies first."""
    settings = services.settings
    rate = 1000.0 if settings.broadcast_paid else settings.send_rate_limit
    sending = sends / rate if rate > 0 else 0.0
    return 2 * sending + settings.delivery_lease_seconds


@contextlib.asynccontextmanager
async def _watchdog(services: Services, report: DispatchReport) -> AsyncIterator[None]:
    """Log once when the tick runs far past its expected length, and when it finally ends.

    A stuck tick holds the dispatch lock, and this process then sends no daily
    question or reminder: the one line says so instead of silence. Time here is the
    event loop's monotonic clock: how long the tick really took.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    overdue = False

    async def watch() -> None:
        nonlocal overdue
        while not overdue:
            await asyncio.sleep(services.settings.dispatch_interval_seconds)
            elapsed = loop.time() - started
            sends = report.claimed + report.retried
            expected = expected_seconds(services, sends)
            if elapsed > expected:
                overdue = True
                log.warning(
                    "dispatcher tick running for %.0f s, far past the %.0f s expected for "
                    "%d sends (%d sent, %d failed so far); no other tick starts until it ends",
                    elapsed,
                    expected,
                    sends,
                    report.sent,
                    report.failed,
                )

    watcher = asyncio.create_task(watch(), name="dispatch-watchdog")
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        if overdue:
            log.warning("the overdue dispatcher tick ended after %.0f s", loop.time() - started)


async def _claim_batch(
    services: Services, now: datetime, report: DispatchReport
) -> list[PreparedSend] | None:
    """Claim one batch of due chats; None when nothing is due any more."""
    try:
        async with services.sessions() as session, session.begin():
            rows = await chat_store.claim_due_rows(
                session=session, now=now, limit=batch_size(services)
            )
            if not rows:
                return None
            report.claimed += len(rows)
            return await _plan_batch(services, session, rows, now, report)
    except IntegrityError:
        # A /question raced us to one of these chats' daily row: redo the
        # batch one chat at a time, where the unique constraint decides.
        log.info("daily delivery race in a batch; claiming one by one")
        async with services.sessions() as session, session.begin():
            rows = await chat_store.claim_due_rows(
                session=session, now=now, limit=batch_size(services)
            )
            return await _plan_one_by_one(services, session, rows, now, report)


def _rescheduled(settings: ChatSettings, now: datetime, last: date | None) -> dict[str, Any]:
    """The chat's next due instant, ``last`` recorded as its last delivered day."""
    return chat_store.rescheduled_row(
        replace(settings, last_delivered_on=last).rescheduled(now=now), now=now
    )


@dataclass(frozen=True)
class _Pick:
    """A due chat that gets a question today: what to insert, and what to send."""

    settings: ChatSettings
    question_id: str
    local_date: date
    due: datetime
    group_streak: int | None  # None: a private chat
    bank: Bank

    def rescheduled(self, now: datetime, last: date | None) -> dict[str, Any]:
        return _rescheduled(self.settings, now, last)

    def prepared(self, delivery_id: int) -> PreparedSend:
        return prepare_daily(
            delivery_id,
            self.settings.chat_id,
            self.question_id,
            self.local_date,
            group=self.group_streak is not None,
            group_streak=self.group_streak or 0,
            due_at=self.due,
            bank=self.bank,
        )


async def _pick_questions(
    services: Services,
    session: AsyncSession,
    rows: Sequence[Row[Any]],
    now: datetime,
    report: DispatchReport,
) -> tuple[list[_Pick], list[dict[str, Any]]]:
    """A question for each claimed chat that still gets one today, and the rescheduled
    rows of those that do not (a missed day, nothing left to ask, or today's daily
    already there). Shared by both ways of planning a batch."""
    settings_of = {row.id: chat_store.to_settings(row) for row in rows}
    # The chats' banks: the built-in one for chats without decks of their own; one
    # query for the batch otherwise (bot/study/banks.py).
    banks = await banks_for_settings(services, settings_of, session=session)
    choices = await _choose_private(services, session, settings_of, banks, now)
    dates = {
        local_date_of(settings.next_due_at, settings.schedule.timezone)
        for settings in settings_of.values()
        if settings.next_due_at is not None
    }
    existing = await _existing_daily(session, list(settings_of), dates)
    picks: list[_Pick] = []
    skipped: list[dict[str, Any]] = []
    for index, settings in enumerate(settings_of.values(), start=1):
        if index % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # a tap waiting for the loop is handled now
        chat_id = settings.chat_id
        due = settings.next_due_at
        assert due is not None  # claim_due_rows only returns chats with a due instant
        if not is_still_due(settings.schedule, due=due, now=now):
            report.skipped_missed_day += 1
            skipped.append(chat_store.rescheduled_row(settings.rescheduled(now=now), now=now))
            continue
        local_date = local_date_of(due, settings.schedule.timezone)
        streak: int | None = None
        if settings.is_group:
            history = await group_store.delivered_at(chat_id, session=session)
            question_id = pick_group_question(banks[chat_id], settings, delivered=history)
            streak = await group_store.group_streak_on(
                chat_id, zone=settings.schedule.timezone, today=local_date, session=session
            )
        else:
            question_id = choices.get(chat_id)
        if question_id is None or (chat_id, local_date) in existing:
            last = local_date if (chat_id, local_date) in existing else settings.last_delivered_on
            skipped.append(_rescheduled(settings, now, last))
            continue
        picks.append(_Pick(settings, question_id, local_date, due, streak, banks[chat_id]))
    return picks, skipped


async def _plan_batch(
    services: Services,
    session: AsyncSession,
    rows: Sequence[Row[Any]],
    now: datetime,
    report: DispatchReport,
) -> list[PreparedSend]:
    """Choose a question for each due chat, insert the deliveries, move next due.

    Core rows and statements throughout (claim, one INSERT ... RETURNING of the
    deliveries, one executemany of the chats' next due instants): no ORM object per
    chat or delivery, whose bookkeeping was most of the planning's CPU. A daily row
    that a /question inserted meanwhile fails the whole INSERT (IntegrityError), and
    the caller redoes the batch with :func:`_plan_one_by_one`.
    """
    picks, rescheduled = await _pick_questions(services, session, rows, now, report)
    dailies = [(pick.settings.chat_id, pick.question_id, pick.local_date) for pick in picks]
    rescheduled += [pick.rescheduled(now, pick.local_date) for pick in picks]
    ids = await delivery_store.insert_daily_many(
        dailies, session=session, now=now, lease=_lease(services)
    )
    await chat_store.reschedule_many(rescheduled, session=session)
    return [pick.prepared(delivery_id) for delivery_id, pick in zip(ids, picks, strict=True)]


async def _plan_one_by_one(
    services: Services,
    session: AsyncSession,
    rows: Sequence[Row[Any]],
    now: datetime,
    report: DispatchReport,
) -> list[PreparedSend]:
    """The fallback after a race in :func:`_plan_batch`: each chat's delivery inserted on
    its own, where the (chat, local date) unique constraint decides; a chat whose daily
    row is already there is rescheduled and sends nothing."""
    picks, rescheduled = await _pick_questions(services, session, rows, now, report)
    lease = _lease(services)
    prepared: list[PreparedSend] = []
    for pick in picks:
        last = max(
            day for day in (pick.settings.last_delivered_on, pick.local_date) if day is not None
        )
        rescheduled.append(pick.rescheduled(now, last))
        delivery = await delivery_store.create_delivery(
            session=session,
            chat_id=pick.settings.chat_id,
            question_id=pick.question_id,
            now=now,
            daily_on=pick.local_date,
            lease=lease,
        )
        if delivery is not None:
            prepared.append(pick.prepared(delivery.id))
    await chat_store.reschedule_many(rescheduled, session=session)
    return prepared


async def _choose_private(
    services: Services,
    session: AsyncSession,
    settings_of: dict[int, ChatSettings],
    banks: dict[int, Bank],
    now: datetime,
) -> dict[int, str | None]:
    """The question for each private chat of a batch, reading what the choice needs.

    First each person's few soonest-due cards (bounded, through the (person, due)
    index): a due card among them decides most chats. Only the others (nothing due:
    a new question, or the soonest card) read their cards and shown questions.
    """
    private = [chat_id for chat_id, settings in settings_of.items() if not settings.is_group]
    soonest = await learning.soonest_cards_for_people(private, session=session)
    choices: dict[int, str | None] = {}
    undecided: list[int] = []
    for chat_id in private:
        question_id = pick_due_card(
            banks[chat_id], settings_of[chat_id], soonest=soonest[chat_id], now=now
        )
        if question_id is None:
            undecided.append(chat_id)
        else:
            choices[chat_id] = question_id
    if not undecided:
        return choices
    partial = [chat_id for chat_id in undecided if not soonest[chat_id].complete]
    cards: dict[int, dict[str, CardDue]] = {
        chat_id: {q: CardDue(due) for q, due in soonest[chat_id].cards} for chat_id in undecided
    }
    cards.update(await learning.due_cards_for_people(partial, session=session))
    delivered = await delivery_store.delivered_ids_for_chats(undecided, session=session)
    for chat_id in undecided:
        choices[chat_id] = pick_question(
            banks[chat_id],
            settings_of[chat_id],
            cards=cards[chat_id],
            delivered=delivered[chat_id],
            now=now,
        )
    return choices


async def _existing_daily(
    session: AsyncSession, chat_ids: list[int], dates: set[date]
) -> set[tuple[int, date]]:
    """(chat, local date) pairs of this batch that already have their daily delivery.

    Only the batch's due dates are looked up (a day or two), so the query does
    not grow with each chat's history.
    """
    recent = await session.execute(
        select(DeliveryRow.chat_id, DeliveryRow.daily_on).where(
            DeliveryRow.chat_id.in_(chat_ids),
            DeliveryRow.daily_on.in_(dates),
            DeliveryRow.status != "expired",
        )
    )
    return {(chat_id, day) for chat_id, day in recent if day is not None}


async def _resend_stale(
    bot: Bot,
    services: Services,
    clock: Clock,
    report: DispatchReport,
    recorder: OutcomeRecorder,
) -> None:
    """Re-send pending deliveries whose lease expired, if their day is not over."""
    while not services.stopping.is_set():
        items: list[PreparedSend] = []
        now = clock()
        async with services.sessions() as session, session.begin():
            rows = await delivery_store.claim_stale_pending(
                session=session, now=now, limit=BATCH_SIZE, lease=recorder.lease
            )
            if not rows:
                return
            for row in rows:
                chat = await chat_store.get_chat(row.chat_id, session=session)
                too_late = row.attempts >= delivery_store.MAX_ATTEMPTS
                day_over = row.daily_on is not None and (
                    chat is None or local_date_of(now, chat.schedule.timezone) != row.daily_on
                )
                if chat is None or too_late or day_over:
                    await delivery_store.mark_failed(row.id, session=session, status="expired")
                    continue
                quiz = await session.get(QuizRow, row.quiz_id) if row.quiz_id else None
                bank = await bank_for_questions(services, [row.question_id], session=session)
                items.append(prepare(row, quiz=quiz, group=chat.is_group, bank=bank))
        report.retried += len(items)
        recorder.hold(items, until=now + recorder.lease)
        await _send_all(bot, services, items, report, recorder)


async def _send_all(
    bot: Bot,
    services: Services,
    items: list[PreparedSend],
    report: DispatchReport,
    recorder: OutcomeRecorder,
) -> None:
    semaphore = asyncio.Semaphore(CONCURRENCY)
    paid = services.settings.broadcast_paid

    async def one(item: PreparedSend) -> None:
        async with semaphore:
            if services.stopping.is_set():
                recorder.release(item)  # shutting down: another tick sends it, at once
                return
            if not recorder.holds(item):
                # The lease ran out before its turn (renewals failed, or the process
                # stalled): another instance may be sending it. A later tick will.
                report.lease_lost += 1
                return
            outcome = await send_prepared(
                bot, services.bank, item, traffic=Traffic.BROADCAST, paid=paid, rich=services.rich
            )
        recorder.add(item, outcome)
        metrics.delivery_finished(outcome, due_at=item.due_at, now=services.clock())
        if isinstance(outcome, Sent):
            report.sent += 1
            if item.due_at is not None:
                report.lateness.append((services.clock() - item.due_at).total_seconds())
        else:
            report.failed += 1

    await asyncio.gather(*(one(item) for item in items))
    await recorder.drain()
