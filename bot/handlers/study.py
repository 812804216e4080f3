"""Questions and answers: /question, /next, /answer, Show answer, Skip, grades."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from telegram import InlineKeyboardMarkup, Message, ReplyParameters, Update, User
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError

from bot.domain.intervals import button_intervals
from bot.domain.schedule import local_date_of
from bot.domain.srs import CardState, Rating, review
from bot.handlers import quiz as quiz_flow
from bot.handlers.common import (
    NOT_SUBSCRIBED,
    edit_markup_or_ignore,
    edit_or_ignore,
    load_chat,
    now_of,
    reply,
    tell,
    toast,
)
from bot.handlers.groups import is_admin
from bot.rendering import render_answer, texts
from bot.service.context import BotContext
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import learning, people
from bot.storage import quizzes as quiz_store
from bot.storage.models import DeliveryRow, ReviewRow
from bot.study.questions import (
    PreparedSend,
    card_text,
    create_daily,
    label_for,
    pick_for_chat,
    prepare,
    record_outcome,
    send_prepared,
)
from bot.telegram import keyboards
from bot.telegram.callbacks import Grade, Reveal, Skip
from bot.telegram.sending import Sent, call_with_retries, send_message_id

log = logging.getLogger(__name__)

NO_QUESTION = "I have no question for your topics right now. Try /topics to pick more decks."
GONE = "This question is no longer available."
NOT_YOURS = "This card belongs to someone else."
PRESS_AGAIN = "That grade was not saved because your data changed meanwhile. Please press again."
ON_ITS_WAY = "The answer is on its way. If it is not here in half a minute, ask again."
SEND_FAILED = "Telegram did not accept the message just now. Please try again in a minute."


async def _send_and_record(context: BotContext, item: PreparedSend) -> bool:
    services = context.services
    outcome = await send_prepared(context.bot, services.bank, item)
    async with services.sessions() as session, session.begin():
        await record_outcome(item, outcome, session=session, now=services.clock())
    return isinstance(outcome, Sent)


async def question_command(update: Update, context: BotContext) -> None:
    """/question: today's question now, or the same one again if it already went out."""
    await _send_question(update, context, daily=True)


async def next_command(update: Update, context: BotContext) -> None:
    """/next: an extra question now, on top of the daily one."""
    await _send_question(update, context, daily=False)


async def _send_question(update: Update, context: BotContext, *, daily: bool) -> None:
    """Record a delivery (today's, or an extra one) for the chat and send it."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        settings = await load_chat(chat.id, session=session, services=services)
        if settings is None:
            await reply(update, NOT_SUBSCRIBED)
            return
        today = local_date_of(now, settings.schedule.timezone)
        delivery = (
            await delivery_store.daily_delivery(chat.id, today, session=session) if daily else None
        )
        if delivery is None:
            latest = (
                None
                if daily
                else await delivery_store.latest_sent_delivery(chat.id, session=session)
            )
            question_id = await pick_for_chat(
                services.bank,
                settings,
                session=session,
                now=now,
                exclude=frozenset({latest.question_id}) if latest else frozenset(),
            )
            if question_id is None:
                await reply(update, NO_QUESTION)
                return
            if daily:
                delivery = await create_daily(
                    settings, session=session, question_id=question_id, local_date=today, now=now
                ) or await delivery_store.daily_delivery(chat.id, today, session=session)
                # (None from create_daily: the dispatcher created today's row meanwhile.)
            else:
                delivery = await delivery_store.create_delivery(
                    session=session,
                    chat_id=chat.id,
                    question_id=question_id,
                    now=now,
                    daily_on=None,
                )
        item = prepare(delivery) if delivery is not None else None
    if item is None or not await _send_and_record(context, item):
        await reply(update, SEND_FAILED)


async def answer_command(update: Update, context: BotContext) -> None:
    """/answer: reveal the answer to the last question sent here."""
    chat = update.effective_chat
    if chat is None:
        return
    async with context.services.sessions() as session:
        latest = await delivery_store.latest_sent_delivery(chat.id, session=session)
    if latest is None:
        await reply(update, "There is no question to answer yet. /question sends today's.")
        return
    await _reveal(update, context, latest.id, from_button=False)


async def reveal_button(update: Update, context: BotContext, action: Reveal) -> None:
    """Show answer: post the model answer once, with grade buttons under it."""
    await _reveal(update, context, action.delivery_id, from_button=True)


async def _reveal(
    update: Update, context: BotContext, delivery_id: int, *, from_button: bool
) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    now = now_of(context)
    group = chat.type != ChatType.PRIVATE
    async with services.autocommit() as session, session.begin():
        began = await delivery_store.begin_reveal(
            delivery_id, chat.id, card_of=chat.id, session=session, now=now
        )
        if began is None:
            # Not this chat's, gone, or revealed already: one more read tells which.
            delivery = await delivery_store.get_delivery(delivery_id, session=session)
    if began is None:
        if delivery is None or delivery.chat_id != chat.id:
            await tell(update, GONE, alert=True)
        else:
            await _already_revealed(update, context, delivery.answer_message_id, from_button)
        return
    delivery, card = began
    question = services.bank.question(delivery.question_id)
    if question is None:
        async with services.autocommit() as session, session.begin():
            await delivery_store.record_answer_message(delivery.id, None, session=session)
        await tell(update, GONE, alert=True)
        return
    parts = render_answer(question.answer, header="<b>Model answer</b>", spoiler=group)
    # In a private chat the grader is the chat's person: show FSRS's interval for
    # each button. In groups every member has their own card: plain buttons.
    markup = keyboards.grade_keyboard(
        delivery.id,
        next_quiz=delivery.quiz_id if group and delivery.quiz_id else None,
        intervals=None if group else button_intervals(card, now),
    )
    # Reply to the pressed message itself: the recorder may not have stored the
    # question's message id yet when someone taps within milliseconds.
    pressed = update.callback_query.message if update.callback_query else None
    reply_to = pressed.message_id if pressed is not None else delivery.message_id
    sent = await _send_answer(context, chat.id, delivery, parts, markup, reply_to)
    async with services.autocommit() as session, session.begin():
        # Not sent: clear revealed_at, so the person can try again.
        await delivery_store.record_answer_message(delivery.id, sent, session=session)
    if sent is None:
        await tell(update, SEND_FAILED, alert=True)
        return
    if from_button:
        await toast(update, "Answer below. How well did you know it?")
        message = update.callback_query.message if update.callback_query else None
        if isinstance(message, Message):
            await _mark_question(context, message, delivery, texts.REVEALED_FOOTER)


async def _send_answer(
    context: BotContext,
    chat_id: int,
    delivery: DeliveryRow,
    parts: list[str],
    grades: InlineKeyboardMarkup,
    reply_to_id: int | None,
) -> int | None:
    """Post the answer's parts; the message id of the last one (with the grade buttons).

    Sent through ``do_api_request``, which skips building a ``Message`` from each
    reply: an answer's reply repeats its whole text with every entity, and only
    the message id is needed (the dispatcher does the same, bot/study/questions.py).
    """
    last: int | None = None
    try:
        for index, part in enumerate(parts):
            params: dict[str, object] = {"chat_id": chat_id, "text": part, "parse_mode": "HTML"}
            if index == 0 and reply_to_id:
                params["reply_parameters"] = {
                    "message_id": reply_to_id,
                    "allow_sending_without_reply": True,
                }
            if index == len(parts) - 1:
                params["reply_markup"] = grades

            async def call(params: dict[str, object] = params) -> int:
                return await send_message_id(context.bot, params)

            last = await call_with_retries(call)
    except Forbidden as error:  # blocked, or removed from the group: one line
        log.info("answer of delivery %s not sent: %s", delivery.id, error)
        return None
    except TelegramError as error:
        log.warning("could not send the answer of delivery %s: %s", delivery.id, error)
        return None
    except Exception:
        log.exception("could not send the answer of delivery %s", delivery.id)
        return None
    return last


async def _mark_question(
    context: BotContext, message: Message, delivery: DeliveryRow, footer: str
) -> None:
    """Edit the question message: the same card with a footer, and no buttons.

    The card is rendered again from the bank rather than from the message's
    entities, so the edit looks exactly like the original.
    """
    quiz = None
    if delivery.quiz_id is not None:
        async with context.services.sessions() as session:
            quiz = await quiz_store.get_quiz(delivery.quiz_id, session=session)
    text = card_text(context.services.bank, delivery.question_id, label_for(delivery, quiz), footer)
    if text is None:
        return
    await edit_or_ignore(message, text, reply_markup=None)


async def _already_revealed(
    update: Update, context: BotContext, answer_message_id: int | None, from_button: bool
) -> None:
    if answer_message_id is None:
        # Being sent now; if that process died, the mark goes stale and the next
        # press or /answer sends the answer (bot.storage.deliveries.REVEAL_LEASE).
        await tell(update, ON_ITS_WAY)
        return
    if from_button:
        await toast(update, "The answer is already above ⬆️")
        return
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(
            chat.id,
            "The answer is right here ⬆️",
            reply_parameters=ReplyParameters(answer_message_id, allow_sending_without_reply=True),
        )


async def skip_button(update: Update, context: BotContext, action: Skip) -> None:
    """Skip: set the question aside without grading it."""
    chat = update.effective_chat
    query = update.callback_query
    if chat is None or query is None:
        return
    async with context.services.sessions() as session:
        delivery = await delivery_store.get_delivery(action.delivery_id, session=session)
    if delivery is None or delivery.chat_id != chat.id:
        await toast(update, GONE, alert=True)
        return
    if delivery_store.answer_shown(delivery, now_of(context)):
        await toast(update, "The answer is already shown; grade it below.")
        return
    if chat.type != ChatType.PRIVATE:
        # Skipping hides the question from everyone: the quiz's starter or an admin only.
        starter = await _quiz_starter(context, delivery)
        user = update.effective_user
        if user is None or (user.id != starter and not await is_admin(update, context)):
            await toast(update, "Only the quiz's starter or an admin can skip.", alert=True)
            return
    await toast(update, "Skipped.")
    if isinstance(query.message, Message):
        await _mark_question(context, query.message, delivery, texts.SKIPPED_FOOTER)
    await quiz_flow.advance_after(context, delivery)


async def _quiz_starter(context: BotContext, delivery: DeliveryRow) -> int | None:
    if delivery.quiz_id is None:
        return None
    async with context.services.sessions() as session:
        quiz = await quiz_store.get_quiz(delivery.quiz_id, session=session)
    return quiz.started_by if quiz is not None else None


def _local_parts(now: datetime, timezone: str) -> tuple[datetime, int]:
    local = now.astimezone(ZoneInfo(timezone))
    offset = local.utcoffset() or timedelta(0)
    return local, int(offset.total_seconds() // 60)


async def grade_button(update: Update, context: BotContext, action: Grade) -> None:
    """A grade: update the person's FSRS card once per delivery, record the review.

    Two statements on PostgreSQL (bot.storage.learning): one read (the delivery,
    the grader, their card) and one write (the review and the card, or nothing
    if this person already graded this delivery), neither in a transaction of
    its own.
    """
    chat = update.effective_chat
    user = update.effective_user
    query = update.callback_query
    if chat is None or user is None or query is None:
        return
    services = context.services
    now = now_of(context)
    rating = Rating(action.rating)
    async with services.autocommit() as session:
        target = await learning.grade_target(action.delivery_id, user.id, session=session)
    delivery = target.delivery if target is not None else None
    if target is None or delivery is None or delivery.chat_id != chat.id:
        await toast(update, GONE, alert=True)
        return
    if chat.type == ChatType.PRIVATE and user.id != chat.id:
        await toast(update, NOT_YOURS, alert=True)
        return
    if delivery.revealed_at is None:
        await toast(update, "Reveal the answer first.")
        return
    if services.bank.question(delivery.question_id) is None:
        await toast(update, GONE, alert=True)
        return
    stored = target.card
    card = review(CardState.from_dict(stored.state) if stored else None, rating, now)
    try:
        timezone = (
            target.person.timezone
            if target.person is not None
            else await _track_member(context, user, chat.id, now)
        )
        local, offset = _local_parts(now, timezone)
        grade = ReviewRow(
            person_id=user.id,
            question_id=delivery.question_id,
            delivery_id=delivery.id,
            chat_id=chat.id,
            rating=int(rating),
            source=delivery.kind,
            reviewed_at=now,
            local_date=local.date(),
            utc_offset_minutes=offset,
        )
        async with services.autocommit() as session, session.begin():
            # The unique (person, delivery) constraint decides a double tap: no read first.
            recorded = await learning.record_grade(grade, card, session=session)
    except IntegrityError:
        # The person's rows were deleted meanwhile (/forget in their private chat
        # while they graded in a group): nothing was saved; a new press starts afresh.
        log.info("grade of delivery %s by %s raced a deletion", action.delivery_id, user.id)
        await toast(update, PRESS_AGAIN, alert=True)
        return
    if not recorded:
        async with services.autocommit() as session:
            previous = await learning.review_for_delivery(user.id, delivery.id, session=session)
        earlier = f": {keyboards.GRADE_LABELS[Rating(previous.rating)]}" if previous else ""
        await toast(update, f"Already graded{earlier}.")
        return
    phrase = texts.next_review_phrase(card.due, now)
    label = keyboards.GRADE_LABELS[rating]
    if chat.type != ChatType.PRIVATE:
        # The buttons stay for the other members; the grader hears it privately.
        await toast(update, f"Saved for you, {user.first_name}: {label}. Back {phrase}.")
        return
    await toast(update, f"Saved: {label}. This one comes back {phrase}.")
    if isinstance(query.message, Message):
        in_quiz = delivery.quiz_id is not None
        await edit_markup_or_ignore(
            query.message, keyboards.graded_keyboard(rating, phrase, offer_next=not in_quiz)
        )
    await quiz_flow.advance_after(context, delivery)


async def _track_member(context: BotContext, user: User, chat_id: int, now: datetime) -> str:
    """A group member who never opened the bot privately: tracked too, in the group's
    time zone until they choose their own; that zone."""
    async with context.services.sessions() as session, session.begin():
        chat_settings = await chat_store.get_chat(chat_id, session=session)
        zone = chat_settings.schedule.timezone if chat_settings else "UTC"
        person = await people.upsert_person(
            user.id,
            session=session,
            first_name=user.first_name or "",
            username=user.username,
            timezone=zone,
            now=now,
        )
    return person.timezone
