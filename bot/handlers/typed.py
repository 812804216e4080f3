"""Typed answers: "✍️ Type my answer", the typed text, feedback, and the model answer.

A private chat's question message offers "✍️ Type my answer"; pressing it records that the
person is typing (``typed_answers``, status ``awaiting``) and sends a ForceReply prompt. A
text that replies to the question or to the prompt is the answer, and so is plain text
while an attempt is awaiting and its question is not revealed. The answer is checked
(offline, or by the model grader when configured, within its daily limit), the question
is revealed exactly as Show answer does, and the feedback plus the model answer come back
with the usual grade buttons, the suggested one marked ★. The grade itself goes through
the ordinary grade handler (bot/handlers/study.py), so FSRS, streaks and quizzes behave
as always. In groups a reply to a question gets a one-line pointer to the private chat.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.domain.answer_check import MAX_ANSWER_CHARS, Feedback, KeyPoint, bank_index, check_answer
from bot.domain.schedule import local_date_of
from bot.domain.srs import Rating
from bot.handlers import settings as settings_handlers
from bot.handlers.common import now_of, reply, toast
from bot.rendering import render_answer, texts
from bot.rendering import typed_texts as say
from bot.service.context import BotApplication, BotContext
from bot.storage import deliveries as delivery_store
from bot.storage import people
from bot.storage import quizzes as quiz_store
from bot.storage import typed_answers as store
from bot.storage.models import DeliveryRow
from bot.study.model_grader import ModelGrader, ModelVerdict
from bot.study.questions import label_for
from bot.telegram import callbacks as cb
from bot.telegram import keyboards
from bot.telegram.callbacks import KeepTyped, TypeAnswer
from bot.telegram.sending import call_with_retries

log = logging.getLogger(__name__)

GONE = "This question is no longer available."
PRIVATE_ONLY = "Typed answers work in a private chat with me."
GRADER_KEY = "model_grader"
POINTED_KEY = "typed_group_pointers"
POINTED_MEMORY = 10_000


# --- the button ---------------------------------------------------------------------------


async def type_button(update: Update, context: BotContext, action: TypeAnswer) -> None:
    """✍️ Type my answer: remember the attempt and ask for the text with a ForceReply."""
    chat, user, query = update.effective_chat, update.effective_user, update.callback_query
    if chat is None or user is None or query is None:
        return
    if chat.type != ChatType.PRIVATE or user.id != chat.id:
        await toast(update, PRIVATE_ONLY, alert=True)
        return
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        delivery = await delivery_store.get_delivery(action.delivery_id, session=session)
        if delivery is None or delivery.chat_id != chat.id:
            await toast(update, GONE, alert=True)
            return
        if services.bank.question(delivery.question_id) is None:
            await toast(update, GONE, alert=True)
            return
        if delivery_store.answer_shown(delivery, now):
            await toast(update, "The answer is already shown; grade it below.")
            return
        if await people.get_person(user.id, session=session) is None:
            await toast(update, "Send /start first, then try again.", alert=True)
            return
        attempt = await store.begin_typing(
            user.id, chat.id, delivery.id, delivery.question_id, session=session, now=now
        )
        attempt_id, prompted = attempt.id, attempt.prompt_message_id is not None
    if prompted:  # a second press: the prompt is already there
        await toast(update, "I'm waiting for your answer: just send it ✍️")
        return
    await toast(update, "Type your answer below ✍️")
    _warm_up(context)
    pressed = query.message
    reply_to = pressed.message_id if isinstance(pressed, Message) else delivery.message_id
    prompt = await context.bot.send_message(
        chat.id,
        say.PROMPT,
        reply_parameters=(
            ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        ),
        reply_markup=ForceReply(input_field_placeholder=say.PLACEHOLDER),
    )
    async with services.sessions() as session, session.begin():
        await store.set_prompt(attempt_id, prompt.message_id, session=session)


def _warm_up(context: BotContext) -> None:
    """Build the bank's term statistics while the person types (a few seconds of CPU, once)."""
    bank = context.services.bank
    context.application.create_task(asyncio.to_thread(bank_index, bank), name="answer-index")


# --- the typed text -----------------------------------------------------------------------


async def take_typed_answer(update: Update, context: BotContext) -> bool:
    """Handle a private text as a typed answer if it is one; False to let others have it."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or not message.text:
        return False
    delivery = await _target(context, message, chat.id, user.id)
    if delivery is None:
        return False
    await _check_and_reveal(update, context, delivery, message)
    return True


async def _target(
    context: BotContext, message: Message, chat_id: int, person_id: int
) -> DeliveryRow | None:
    """The delivery this text answers: the replied-to question or prompt, or an awaiting one."""
    replied = message.reply_to_message
    async with context.services.sessions() as session:
        if replied is not None:
            if replied.from_user is None or replied.from_user.id != context.bot.id:
                return None
            attempt = await store.by_prompt(chat_id, replied.message_id, session=session)
            if attempt is not None:
                return await delivery_store.get_delivery(attempt.delivery_id, session=session)
            return await _question_of(replied, chat_id, session)
        attempt = await store.latest_awaiting(
            person_id, chat_id, session=session, now=now_of(context)
        )
        if attempt is None:
            return None
        # Plain text answers the question only while no newer one came (after a Skip and
        # /next, say): otherwise it would be checked against a question no longer on screen.
        latest = await delivery_store.latest_sent_delivery(chat_id, session=session)
        if latest is None or latest.id != attempt.delivery_id:
            return None
        return latest


async def _question_of(message: Message, chat_id: int, session: AsyncSession) -> DeliveryRow | None:
    """The delivery whose question ``message`` is.

    By its recorded message id; failing that by its buttons, which Telegram includes in
    ``reply_to_message``: the dispatcher records a sent question's id a moment after
    sending it, and a reply may come first.
    """
    delivery = await store.delivery_by_message(chat_id, message.message_id, session=session)
    if delivery is not None or message.reply_markup is None:
        return delivery
    for row in message.reply_markup.inline_keyboard:
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else None
            action = cb.decode(data)
            if isinstance(action, cb.Reveal | TypeAnswer):
                found = await delivery_store.get_delivery(action.delivery_id, session=session)
                return found if found is not None and found.chat_id == chat_id else None
    return None


@dataclass(frozen=True)
class _Judged:
    lines: tuple[say.PointLine, ...]
    suggested: Rating
    checker: str
    checker_kind: str  # offline | model
    advice: str = ""
    # The local day a model-grader request was counted on (None: the offline checker judged).
    charged_day: date | None = None


async def _check_and_reveal(
    update: Update, context: BotContext, delivery: DeliveryRow, message: Message
) -> None:
    services = context.services
    question = services.bank.question(delivery.question_id)
    deck = services.bank.deck_of(delivery.question_id)
    if question is None or deck is None:
        await reply(update, GONE)
        return
    if delivery_store.answer_shown(delivery, now_of(context)):
        await reply(update, say.ALREADY_REVEALED)
        return
    text = message.text or ""
    truncated = len(text) > MAX_ANSWER_CHARS
    text = text[:MAX_ANSWER_CHARS]
    person_id = message.chat.id
    # The CPU work (and, once, building the bank's statistics) stays off the event loop.
    points = await asyncio.to_thread(lambda: bank_index(services.bank).points(question.id))
    offline = await asyncio.to_thread(check_answer, points, text)
    judged = await _judge(context, person_id, question.question, points, offline, text)

    now = now_of(context)
    async with services.sessions() as session, session.begin():
        first = await delivery_store.try_begin_reveal(delivery.id, session=session, now=now)
        if first:
            keep = await store.keeps_answers(person_id, session=session)
            await store.record_check(
                person_id,
                delivery.chat_id,
                delivery.id,
                delivery.question_id,
                session=session,
                now=now,
                checker=judged.checker_kind,
                covered=sum(1 for line in judged.lines if line.covered),
                total=len(judged.lines),
                suggested_rating=int(judged.suggested),
                answer=text if keep else None,
            )
        quiz = (
            await quiz_store.get_quiz(delivery.quiz_id, session=session)
            if delivery.quiz_id is not None
            else None
        )
    if not first:
        await _give_back(context, person_id, judged.charged_day)
        await reply(update, say.ALREADY_REVEALED)
        return

    view = say.FeedbackView(
        judged.lines, judged.suggested, judged.checker, judged.advice, truncated
    )
    feedback = say.feedback_text(view)
    parts = render_answer(question.answer, header="<b>Model answer</b>")
    grades = keyboards.grade_keyboard(delivery.id, suggested=judged.suggested)
    sent = await _send_feedback_and_answer(
        context, delivery, message.message_id, feedback, parts, grades
    )
    async with services.autocommit() as session, session.begin():
        # Not sent: the reveal is undone, so the person can try again.
        await delivery_store.record_answer_message(
            delivery.id, sent.message_id if sent is not None else None, session=session
        )
    if sent is None:
        await _give_back(context, person_id, judged.charged_day)
        await reply(update, "Telegram did not accept the message just now. Please try again.")
        return
    if delivery.message_id is not None:
        card = texts.question_card(
            deck, question, label=label_for(delivery, quiz), footer=texts.REVEALED_FOOTER
        )
        try:
            await context.bot.edit_message_text(
                card, chat_id=delivery.chat_id, message_id=delivery.message_id, reply_markup=None
            )
        except BadRequest as error:  # deleted, too old, or already edited: nothing to fix
            log.info("question %s not edited after a typed answer: %s", delivery.id, error)


async def _judge(
    context: BotContext,
    person_id: int,
    question: str,
    points: tuple[KeyPoint, ...],
    offline: Feedback,
    text: str,
) -> _Judged:
    """The model's verdict when configured and within today's limit, else the offline one."""
    lines = tuple(say.PointLine(v.point.preview, v.covered) for v in offline.verdicts)
    fallback = _Judged(lines, offline.suggested, say.OFFLINE_CHECKER, "offline")
    services = context.services
    config = services.settings
    if not config.llm_enabled or not points:
        return fallback
    async with services.sessions() as session, session.begin():
        person = await people.get_person(person_id, session=session)
        zone = person.timezone if person is not None else "UTC"
        day = local_date_of(now_of(context), zone)
        allowed = await store.take_llm_request(
            person_id, day, config.llm_daily_limit, session=session
        )
    if not allowed:
        return _Judged(lines, offline.suggested, say.MODEL_LIMIT, "offline")
    verdict: ModelVerdict | None = await model_grader(context).judge(
        question, [point.text for point in points], text
    )
    if verdict is None:
        await _give_back(context, person_id, day)
        return _Judged(lines, offline.suggested, say.MODEL_FALLBACK, "offline")
    model_lines = tuple(
        say.PointLine(point.preview, covered)
        for point, covered in zip(points, verdict.covered, strict=True)
    )
    return _Judged(
        model_lines,
        verdict.suggested,
        say.model_checker(verdict.model),
        "model",
        verdict.advice,
        charged_day=day,
    )


async def _give_back(context: BotContext, person_id: int, day: date | None) -> None:
    """The model's feedback did not reach the person: it does not count against the limit."""
    if day is None:
        return
    async with context.services.sessions() as session, session.begin():
        await store.give_back_llm_request(person_id, day, session=session)


def model_grader(context: BotContext) -> ModelGrader:
    """The running bot's model grader, created on first use."""
    extras = context.bot_data.extras
    grader = extras.get(GRADER_KEY)
    if not isinstance(grader, ModelGrader):
        grader = ModelGrader(context.services.settings)
        extras[GRADER_KEY] = grader
    return grader


async def close_model_grader(application: BotApplication) -> None:
    """Close the model grader's connections (post_shutdown)."""
    grader = application.bot_data.extras.pop(GRADER_KEY, None)
    if isinstance(grader, ModelGrader):
        await grader.close()


async def _send_feedback_and_answer(
    context: BotContext,
    delivery: DeliveryRow,
    typed_message_id: int,
    feedback: str,
    parts: list[str],
    grades: InlineKeyboardMarkup,
) -> Message | None:
    """The feedback (a reply to the typed answer), then the model answer with the grades."""
    chat_id = delivery.chat_id
    last: Message | None = None
    try:
        messages: list[tuple[str, int | None, InlineKeyboardMarkup | None]]
        messages = [(feedback, typed_message_id, None)]
        messages += [
            (part, None, grades if i == len(parts) - 1 else None) for i, part in enumerate(parts)
        ]
        for text, reply_to, markup in messages:

            async def call(
                text: str = text, reply_to: int | None = reply_to, markup: object = markup
            ) -> Message:
                return await context.bot.send_message(
                    chat_id,
                    text,
                    reply_parameters=(
                        ReplyParameters(reply_to, allow_sending_without_reply=True)
                        if reply_to
                        else None
                    ),
                    reply_markup=markup,  # type: ignore[arg-type]
                )

            last = await call_with_retries(call)
    except Forbidden as error:  # blocked meanwhile: one line
        log.info("feedback of delivery %s not sent: %s", delivery.id, error)
        return None
    except TelegramError as error:
        log.warning("could not send the feedback of delivery %s: %s", delivery.id, error)
        return None
    except Exception:
        log.exception("could not send the feedback of delivery %s", delivery.id)
        return None
    return last


# --- groups and settings ------------------------------------------------------------------


async def group_reply(update: Update, context: BotContext) -> None:
    """A reply to a question in a group: typed answers are checked in a private chat."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or message.reply_to_message is None:
        return
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != context.bot.id:
        return
    async with context.services.sessions() as session:
        delivery = await _question_of(replied, chat.id, session)
    if delivery is None:
        return
    # Once per member and question: a lively group replying to the daily question should
    # not get a pointer for every reply (the group's 20 messages a minute are precious).
    user = update.effective_user
    if not _first_pointer(context, (chat.id, delivery.id, user.id if user else 0)):
        return
    username = context.bot.username
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(say.GROUP_BUTTON, url=f"https://t.me/{username}")]]
    )
    await reply(update, say.GROUP_POINTER, reply_markup=markup)


def _first_pointer(context: BotContext, key: tuple[int, int, int]) -> bool:
    """True the first time ``key`` is seen (a bounded memory of recent pointers)."""
    seen = context.bot_data.extras.setdefault(POINTED_KEY, OrderedDict())
    if key in seen:
        return False
    seen[key] = None
    while len(seen) > POINTED_MEMORY:
        seen.popitem(last=False)
    return True


async def keep_button(update: Update, context: BotContext, action: KeepTyped) -> None:
    """The /settings switch "Keep my typed answers"."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    if chat.type != ChatType.PRIVATE or user.id != chat.id:
        await toast(update, PRIVATE_ONLY, alert=True)
        return
    async with context.services.sessions() as session, session.begin():
        found = await store.set_keep_answers(user.id, action.keep, session=session)
    if not found:
        await toast(update, "Send /start first.", alert=True)
        return
    await toast(
        update,
        "Your typed answers will be kept (/forget deletes them)."
        if action.keep
        else "Typed answers are no longer kept; the kept ones are deleted.",
    )
    await settings_handlers.refresh_settings_menu(update, context)
