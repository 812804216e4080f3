"""Every Prometheus metric of the bot, in one place, and the small hooks that feed them.

Names follow Prometheus conventions: the ``interview_bot_`` prefix, ``_total`` for
counters, ``_seconds`` for durations. The metrics live in one module-level registry
(one process, one set of metrics); ``GET /metrics`` serves it (bot/service/web.py).

The hooks are plain functions so that whichever component produces an event (the
dispatcher, the HTTP transport, the rate limiter, the update processor) can feed a
metric with one call and be rewired without touching the metric definitions.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.service.logs import context as log_context
from bot.telegram.ratelimit import Traffic
from bot.telegram.sending import Outcome, Sent

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "interview_bot_deliveries_total",
    "Question deliveries attempted by the dispatcher, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
DELIVERY_LATENESS = Histogram(
    "interview_bot_delivery_lateness_seconds",
    "How long after its due minute a daily question was delivered.",
    buckets=(1, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
    registry=REGISTRY,
)
UPDATE_LATENCY = Histogram(
    "interview_bot_update_handling_seconds",
    "Time to handle one Telegram update, by kind.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
RATE_LIMITER_WAITING = Gauge(
    "interview_bot_rate_limiter_waiting_requests",
    "Outgoing Bot API requests waiting in the rate limiter, by traffic class.",
    ["traffic"],
    registry=REGISTRY,
)
TELEGRAM_429 = Counter(
    "interview_bot_telegram_429_total",
    "Bot API answers 429 Too Many Requests received.",
    registry=REGISTRY,
)
DATABASE_ERRORS = Counter(
    "interview_bot_database_errors_total",
    "Database operations that failed because the database could not be reached.",
    registry=REGISTRY,
)
ACTIVE_CHATS = Gauge(
    "interview_bot_active_chats",
    "Chats subscribed and not paused (read from the database at scrape time).",
    registry=REGISTRY,
)
AMBIGUOUS_SENDS = Counter(
    "interview_bot_ambiguous_sends_total",
    "Sends that failed in a way that may have reached Telegram (timeout, dropped "
    "connection, 5xx); each is retried at most once (README, Scaling out).",
    registry=REGISTRY,
)
UPDATES_DUPLICATE = Counter(
    "interview_bot_webhook_duplicate_updates_total",
    "Webhook deliveries of an update_id already processed (Telegram retries).",
    registry=REGISTRY,
)
UPDATES_TAKEN_OVER = Counter(
    "interview_bot_webhook_updates_taken_over_total",
    "Webhook updates whose claim was abandoned (its instance died) and taken over here.",
    registry=REGISTRY,
)
UPDATES_RELEASED = Counter(
    "interview_bot_webhook_updates_released_total",
    "Webhook updates cut short at the shutdown limit and given back to Telegram (503).",
    registry=REGISTRY,
)
RICH_FALLBACKS = Counter(
    "interview_bot_rich_fallbacks_total",
    "Messages sent as HTML although meant as rich messages, by reason: method_not_found "
    "(a Bot API server before 10.1) or rejected (Telegram refused that message's content).",
    ["reason"],
    registry=REGISTRY,
)


# -- the dispatcher ----------------------------------------------------------------------


def delivery_finished(outcome: Outcome, *, due_at: datetime | None, now: datetime) -> None:
    """One send of the dispatcher ended; a sent daily question also observes its lateness."""
    DELIVERIES.labels(outcome=type(outcome).__name__.lower()).inc()
    if due_at is not None and isinstance(outcome, Sent):
        DELIVERY_LATENESS.observe(max(0.0, (now - due_at).total_seconds()))


# -- the Bot API transport ---------------------------------------------------------------


def telegram_answered(status: int) -> None:
    """Called by the HTTP transport for every Bot API answer."""
    if status == 429:
        TELEGRAM_429.inc()


def ambiguous_send() -> None:
    """A send failed without an answer that says whether it arrived (bot/telegram/sending.py)."""
    AMBIGUOUS_SENDS.inc()


def rich_fallback(reason: str) -> None:
    """A message meant as rich went as HTML (bot/telegram/rich_messages.py)."""
    RICH_FALLBACKS.labels(reason=reason).inc()


# -- the rate limiter --------------------------------------------------------------------


def rate_limiter_waiting(traffic: Traffic, count: int) -> None:
    """The limiter's hook (bot/telegram/ratelimit.py): requests of one class waiting their turn."""
    RATE_LIMITER_WAITING.labels(traffic=traffic.value).set(count)


# -- update handling ---------------------------------------------------------------------


def update_kind(update: object) -> str:
    """A small, fixed set of labels: command, message, callback_query, member, other."""
    if not isinstance(update, Update):
        return "other"
    if update.callback_query is not None:
        return "callback_query"
    message = update.message or update.edited_message
    if message is not None:
        entities = message.entities or ()
        if any(e.type == "bot_command" and e.offset == 0 for e in entities):
            return "command"
        return "message"
    if update.my_chat_member is not None or update.chat_member is not None:
        return "member"
    return "other"


async def measured(update: object, coroutine: Awaitable[Any]) -> None:
    """Run an update's handling, timing it and tagging its log lines with its ids."""
    started = time.perf_counter()
    token = log_context.bind_update(update)
    try:
        await coroutine
    finally:
        log_context.reset(token)
        UPDATE_LATENCY.labels(kind=update_kind(update)).observe(time.perf_counter() - started)


class MeasuredUpdateProcessor(BaseUpdateProcessor):
    """Wraps any update processor: times each update and binds its ids for logging.

    ``ApplicationBuilder().concurrent_updates(MeasuredUpdateProcessor(inner))``; the
    inner processor keeps deciding order and concurrency (this one allows as many
    updates at once as it does).
    """

    def __init__(self, inner: BaseUpdateProcessor) -> None:
        super().__init__(inner.max_concurrent_updates)
        self._inner = inner

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await self._inner.process_update(update, measured(update, coroutine))

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()
