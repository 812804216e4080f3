"""Questions and answers: /question, /next, /answer, Show answer, Skip, grades."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.error import Forbidden, TelegramError

from bot.domain.srs import Rating
from bot.handlers import quiz as quiz_flow
from bot.handlers.common import (
    NOT_SUBSCRIBED,
    edit_markup_or_ignore,
    edit_or_ignore,
    reply,
    tell,
    toast,
    turn_of,
)
from bot.handlers.groups import is_admin
from bot.rendering import texts
from bot.service.context import BotContext
from bot.study import answers
from bot.study.banks import bank_for_questions
from bot.study.questions import (
    Asked,
    PreparedSend,
    ask,
    card_text,
    rich_card_text,
    send_and_record,
)
from bot.telegram import keyboards
from bot.telegram.callbacks import Grade, Reveal, Skip
from bot.telegram.rich_messages import Content, is_rich, send_content
from bot.telegram.sending import Sent

log = logging.getLogger(__name__)

NO_QUESTION = "I have no question for your topics right now. Try /topics to pick more decks."
GONE = "This question is no longer available."
NOT_YOURS = "This card belongs to someone else."
PRESS_AGAIN = "That grade was not saved because your data changed meanwhile. Please press again."
ON_ITS_WAY = "The answer is on its way. If it is not here in half a minute, ask again."
SEND_FAILED = "Telegram did not accept the message just now. Please try again in a minute."


async def _send_and_record(context: BotContext, item: PreparedSend) -> bool:
    outcome = await send_and_record(context.bot, context.services, item)
    return isinstance(outcome, Sent)


async def question_command(update: Update, context: BotContext) -> None:
    """/question: today's question now, or the same one again if it already went out."""
    await _send_question(update, context, daily=True)


async def next_command(update: Update, context: BotContext) -> None:
    """/next: an extra question now, on top of the daily one."""
    await _send_question(update, context, daily=False)


async def _send_question(update: Update, context: BotContext, *, daily: bool) -> None:
    """Record a delivery (today's, or an extra one) for the chat (bot.study.questions.ask)
    and send it."""
    turn = turn_of(update, context)
    if turn is None:
        return
    result = await ask(turn.services, chat_id=turn.chat.id, daily=daily, now=turn.now)
    match result.outcome:
        case Asked.NOT_SUBSCRIBED:
            await reply(update, NOT_SUBSCRIBED)
        case Asked.NO_QUESTION:
            await reply(update, NO_QUESTION)
        case Asked.READY:
            item = result.question
            if item is None or not await _send_and_record(context, item):
                await reply(update, SEND_FAILED)


async def answer_command(update: Update, context: BotContext) -> None:
    """/answer: reveal the answer to the last question sent here."""
    await _reveal(update, context, None, from_button=False)


async def reveal_button(update: Update, context: BotContext, action: Reveal) -> None:
    """Show answer: post the model answer once, with grade buttons under it."""
    await _reveal(update, context, action.delivery_id, from_button=True)


async def _reveal(
    update: Update, context: BotContext, delivery_id: int | None, *, from_button: bool
) -> None:
    turn = turn_of(update, context)
    if turn is None:
        return
    pressed = update.callback_query.message if update.callback_query else None
    group = turn.group

    async def post(answer: answers.AnswerToPost) -> int | None:
        content = answers.answer_content(answer.question, group=group)
        markup = keyboards.grade_keyboard(
            answer.delivery_id, next_quiz=answer.next_quiz, intervals=answer.intervals
        )
        return await _send_answer(
            context, turn.chat.id, answer.delivery_id, content, markup, answer.reply_to
        )

    result = await answers.reveal(
        turn.services,
        delivery_id=delivery_id,
        chat_id=turn.chat.id,
        group=group,
        now=turn.now,
        post=post,
        reply_to=pressed.message_id if pressed is not None else None,
    )
    match result.outcome:
        case answers.Revealed.NOTHING:
            await reply(update, "There is no question to answer yet. /question sends today's.")
        case answers.Revealed.GONE:
            await tell(update, GONE, alert=True)
        case answers.Revealed.BEING_SENT:
            await tell(update, ON_ITS_WAY)
        case answers.Revealed.ALREADY_SHOWN if from_button:
            await toast(update, "The answer is already above ⬆️")
        case answers.Revealed.ALREADY_SHOWN:
            await context.bot.send_message(
                turn.chat.id,
                "The answer is right here ⬆️",
                reply_parameters=ReplyParameters(
                    result.answer_message_id or 0, allow_sending_without_reply=True
                ),
            )
        case answers.Revealed.NOT_SENT:
            await tell(update, SEND_FAILED, alert=True)
        case answers.Revealed.POSTED if from_button:
            await toast(update, "Answer below. How well did you know it?")
            if isinstance(pressed, Message) and result.question_id and result.card_label:
                await _mark_card(
                    context, pressed, result.question_id, result.card_label, texts.REVEALED_FOOTER
                )


async def _send_answer(
    context: BotContext,
    chat_id: int,
    delivery_id: int,
    content: Content,
    grades: InlineKeyboardMarkup,
    reply_to_id: int | None,
) -> int | None:
    """Post the answer (one rich message, or HTML parts: bot/telegram/rich_messages.py);
    the message id of the last one (with the grade buttons), None if it was not sent."""
    try:
        return await send_content(
            context.bot,
            context.services.rich,
            content,
            chat_id=chat_id,
            reply_to=reply_to_id,
            markup=grades,
        )
    except Forbidden as error:  # blocked, or removed from the group: one line
        log.info("answer of delivery %s not sent: %s", delivery_id, error)
        return None
    except TelegramError as error:
        log.warning("could not send the answer of delivery %s: %s", delivery_id, error)
        return None
    except Exception:
        log.exception("could not send the answer of delivery %s", delivery_id)
        return None


async def _mark_card(
    context: BotContext, message: Message, question_id: str, label: str, footer: str
) -> None:
    """Edit the question message: the same card with a footer, and no buttons.

    The card is rendered again from the bank rather than from the message's
    entities, so the edit looks exactly like the original.
    """
    services = context.services
    bank = services.bank
    if bank.question(question_id) is None:  # a question of someone's own deck
        async with services.autocommit() as session:
            bank = await bank_for_questions(services, [question_id], session=session)
    text = card_text(bank, question_id, label, footer)
    if text is None:
        return
    # A rich question (a formula or code) is edited as one: editMessageText's rich_message.
    rich_html = rich_card_text(bank, question_id, label, footer) if is_rich(message) else None
    await edit_or_ignore(message, text, reply_markup=None, rich_html=rich_html)


async def skip_button(update: Update, context: BotContext, action: Skip) -> None:
    """Skip: set the question aside without grading it (bot.study.answers.skip)."""
    turn = turn_of(update, context)
    query = update.callback_query
    if turn is None or query is None:
        return

    async def admin() -> bool:
        return await is_admin(update, context)

    result = await answers.skip(
        turn.services,
        delivery_id=action.delivery_id,
        chat_id=turn.chat.id,
        group=turn.group,
        user_id=turn.user.id if turn.user is not None else None,
        is_admin=admin,
        now=turn.now,
    )
    match result.outcome:
        case answers.Skipped.GONE:
            await toast(update, GONE, alert=True)
        case answers.Skipped.ANSWER_SHOWN:
            await toast(update, "The answer is already shown; grade it below.")
        case answers.Skipped.NOT_ALLOWED:
            await toast(update, "Only the quiz's starter or an admin can skip.", alert=True)
        case answers.Skipped.SKIPPED:
            await toast(update, "Skipped.")
            if isinstance(query.message, Message) and result.question_id and result.card_label:
                await _mark_card(
                    context,
                    query.message,
                    result.question_id,
                    result.card_label,
                    texts.SKIPPED_FOOTER,
                )
            await quiz_flow.send_step(context, result.quiz_step)


async def grade_button(update: Update, context: BotContext, action: Grade) -> None:
    """A grade: the use case (bot.study.answers.grade) saves it; this tells the grader,
    marks the buttons (private chats) and sends a quiz's next question or results."""
    turn = turn_of(update, context)
    query = update.callback_query
    person = turn.person if turn is not None else None
    if turn is None or person is None or query is None:
        return
    result = await answers.grade(
        turn.services,
        delivery_id=action.delivery_id,
        rating=Rating(action.rating),
        grader=person,
        chat_id=turn.chat.id,
        group=turn.group,
        now=turn.now,
    )
    match result.outcome:
        case answers.Graded.GONE:
            await toast(update, GONE, alert=True)
        case answers.Graded.NOT_YOURS:
            await toast(update, NOT_YOURS, alert=True)
        case answers.Graded.NOT_REVEALED:
            await toast(update, "Reveal the answer first.")
        case answers.Graded.PRESS_AGAIN:
            await toast(update, PRESS_AGAIN, alert=True)
        case answers.Graded.ALREADY:
            earlier = f": {keyboards.GRADE_LABELS[result.rating]}" if result.rating else ""
            await toast(update, f"Already graded{earlier}.")
        case answers.Graded.SAVED:
            assert result.rating is not None
            assert result.due is not None
            phrase = texts.next_review_phrase(result.due, turn.now)
            label = keyboards.GRADE_LABELS[result.rating]
            if turn.group:
                # The buttons stay for the other members; the grader hears it privately.
                await toast(update, f"Saved for you, {person.first_name}: {label}. Back {phrase}.")
                return
            await toast(update, f"Saved: {label}. This one comes back {phrase}.")
            if isinstance(query.message, Message):
                await edit_markup_or_ignore(
                    query.message,
                    keyboards.graded_keyboard(result.rating, phrase, offer_next=not result.in_quiz),
                )
            await quiz_flow.send_step(context, result.quiz_step)
