"""The streak reminder's sender: claims due reminders like the dispatcher claims chats.

Each private chat's reminder row holds its next instant (UTC, indexed). Every
dispatcher tick claims the due rows in batches, moves each to its next local
day in the same transaction (so a reminder is considered at most once per local
date, also with several instances), commits, and only then sends the nudges
that apply: a current streak of 2+ days, nothing graded today, the chat active
and not paused, and still the same local day as the reminder's minute. The
claim marks the day as reminded (``last_on``), so two instances never both
nudge. A send that fails for a transient reason (network, 5xx, flood) gives the
day back and is considered again ``RETRY_DELAY`` later, if that is still the
same local day; a nudge left unsent because the bot is stopping is given back
at once. A crash between the commit and the send loses that day's nudge rather
than doubling it. Sends go like the daily questions, as broadcast traffic
(bot/telegram/ratelimit.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from telegram import Bot

from bot.domain.clock import Clock
from bot.domain.schedule import local_date_of
from bot.domain.streak_reminders import Nudge, streak_nudge
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import groups as group_store
from bot.storage import reminder_candidates as reminder_store
from bot.study.streaks import keep_checkpoints
from bot.telegram import keyboards
from bot.telegram.ratelimit import Traffic
from bot.telegram.sending import Blocked, Outcome, Sent, Transient, deliver, send_message_id

log = logging.getLogger(__name__)

BATCH_SIZE = 500
CONCURRENCY = 16
RETRY_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class ReminderSend:
    chat_id: int
    nudge: Nudge
    day: date
    """The local date this nudge is for (the claim set ``last_on`` to it)."""
    previous: date | None = None
    """``last_on`` before the claim: restored if the nudge is not sent."""
    timezone: str = "UTC"


def reminder_text(nudge: Nudge) -> str:
    """The nudge: the streak at stake, and what a streak freeze would do tonight."""
    lines = [
        f"🔥 Your <b>{nudge.streak}-day streak</b> is waiting: you haven't studied today yet. "
        "One question keeps it going."
    ]
    if nudge.freeze_for_yesterday:
        lines.append(
            "🧊 A streak freeze is covering yesterday; skip today too and the streak ends tonight."
        )
    elif nudge.freeze_tonight:
        held = "the freeze" if nudge.freezes_held == 1 else "one of the 2 freezes"
        lines.append(f"🧊 If you skip today, {held} you hold will be spent tonight to save it.")
    else:
        lines.append("It ends at midnight if you skip today (no streak freeze held).")
    lines.append("<i>/remind changes the time or turns these off.</i>")
    return "\n".join(lines)


async def remind_due(bot: Bot, services: Services, *, now: datetime | None = None) -> int:
    """Consider every reminder due (at ``now``, or the services' clock as each batch is
    claimed); returns how many nudges were sent. Stops claiming when the bot stops."""
    clock: Clock = services.clock if now is None else (lambda: now)
    sent = 0
    while not services.stopping.is_set():
        moment = clock()
        async with services.sessions() as session, session.begin():
            claimed = await reminder_store.claim_due(session=session, now=moment, limit=BATCH_SIZE)
            if not claimed:
                break
            histories = await group_store.histories_for_people(
                [chat.id for _, chat in claimed], session=session
            )
            outgoing: list[ReminderSend] = []
            for row, chat in claimed:
                assert row.next_at is not None  # claim_due only returns rows with an instant
                today = local_date_of(moment, chat.timezone)
                due_day = local_date_of(row.next_at, chat.timezone)
                previous = row.last_on
                # This day's minute is spent either way; only a sent nudge marks the
                # day as reminded (so moving the time later today still works).
                reminder_store.move_past(row, due_day, chat.timezone, now=moment)
                if due_day != today or not chat.active or chat.paused:
                    continue
                nudge = streak_nudge(histories[chat.id], today=today)
                if nudge is not None:
                    row.last_on = due_day
                    outgoing.append(ReminderSend(chat.id, nudge, due_day, previous, chat.timezone))
        await keep_checkpoints(services, histories, now=moment)
        sent += await _send_all(bot, services, outgoing, clock)
    if sent:
        log.info("reminders: %d sent", sent)
    return sent


async def _send_all(bot: Bot, services: Services, items: list[ReminderSend], clock: Clock) -> int:
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(item: ReminderSend) -> Outcome | None:
        async with semaphore:
            if services.stopping.is_set():
                return None  # not sent: given back below, for the next tick of any instance
            return await send_reminder(bot, item)

    outcomes = await asyncio.gather(*(one(item) for item in items))
    now = clock()
    blocked = [i.chat_id for i, o in zip(items, outcomes, strict=True) if isinstance(o, Blocked)]
    retry: list[tuple[ReminderSend, datetime | None]] = []
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome is None:
            retry.append((item, now))
        elif isinstance(outcome, Transient):
            later = now + RETRY_DELAY
            same_day = local_date_of(later, item.timezone) == item.day
            log.warning(
                "reminder to chat %s not sent (%s); %s",
                item.chat_id,
                outcome.reason,
                f"trying again in {RETRY_DELAY.seconds // 60} minutes"
                if same_day
                else "its day is over",
            )
            retry.append((item, later if same_day else None))
        elif not isinstance(outcome, Sent | Blocked):
            log.warning("reminder to chat %s not sent: %s", item.chat_id, outcome)
    if blocked or retry:
        async with services.sessions() as session, session.begin():
            for chat_id in blocked:
                await chat_store.set_active(chat_id, False, session=session, now=now)
            for item, at in retry:
                await reminder_store.give_back(
                    item.chat_id, item.day, previous=item.previous, at=at, session=session
                )
    return sum(1 for outcome in outcomes if isinstance(outcome, Sent))


async def send_reminder(bot: Bot, item: ReminderSend) -> Outcome:
    """One nudge, sent like a daily question: broadcast traffic."""
    params: dict[str, object] = {
        "chat_id": item.chat_id,
        "text": reminder_text(item.nudge),
        "parse_mode": "HTML",
        "reply_markup": keyboards.question_now_keyboard().to_dict(),
    }

    async def call() -> int:
        return await send_message_id(bot, params, traffic=Traffic.BROADCAST)

    return await deliver(call)
