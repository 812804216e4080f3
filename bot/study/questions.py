"""Picking and sending a question to a chat: shared by the dispatcher and commands."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot

from bot.domain.chats import ChatSettings
from bot.domain.content import Bank
from bot.domain.schedule import end_of_local_day, local_date_of
from bot.domain.selection import choose_question, group_rotation_pick, overdue_from_soonest
from bot.domain.srs import CardDue, CardState
from bot.rendering import texts
from bot.rendering.rich import render_rich_question
from bot.rendering.tags import visible_text
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import learning
from bot.storage.learning import SoonestCards
from bot.storage.locks import lock_row
from bot.storage.models import ChatRow, DeliveryRow, QuizRow
from bot.study.banks import bank_for_questions, bank_for_settings
from bot.study.chats import load_chat
from bot.telegram import keyboards
from bot.telegram.ratelimit import Traffic
from bot.telegram.rich_messages import Content, RichMessages, RichMode, send_content
from bot.telegram.sending import (
    Blocked,
    Migrated,
    Outcome,
    Rejected,
    Sent,
    Transient,
    deliver,
)

log = logging.getLogger(__name__)
RETRY_DELAY = timedelta(seconds=30)


def pick_question(
    bank: Bank,
    settings: ChatSettings,
    *,
    cards: Mapping[str, CardState | CardDue],
    delivered: set[str],
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> str | None:
    """The question a private chat should get next (FSRS due today first, then new)."""
    decks = [deck for deck in settings.decks if bank.deck(deck) is not None] or list(bank.deck_ids)
    horizon = end_of_local_day(now, settings.schedule.timezone)
    return choose_question(
        bank, decks=decks, cards=cards, seen=delivered, now=horizon, exclude=exclude
    )


def pick_due_card(
    bank: Bank,
    settings: ChatSettings,
    *,
    soonest: SoonestCards,
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> str | None:
    """The due card :func:`pick_question` would choose, if the person's soonest cards
    decide it (most days, for anyone with a history); None: call :func:`pick_question`."""
    decks = [deck for deck in settings.decks if bank.deck(deck) is not None] or list(bank.deck_ids)
    horizon = end_of_local_day(now, settings.schedule.timezone)
    return overdue_from_soonest(
        bank,
        decks=decks,
        soonest=soonest.cards,
        complete=soonest.complete,
        now=horizon,
        exclude=exclude,
    )


async def pick_for_chat(
    bank: Bank,
    settings: ChatSettings,
    *,
    session: AsyncSession,
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> str | None:
    """:func:`pick_question` for one private chat, reading what the choice needs: the
    few soonest cards first; every card and the shown ids only when nothing is due."""
    chat_id = settings.chat_id
    soonest = (await learning.soonest_cards_for_people([chat_id], session=session))[chat_id]
    chosen = pick_due_card(bank, settings, soonest=soonest, now=now, exclude=exclude)
    if chosen is not None:
        return chosen
    cards: Mapping[str, CardDue] = (
        {question_id: CardDue(due) for question_id, due in soonest.cards}
        if soonest.complete
        else await learning.due_cards_of(chat_id, session=session)
    )
    return pick_question(
        bank,
        settings,
        cards=cards,
        delivered=await delivery_store.delivered_question_ids(chat_id, session=session),
        now=now,
        exclude=exclude,
    )


def _group_decks(bank: Bank, settings: ChatSettings) -> list[str]:
    return [deck for deck in settings.decks if bank.deck(deck) is not None] or list(bank.deck_ids)


def pick_group_question(
    bank: Bank, settings: ChatSettings, *, delivered: dict[str, datetime]
) -> str | None:
    """A group's next question: its own rotation, no repeat until the pool is used up.

    ``delivered`` needs only the pool's questions (:func:`group_pool_ids`); others are ignored.
    """
    return group_rotation_pick(bank, decks=_group_decks(bank, settings), delivered=delivered)


def group_pool_ids(bank: Bank, settings: ChatSettings) -> list[str]:
    """The ids :func:`pick_group_question` picks from: the group's decks in the current bank,
    so that /question reads the history of those questions only."""
    decks = set(_group_decks(bank, settings))
    return [question.id for deck in bank.decks if deck.id in decks for question in deck.questions]


def daily_label(local_date: date) -> str:
    return f"Question of the day · {local_date:%a %d %b}"


def label_for(delivery: DeliveryRow, quiz: QuizRow | None = None) -> str:
    if delivery.daily_on is not None:
        return daily_label(delivery.daily_on)
    if quiz is not None and delivery.question_id in quiz.question_ids:
        position = quiz.question_ids.index(delivery.question_id) + 1
        return f"Quiz · {quiz.topic} · {position}/{len(quiz.question_ids)}"
    return "Extra question"


@dataclass(frozen=True)
class PreparedSend:
    delivery_id: int
    chat_id: int
    question_id: str
    label: str
    skip: bool = True
    quiz_id: int | None = None
    due_at: datetime | None = None
    """The due minute of a daily delivery, to measure how late it went out."""
    typed: bool = False  # offer "Type my answer" (private chats)
    bank: Bank | None = field(default=None, compare=False, repr=False)
    """The chat's bank when it has decks of its own (bot/study/banks.py); None: the
    built-in bank given to :func:`send_prepared`."""


def prepare(
    delivery: DeliveryRow,
    *,
    quiz: QuizRow | None = None,
    group: bool = False,
    group_streak: int = 0,
    due_at: datetime | None = None,
    bank: Bank | None = None,
) -> PreparedSend:
    label = label_for(delivery, quiz)
    if group and quiz is None and group_streak:
        label += f" · 🔥 group streak {group_streak}"
    return PreparedSend(
        delivery.id,
        delivery.chat_id,
        delivery.question_id,
        label,
        skip=not (group and quiz is None),
        quiz_id=quiz.id if quiz is not None else None,
        due_at=due_at,
        typed=not group,
        bank=bank,
    )


def prepare_daily(
    delivery_id: int,
    chat_id: int,
    question_id: str,
    local_date: date,
    *,
    group: bool,
    group_streak: int = 0,
    due_at: datetime | None = None,
    bank: Bank | None = None,
) -> PreparedSend:
    """:func:`prepare` of a daily delivery known by its values (the dispatcher inserts
    its batch with Core and has no ``DeliveryRow``): the same label and buttons."""
    label = daily_label(local_date)
    if group and group_streak:
        label += f" · 🔥 group streak {group_streak}"
    return PreparedSend(
        delivery_id,
        chat_id,
        question_id,
        label,
        skip=not group,
        due_at=due_at,
        typed=not group,
        bank=bank,
    )


def card_text(bank: Bank, question_id: str, label: str, footer: str = "") -> str | None:
    """The rendered question card (HTML); cached as :func:`_card` says."""
    return _card(bank, question_id, label, footer, rich=False)


def rich_card_text(bank: Bank, question_id: str, label: str, footer: str = "") -> str | None:
    """The question card as a rich message, or None: a plain question (no formula, no
    code) goes as the ordinary HTML card. Cached as :func:`_card` says."""
    return _card(bank, question_id, label, footer, rich=True)


def _card(bank: Bank, question_id: str, label: str, footer: str, *, rich: bool) -> str | None:
    """A built-in question's card is cached, since thousands of chats get the same one. A
    question of someone's own deck (an extended bank, built per chat) is rendered each
    time: few chats share it, and caching it under the chat's bank would keep every such
    bank alive."""
    builtin = bank.builtin
    if bank is builtin or builtin.question(question_id) is not None:
        return _builtin_card(builtin, question_id, label, footer, rich)
    render = _render_rich_card if rich else _render_card
    return render(bank, question_id, label, footer)


@lru_cache(maxsize=8192)
def _builtin_card(bank: Bank, question_id: str, label: str, footer: str, rich: bool) -> str | None:
    render = _render_rich_card if rich else _render_card
    return render(bank, question_id, label, footer)


def _render_card(bank: Bank, question_id: str, label: str, footer: str) -> str | None:
    question = bank.question(question_id)
    deck = bank.deck_of(question_id)
    if question is None or deck is None:
        return None
    return texts.question_card(deck, question, label=label, footer=footer)


def _render_rich_card(bank: Bank, question_id: str, label: str, footer: str) -> str | None:
    question = bank.question(question_id)
    deck = bank.deck_of(question_id)
    if question is None or deck is None:
        return None
    # The rich form takes plain-text lines (it sets the header in bold itself).
    header = visible_text(texts.question_header(deck, question, label=label))
    return render_rich_question(question.question, header=header, footer=visible_text(footer))


def question_content(bank: Bank, question_id: str, label: str, footer: str = "") -> Content:
    """A question card both ways, for bot.telegram.rich_messages (rich only with a formula
    or code in it)."""

    def rich() -> tuple[str, ...] | None:
        card = rich_card_text(bank, question_id, label, footer)
        return None if card is None else (card,)

    return Content(
        what=f"question {question_id}",
        html=lambda: (card_text(bank, question_id, label, footer) or "",),
        rich=rich,
    )


_HTML_ONLY = RichMessages(RichMode.OFF)


async def send_prepared(
    bot: Bot,
    bank: Bank,
    item: PreparedSend,
    *,
    traffic: Traffic = Traffic.INTERACTIVE,
    paid: bool = False,
    rich: RichMessages = _HTML_ONLY,
) -> Outcome:
    """Send the question message of a recorded delivery.

    ``traffic`` is the rate limiter's queue: the dispatcher's sends are
    broadcast, a question asked for with a command is a reply. ``paid`` sets
    ``allow_paid_broadcast`` (Telegram charges Stars beyond the free limit).
    ``rich``: the process's choice of rich messages (a question with a formula or
    code goes as one, bot/telegram/rich_messages.py); by default HTML only.
    """
    bank = item.bank or bank
    if card_text(bank, item.question_id, item.label) is None:
        return Rejected(f"question {item.question_id!r} is no longer in the bank")
    content = question_content(bank, item.question_id, item.label)
    markup = keyboards.question_keyboard_json(
        item.delivery_id, skip=item.skip, quiz_id=item.quiz_id, typed=item.typed
    )
    extra: dict[str, object] | None = {"allow_paid_broadcast": True} if paid else None

    async def call() -> int:
        return await send_content(
            bot, rich, content, chat_id=item.chat_id, markup=markup, traffic=traffic, extra=extra
        )

    return await deliver(call)


async def record_outcome(
    item: PreparedSend, outcome: Outcome, *, session: AsyncSession, now: datetime
) -> None:
    """Store what happened to a send: sent, retry later, or a chat to deactivate."""
    match outcome:
        case Sent(message_id):
            await delivery_store.mark_sent(item.delivery_id, message_id, session=session, now=now)
        case Transient(reason):
            log.warning(
                "delivery %s to chat %s will be retried: %s", item.delivery_id, item.chat_id, reason
            )
            await delivery_store.release_for_retry(
                item.delivery_id, session=session, now=now, delay=RETRY_DELAY
            )
        case Blocked(reason):
            log.info("chat %s is unreachable (%s): deactivated", item.chat_id, reason)
            await delivery_store.mark_failed(item.delivery_id, session=session)
            await chat_store.set_active(item.chat_id, False, session=session, now=now)
        case Migrated(new_chat_id):
            log.info("chat %s migrated to %s", item.chat_id, new_chat_id)
            await chat_store.migrate_chat(item.chat_id, new_chat_id, session=session, now=now)
            await delivery_store.release_for_retry(
                item.delivery_id, session=session, now=now, delay=timedelta(0)
            )
        case Rejected(reason):
            log.error("delivery %s to chat %s rejected: %s", item.delivery_id, item.chat_id, reason)
            await delivery_store.mark_failed(item.delivery_id, session=session)


async def create_daily(
    settings: ChatSettings,
    *,
    session: AsyncSession,
    question_id: str,
    local_date: date,
    now: datetime,
    lease: timedelta = delivery_store.LEASE,
) -> DeliveryRow | None:
    """Record today's daily delivery and move the chat's next due past today."""
    delivery = await delivery_store.create_delivery(
        session=session,
        chat_id=settings.chat_id,
        question_id=question_id,
        now=now,
        daily_on=local_date,
        lease=lease,
    )
    last = max(day for day in (settings.last_delivered_on, local_date) if day is not None)
    updated = replace(settings, last_delivered_on=last).rescheduled(now=now)
    await chat_store.save_chat(updated, session=session, now=now)
    return delivery


class Asked(Enum):
    READY = "ready"  # a delivery is recorded: send it
    NOT_SUBSCRIBED = "not subscribed"
    NO_QUESTION = "no question"  # nothing left in the chat's decks


@dataclass(frozen=True)
class AskResult:
    outcome: Asked
    question: PreparedSend | None = None  # READY: the delivery to send


async def ask(services: Services, *, chat_id: int, daily: bool, now: datetime) -> AskResult:
    """/question (``daily``: today's question, or the same one again if it already
    went out) and /next (an extra question, not the one just shown): the delivery
    recorded, to be sent."""
    async with services.sessions() as session, session.begin():
        if daily:
            # The chat's row first, as the dispatcher's claim takes it: today's delivery
            # row and the chat's next due are then written in the same order by both
            # (else each can wait for the other's half: a deadlock on PostgreSQL).
            await lock_row(session, ChatRow, chat_id)
        settings = await load_chat(chat_id, session=session, services=services)
        if settings is None:
            return AskResult(Asked.NOT_SUBSCRIBED)
        bank = await bank_for_settings(services, settings, session=session)
        today = local_date_of(now, settings.schedule.timezone)
        delivery = (
            await delivery_store.daily_delivery(chat_id, today, session=session) if daily else None
        )
        if delivery is None:
            latest = (
                None
                if daily
                else await delivery_store.latest_sent_delivery(chat_id, session=session)
            )
            question_id = await pick_for_chat(
                bank,
                settings,
                session=session,
                now=now,
                exclude=frozenset({latest.question_id}) if latest else frozenset(),
            )
            if question_id is None:
                return AskResult(Asked.NO_QUESTION)
            if daily:
                delivery = await create_daily(
                    settings, session=session, question_id=question_id, local_date=today, now=now
                ) or await delivery_store.daily_delivery(chat_id, today, session=session)
                # (None from create_daily: the dispatcher created today's row meanwhile.)
            else:
                delivery = await delivery_store.create_delivery(
                    session=session,
                    chat_id=chat_id,
                    question_id=question_id,
                    now=now,
                    daily_on=None,
                )
        if delivery is None:
            return AskResult(Asked.READY, None)
        if bank.question(delivery.question_id) is None:
            bank = await bank_for_questions(services, [delivery.question_id], session=session)
        return AskResult(Asked.READY, prepare(delivery, bank=bank))


async def send_and_record(
    bot: Bot, services: Services, item: PreparedSend, *, traffic: Traffic = Traffic.INTERACTIVE
) -> Outcome:
    """Send a recorded delivery and store what happened to the send."""
    bank = item.bank or services.bank
    if bank.question(item.question_id) is None:  # a question of someone's own deck
        async with services.autocommit() as session:
            bank = await bank_for_questions(services, [item.question_id], session=session)
    outcome = await send_prepared(bot, bank, item, traffic=traffic, rich=services.rich)
    async with services.sessions() as session, session.begin():
        await record_outcome(item, outcome, session=session, now=services.clock())
    return outcome
