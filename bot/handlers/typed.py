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

This module parses and sends; the check itself is the use case bot/study/typed_check.py,
the model grader's lifetime is bot/study/model_grader.py, and which group members were
already pointed to the private chat is bot/handlers/group_pointers.py.
"""

from __future__ import annotations

import asyncio
import logging

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

from bot.domain.answer_check import bank_index
from bot.handlers import settings as settings_handlers
from bot.handlers.common import reply, toast
from bot.handlers.group_pointers import pointer_memory
from bot.rendering import texts
from bot.rendering import typed_texts as say
from bot.service.context import BotContext
from bot.storage import deliveries as delivery_store
from bot.storage import people
from bot.storage import typed_answers as store
from bot.storage.models import DeliveryRow
from bot.study import typed_check
from bot.study.answers import answer_content
from bot.study.model_grader import shared_grader
from bot.study.questions import label_for, rich_card_text
from bot.study.typed_check import TypedCheck
from bot.telegram import callbacks as cb
from bot.telegram import keyboards
from bot.telegram.callbacks import KeepTyped, TypeAnswer
from bot.telegram.rich_messages import Content, edit_text, send_content
from bot.telegram.sending import call_with_retries

log = logging.getLogger(__name__)

GONE = "This question is no longer available."
PRIVATE_ONLY = "Typed answers work in a private chat with me."
NOT_SENT = "Telegram did not accept the message just now. Please try again."
# What a press of ✍️ Type my answer that starts nothing is told (alert or not).
TYPING_TOASTS: dict[str, tuple[str, bool]] = {
    "gone": (GONE, True),
    "already_revealed": ("The answer is already shown; grade it below.", False),
    "no_person": ("Send /start first, then try again.", True),
    "waiting": ("I'm waiting for your answer: just send it ✍️", False),
}


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
    started = await typed_check.start_typing(
        services, delivery_id=action.delivery_id, chat_id=chat.id
    )
    if started.outcome != "started":
        text, alert = TYPING_TOASTS[started.outcome]
        await toast(update, text, alert=alert)
        return
    assert started.delivery is not None
    assert started.attempt_id is not None
    await toast(update, "Type your answer below ✍️")
    _warm_up(context)
    pressed = query.message
    reply_to = pressed.message_id if isinstance(pressed, Message) else started.delivery.message_id
    prompt = await context.bot.send_message(
        chat.id,
        say.PROMPT,
        reply_parameters=(
            ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        ),
        reply_markup=ForceReply(input_field_placeholder=say.PLACEHOLDER),
    )
    await typed_check.record_prompt(services, started.attempt_id, prompt.message_id)


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
            person_id, chat_id, session=session, now=context.services.clock()
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


async def _check_and_reveal(
    update: Update, context: BotContext, delivery: DeliveryRow, message: Message
) -> None:
    """Check the text (bot/study/typed_check.py), then send the feedback and model answer."""
    services = context.services
    grader = (
        shared_grader(context.bot_data.extras, services.settings)
        if services.settings.llm_enabled
        else None
    )
    check = await typed_check.check_typed_answer(
        services, grader, delivery=delivery, person_id=message.chat.id, text=message.text or ""
    )
    if check.outcome == "gone":
        await reply(update, GONE)
        return
    if check.outcome == "already_revealed":
        await reply(update, say.ALREADY_REVEALED)
        return
    judgement, question, deck = check.judgement, check.question, check.deck
    assert judgement is not None
    assert question is not None
    assert deck is not None
    feedback = say.feedback_text(_feedback_view(check))
    answer = answer_content(question, group=False)
    grades = keyboards.grade_keyboard(delivery.id, suggested=judgement.suggested)
    sent = await _send_feedback_and_answer(
        context, delivery, message.message_id, feedback, answer, grades
    )
    await typed_check.record_sent(services, check, sent)
    if sent is None:  # the reveal is undone, so the person can try again
        await reply(update, NOT_SENT)
        return
    if delivery.message_id is not None:
        label = label_for(delivery, check.quiz)
        card = texts.question_card(deck, question, label=label, footer=texts.REVEALED_FOOTER)
        # The question went as a rich message if it has a formula or code and they are on.
        rich_html = (
            rich_card_text(services.bank, question.id, label, texts.REVEALED_FOOTER)
            if services.rich.on
            else None
        )
        try:
            await edit_text(
                context.bot,
                chat_id=delivery.chat_id,
                message_id=delivery.message_id,
                html=card,
                rich_html=rich_html,
            )
        except BadRequest as error:  # deleted, too old, or already edited: nothing to fix
            log.info("question %s not edited after a typed answer: %s", delivery.id, error)


def _feedback_view(check: TypedCheck) -> say.FeedbackView:
    judgement = check.judgement
    assert judgement is not None
    return say.FeedbackView(
        judgement.points,
        judgement.suggested,
        say.checker_phrase(judgement.checker, judgement.model),
        judgement.advice,
        check.truncated,
    )


async def _send_feedback_and_answer(
    context: BotContext,
    delivery: DeliveryRow,
    typed_message_id: int,
    feedback: str,
    answer: Content,
    grades: InlineKeyboardMarkup,
) -> int | None:
    """The feedback (an HTML reply to the typed answer), then the model answer with the
    grades (rich or HTML: bot/telegram/rich_messages.py); the answer's message id."""
    chat_id = delivery.chat_id
    try:

        async def call() -> Message:
            return await context.bot.send_message(
                chat_id,
                feedback,
                reply_parameters=ReplyParameters(
                    typed_message_id, allow_sending_without_reply=True
                ),
            )

        await call_with_retries(call)
        return await send_content(
            context.bot, context.services.rich, answer, chat_id=chat_id, markup=grades
        )
    except Forbidden as error:  # blocked meanwhile: one line
        log.info("feedback of delivery %s not sent: %s", delivery.id, error)
        return None
    except TelegramError as error:
        log.warning("could not send the feedback of delivery %s: %s", delivery.id, error)
        return None
    except Exception:
        log.exception("could not send the feedback of delivery %s", delivery.id)
        return None


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
    # Once per member and question (bot/handlers/group_pointers.py).
    user = update.effective_user
    memory = pointer_memory(context.bot_data.extras)
    if not memory.first_time((chat.id, delivery.id, user.id if user else 0)):
        return
    username = context.bot.username
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(say.GROUP_BUTTON, url=f"https://t.me/{username}")]]
    )
    await reply(update, say.GROUP_POINTER, reply_markup=markup)


async def keep_button(update: Update, context: BotContext, action: KeepTyped) -> None:
    """The /settings switch "Keep my typed answers"."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    if chat.type != ChatType.PRIVATE or user.id != chat.id:
        await toast(update, PRIVATE_ONLY, alert=True)
        return
    async with context.services.sessions() as session, session.begin():
        found = await people.set_keep_answers(user.id, action.keep, session=session)
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
