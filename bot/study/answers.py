"""Use cases of one question's answer: reveal it, grade it.

A handler parses the update, calls one of these, and renders the result; the
storage and domain calls, and their order, live here. They take the
:class:`Services` rather than one session because the hot path spends one
autocommit statement per step (no BEGIN/COMMIT round trips on PostgreSQL,
bot.storage.database.create_autocommit_sessionmaker), and the answer's own
sending (Telegram's part) happens between two of them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from bot.domain.content import Question
from bot.domain.intervals import button_intervals
from bot.domain.own_decks import deck_id_of_question
from bot.domain.srs import CardState, Rating, review
from bot.rendering import render_answer
from bot.rendering.rich import render_rich_answer
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import learning
from bot.storage import quizzes as quiz_store
from bot.storage.models import DeliveryRow, ReviewRow
from bot.study.banks import bank_for_questions
from bot.study.people import Person, remember
from bot.study.questions import label_for
from bot.study.quiz import QuizStep, advance
from bot.telegram.rich_messages import Content

log = logging.getLogger(__name__)


# --- the answer's message ---------------------------------------------------------------

ANSWER_HEADER = "<b>Model answer</b>"
RICH_ANSWER_HEADER = "Model answer"  # plain text: bold, or the group form's "…: tap to open"


def answer_content(question: Question, *, group: bool) -> Content:
    """A model answer both ways (bot/telegram/rich_messages.py sends one): one rich
    message, hidden in a group until someone opens it; or today's HTML parts, under a
    spoiler in a group. Both renderings are memoised."""
    return Content(
        what=f"question {question.id}",
        html=lambda: render_answer(question.answer, header=ANSWER_HEADER, spoiler=group),
        rich=lambda: render_rich_answer(question.answer, header=RICH_ANSWER_HEADER, hidden=group),
    )


# --- reveal -------------------------------------------------------------------------


class Revealed(Enum):
    POSTED = "posted"  # the answer went out now
    GONE = "gone"  # no such delivery in this chat, or its question left the bank
    NOTHING = "nothing"  # /answer: no question was sent to this chat yet
    BEING_SENT = "being sent"  # revealed a moment ago, the answer not stored yet
    ALREADY_SHOWN = "already shown"  # the answer is in the chat (answer_message_id)
    NOT_SENT = "not sent"  # Telegram did not take it: the reveal is undone


@dataclass(frozen=True)
class AnswerToPost:
    """What the caller posts: the question's answer, with grade buttons under it."""

    delivery_id: int
    question: Question
    intervals: Mapping[Rating, str] | None  # per grade button; None in groups
    next_quiz: int | None  # a group quiz's "Next question" button
    reply_to: int | None  # the question message, when known


PostAnswer = Callable[[AnswerToPost], Awaitable[int | None]]
"""Posts the answer; the message id of its last part (the grade buttons), None if not sent."""


@dataclass(frozen=True)
class RevealResult:
    outcome: Revealed
    answer_message_id: int | None = None  # ALREADY_SHOWN: where the answer is
    question_id: str | None = None  # POSTED: the question card to mark revealed
    card_label: str | None = None  # POSTED: the card's label ("Quiz · … · 2/5")


async def reveal(
    services: Services,
    *,
    delivery_id: int | None,
    chat_id: int,
    group: bool,
    now: datetime,
    post: PostAnswer,
    reply_to: int | None = None,
) -> RevealResult:
    """Show the answer of a delivery once: mark it revealed (race-free, one UPDATE),
    let ``post`` send it, store the answer's message id (or undo the mark when it
    was not sent, so that the person can try again).

    ``delivery_id`` None (/answer): the last question sent to the chat.
    ``reply_to``: the pressed question message; the recorder may not have stored
    the question's message id yet when someone taps within milliseconds.
    """
    if delivery_id is None:
        async with services.sessions() as session:
            latest = await delivery_store.latest_sent_delivery(chat_id, session=session)
        if latest is None:
            return RevealResult(Revealed.NOTHING)
        delivery_id = latest.id
    async with services.autocommit() as session, session.begin():
        began = await delivery_store.begin_reveal(
            delivery_id, chat_id, card_of=chat_id, session=session, now=now
        )
        if began is None:
            # Not this chat's, gone, or revealed already: one more read tells which.
            delivery = await delivery_store.get_delivery(delivery_id, session=session)
    if began is None:
        if delivery is None or delivery.chat_id != chat_id:
            return RevealResult(Revealed.GONE)
        if delivery.answer_message_id is None:
            # Being sent now; if that process died, the mark goes stale and the next
            # press or /answer sends the answer (bot.storage.deliveries.REVEAL_LEASE).
            return RevealResult(Revealed.BEING_SENT)
        return RevealResult(Revealed.ALREADY_SHOWN, answer_message_id=delivery.answer_message_id)
    delivery, card = began
    async with services.autocommit() as session:
        bank = await bank_for_questions(services, [delivery.question_id], session=session)
    question = bank.question(delivery.question_id)
    if question is None:
        async with services.autocommit() as session, session.begin():
            await delivery_store.record_answer_message(delivery.id, None, session=session)
        return RevealResult(Revealed.GONE)
    # In a private chat the grader is the chat's person: FSRS's interval for each
    # button. In groups every member has their own card: plain buttons.
    answer = AnswerToPost(
        delivery_id=delivery.id,
        question=question,
        intervals=None if group else button_intervals(card, now),
        next_quiz=delivery.quiz_id if group and delivery.quiz_id else None,
        reply_to=reply_to or delivery.message_id,
    )
    sent = await post(answer)
    async with services.autocommit() as session, session.begin():
        # Not sent: clear revealed_at, so the person can try again.
        await delivery_store.record_answer_message(delivery.id, sent, session=session)
    if sent is None:
        return RevealResult(Revealed.NOT_SENT)
    return RevealResult(
        Revealed.POSTED,
        question_id=delivery.question_id,
        card_label=await _card_label(services, delivery),
    )


async def _card_label(services: Services, delivery: DeliveryRow) -> str:
    """The label the question card was sent with (a quiz's needs the quiz row)."""
    if delivery.quiz_id is None:
        return label_for(delivery)
    async with services.sessions() as session:
        quiz = await quiz_store.get_quiz(delivery.quiz_id, session=session)
    return label_for(delivery, quiz)


# --- grade ----------------------------------------------------------------------------


class Graded(Enum):
    SAVED = "saved"
    GONE = "gone"  # not this chat's delivery, or its question left the bank
    NOT_YOURS = "not yours"  # someone else's private chat
    NOT_REVEALED = "not revealed"
    ALREADY = "already graded"  # this person graded this delivery before
    PRESS_AGAIN = "press again"  # the person's rows were deleted meanwhile


@dataclass(frozen=True)
class GradeResult:
    outcome: Graded
    rating: Rating | None = None  # SAVED: the grade; ALREADY: the earlier one, if found
    due: datetime | None = None  # SAVED: when the card comes back
    question_id: str | None = None
    in_quiz: bool = False  # the delivery is a quiz question
    quiz_step: QuizStep | None = None  # SAVED in a private quiz: where the quiz went


async def grade(
    services: Services,
    *,
    delivery_id: int,
    rating: Rating,
    grader: Person,
    chat_id: int,
    group: bool,
    now: datetime,
) -> GradeResult:
    """A grade: update the grader's FSRS card once per delivery, record the review,
    and in a private quiz move the quiz on (its next question recorded, to be sent).

    Two statements on PostgreSQL (bot.storage.learning): one read (the delivery,
    the grader, their card) and one write (the review and the card, or nothing
    if this person already graded this delivery), neither in a transaction of
    its own.
    """
    async with services.autocommit() as session:
        target = await learning.grade_target(delivery_id, grader.id, session=session)
    delivery = target.delivery if target is not None else None
    if target is None or delivery is None or delivery.chat_id != chat_id:
        return GradeResult(Graded.GONE)
    if not group and grader.id != chat_id:
        return GradeResult(Graded.NOT_YOURS)
    if delivery.revealed_at is None:
        return GradeResult(Graded.NOT_REVEALED)
    if deck_id_of_question(delivery.question_id) is not None:
        # A deck of someone's own: read it (cached) only for such a question.
        async with services.autocommit() as session:
            bank = await bank_for_questions(services, [delivery.question_id], session=session)
    else:
        bank = services.bank
    if bank.question(delivery.question_id) is None:
        return GradeResult(Graded.GONE)
    stored = target.card
    card = review(CardState.from_dict(stored.state) if stored else None, rating, now)
    try:
        timezone = (
            target.person.timezone
            if target.person is not None
            else await _track_member(services, grader, chat_id, now)
        )
        local, offset = _local_parts(now, timezone)
        row = ReviewRow(
            person_id=grader.id,
            question_id=delivery.question_id,
            delivery_id=delivery.id,
            chat_id=chat_id,
            rating=int(rating),
            source=delivery.kind,
            reviewed_at=now,
            local_date=local.date(),
            utc_offset_minutes=offset,
        )
        async with services.autocommit() as session, session.begin():
            # The unique (person, delivery) constraint decides a double tap: no read first.
            recorded = await learning.record_grade(row, card, session=session)
    except IntegrityError:
        # The person's rows were deleted meanwhile (/forget in their private chat
        # while they graded in a group): nothing was saved; a new press starts afresh.
        log.info("grade of delivery %s by %s raced a deletion", delivery_id, grader.id)
        return GradeResult(Graded.PRESS_AGAIN)
    in_quiz = delivery.quiz_id is not None
    if not recorded:
        async with services.autocommit() as session:
            previous = await learning.review_for_delivery(grader.id, delivery.id, session=session)
        return GradeResult(
            Graded.ALREADY,
            rating=Rating(previous.rating) if previous else None,
            question_id=delivery.question_id,
            in_quiz=in_quiz,
        )
    # Groups: the buttons stay for the other members, and the starter moves the quiz on.
    step = await advance(services, delivery=delivery, now=now) if in_quiz and not group else None
    return GradeResult(
        Graded.SAVED,
        rating=rating,
        due=card.due,
        question_id=delivery.question_id,
        in_quiz=in_quiz,
        quiz_step=step,
    )


def _local_parts(now: datetime, timezone: str) -> tuple[datetime, int]:
    local = now.astimezone(ZoneInfo(timezone))
    offset = local.utcoffset() or timedelta(0)
    return local, int(offset.total_seconds() // 60)


async def _track_member(services: Services, person: Person, chat_id: int, now: datetime) -> str:
    """A group member who never opened the bot privately: tracked too, in the group's
    time zone until they choose their own; that zone."""
    async with services.sessions() as session, session.begin():
        chat_settings = await chat_store.get_chat(chat_id, session=session)
        zone = chat_settings.schedule.timezone if chat_settings else "UTC"
        row = await remember(person, session=session, timezone=zone, now=now)
    return row.timezone


# --- skip -----------------------------------------------------------------------------


class Skipped(Enum):
    SKIPPED = "skipped"
    GONE = "gone"  # no such delivery in this chat
    ANSWER_SHOWN = "answer shown"  # grade it instead
    NOT_ALLOWED = "not allowed"  # in a group: the quiz's starter or an admin only


@dataclass(frozen=True)
class SkipResult:
    outcome: Skipped
    question_id: str | None = None  # SKIPPED: the question card to mark skipped
    card_label: str | None = None  # SKIPPED: the card's label
    quiz_step: QuizStep | None = None  # SKIPPED in a quiz: where the quiz went


async def skip(
    services: Services,
    *,
    delivery_id: int,
    chat_id: int,
    group: bool,
    user_id: int | None,
    is_admin: Callable[[], Awaitable[bool]],
    now: datetime,
) -> SkipResult:
    """Set a question aside without grading it; a quiz moves on.

    Skipping hides the question from everyone, so in a group only the quiz's
    starter or an admin may (``is_admin`` asks Telegram, only when needed).
    """
    async with services.sessions() as session:
        delivery = await delivery_store.get_delivery(delivery_id, session=session)
        quiz = (
            await quiz_store.get_quiz(delivery.quiz_id, session=session)
            if delivery is not None and delivery.quiz_id is not None
            else None
        )
    if delivery is None or delivery.chat_id != chat_id:
        return SkipResult(Skipped.GONE)
    if delivery_store.answer_shown(delivery, now):
        return SkipResult(Skipped.ANSWER_SHOWN)
    if group:
        starter = quiz.started_by if quiz is not None else None
        if user_id is None or (user_id != starter and not await is_admin()):
            return SkipResult(Skipped.NOT_ALLOWED)
    return SkipResult(
        Skipped.SKIPPED,
        question_id=delivery.question_id,
        card_label=label_for(delivery, quiz),
        quiz_step=await advance(services, delivery=delivery, now=now),
    )
