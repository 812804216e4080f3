"""Checking a typed answer: the use case between the typed-answer handler and storage.

:func:`check_typed_answer` judges the text against the question's key points (offline, or
by the model grader within the person's daily limit), marks the question revealed, and
records the check (the text itself only when the person keeps typed answers). It returns
a plain :class:`TypedCheck`: what was decided, for the handler to render and send. The
handler then calls :func:`record_sent` with the message that carried the model answer,
or None when Telegram did not take it: the reveal is undone and a model request given
back, so the person may try again without losing one of the day's model checks.

No Telegram here: tests/study/test_typed_check.py runs it against the database only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.domain.answer_check import MAX_ANSWER_CHARS, Feedback, KeyPoint, bank_index, check_answer
from bot.domain.content import Deck, Question
from bot.domain.schedule import local_date_of
from bot.domain.srs import Rating
from bot.rendering.typed_texts import PointLine
from bot.service.context import Services
from bot.storage import deliveries as delivery_store
from bot.storage import llm_quota, people
from bot.storage import quizzes as quiz_store
from bot.storage import typed_answers as store
from bot.storage.models import DeliveryRow, QuizRow
from bot.study.banks import bank_for_questions
from bot.study.model_grader import ModelGrader

# Who judged: the offline checker (no model, or no key points to give it), the offline
# checker because today's model checks are used up or the model gave no usable answer,
# or the model.
Checker = Literal["offline", "limit", "fallback", "model"]


@dataclass(frozen=True)
class Judgement:
    points: tuple[PointLine, ...]  # each key point's preview, and whether it was covered
    suggested: Rating
    checker: Checker
    model: str = ""  # the model's name when it judged
    advice: str = ""
    # The local day a model request was counted on (None: the offline checker judged).
    charged_day: date | None = None

    @property
    def kind(self) -> Literal["offline", "model"]:
        """What ``typed_answers.checker`` records."""
        return "model" if self.checker == "model" else "offline"


@dataclass(frozen=True)
class TypedCheck:
    """What :func:`check_typed_answer` decided.

    ``outcome`` is "gone" (the question left the bank), "already_revealed" (the answer
    was shown before the text was judged: it cannot be checked fairly), or "checked";
    only a checked one carries the judgement and the question.
    """

    outcome: Literal["gone", "already_revealed", "checked"]
    delivery: DeliveryRow
    person_id: int
    judgement: Judgement | None = None
    truncated: bool = False
    question: Question | None = None
    deck: Deck | None = None
    quiz: QuizRow | None = None


async def check_typed_answer(
    services: Services,
    grader: ModelGrader | None,
    *,
    delivery: DeliveryRow,
    person_id: int,
    text: str,
) -> TypedCheck:
    """Judge ``text`` as ``person_id``'s answer to ``delivery`` and reveal the question.

    ``grader`` None: the offline checker only (no model configured). The time is read
    from ``services.clock`` when it is needed: a model answer may take seconds, and the
    reveal is stamped when it happens.
    """
    async with services.autocommit() as session:
        bank = await bank_for_questions(services, [delivery.question_id], session=session)
    question = bank.question(delivery.question_id)
    deck = bank.deck_of(delivery.question_id)
    if question is None or deck is None:
        return TypedCheck("gone", delivery, person_id)
    if delivery_store.answer_shown(delivery, services.clock()):
        return TypedCheck("already_revealed", delivery, person_id)
    truncated = len(text) > MAX_ANSWER_CHARS
    text = text[:MAX_ANSWER_CHARS]
    # The CPU work (and, once, building the bank's statistics) stays off the event loop.
    # A question of someone's own deck is weighed with the built-in bank's statistics.
    points = await asyncio.to_thread(lambda: bank_index(bank.builtin).points_of(question))
    offline = await asyncio.to_thread(check_answer, points, text)
    judgement = await _judge(services, grader, person_id, question.question, points, offline, text)

    now = services.clock()
    async with services.sessions() as session, session.begin():
        first = await delivery_store.try_begin_reveal(delivery.id, session=session, now=now)
        if first:
            keep = await people.keeps_answers(person_id, session=session)
            await store.record_check(
                person_id,
                delivery.chat_id,
                delivery.id,
                delivery.question_id,
                session=session,
                now=now,
                checker=judgement.kind,
                covered=sum(1 for point in judgement.points if point.covered),
                total=len(judgement.points),
                suggested_rating=int(judgement.suggested),
                answer=text if keep else None,
            )
        quiz = (
            await quiz_store.get_quiz(delivery.quiz_id, session=session)
            if delivery.quiz_id is not None
            else None
        )
    if not first:  # revealed while the text was judged
        await _give_back(services, person_id, judgement.charged_day)
        return TypedCheck("already_revealed", delivery, person_id)
    return TypedCheck("checked", delivery, person_id, judgement, truncated, question, deck, quiz)


async def record_sent(services: Services, check: TypedCheck, message_id: int | None) -> None:
    """The model answer of a checked answer was posted as ``message_id``; None: it was not,
    so the reveal is undone and the model request (if one was counted) given back."""
    async with services.autocommit() as session, session.begin():
        await delivery_store.record_answer_message(check.delivery.id, message_id, session=session)
    if message_id is None and check.judgement is not None:
        await _give_back(services, check.person_id, check.judgement.charged_day)


async def _judge(
    services: Services,
    grader: ModelGrader | None,
    person_id: int,
    question: str,
    points: tuple[KeyPoint, ...],
    offline: Feedback,
    text: str,
) -> Judgement:
    """The model's verdict when configured and within today's limit, else the offline one."""
    lines = tuple(PointLine(v.point.preview, v.covered) for v in offline.verdicts)
    if grader is None or not points:
        return Judgement(lines, offline.suggested, "offline")
    async with services.sessions() as session, session.begin():
        person = await people.get_person(person_id, session=session)
        zone = person.timezone if person is not None else "UTC"
        day = local_date_of(services.clock(), zone)
        allowed = await llm_quota.take_llm_request(
            person_id, day, services.settings.llm_daily_limit, session=session
        )
    if not allowed:
        return Judgement(lines, offline.suggested, "limit")
    verdict = await grader.judge(question, [point.text for point in points], text)
    if verdict is None:
        await _give_back(services, person_id, day)
        return Judgement(lines, offline.suggested, "fallback")
    model_lines = tuple(
        PointLine(point.preview, covered)
        for point, covered in zip(points, verdict.covered, strict=True)
    )
    return Judgement(
        model_lines, verdict.suggested, "model", verdict.model, verdict.advice, charged_day=day
    )


async def _give_back(services: Services, person_id: int, day: date | None) -> None:
    """The model's feedback did not reach the person: it does not count against the limit."""
    if day is None:
        return
    async with services.sessions() as session, session.begin():
        await llm_quota.give_back_llm_request(person_id, day, session=session)


@dataclass(frozen=True)
class TypingStart:
    """What :func:`start_typing` decided: "gone" (no such question here), "already_revealed",
    "no_person" (/start first), "waiting" (a second press: the prompt is already there) or
    "started" (send the prompt, then :func:`record_prompt`)."""

    outcome: Literal["gone", "already_revealed", "no_person", "waiting", "started"]
    delivery: DeliveryRow | None = None
    attempt_id: int | None = None


async def start_typing(services: Services, *, delivery_id: int, chat_id: int) -> TypingStart:
    """✍️ Type my answer in the private chat ``chat_id`` (whose person is ``chat_id``):
    the awaiting attempt, made once per delivery."""
    now = services.clock()
    async with services.sessions() as session, session.begin():
        delivery = await delivery_store.get_delivery(delivery_id, session=session)
        if delivery is None or delivery.chat_id != chat_id:
            return TypingStart("gone")
        bank = await bank_for_questions(services, [delivery.question_id], session=session)
        if bank.question(delivery.question_id) is None:
            return TypingStart("gone", delivery)
        if delivery_store.answer_shown(delivery, now):
            return TypingStart("already_revealed", delivery)
        if await people.get_person(chat_id, session=session) is None:
            return TypingStart("no_person", delivery)
        attempt = await store.begin_typing(
            chat_id, chat_id, delivery.id, delivery.question_id, session=session, now=now
        )
        prompted = attempt.prompt_message_id is not None
        return TypingStart("waiting" if prompted else "started", delivery, attempt.id)


async def record_prompt(services: Services, attempt_id: int, message_id: int) -> None:
    """The "Type your answer" prompt of the attempt was sent as ``message_id``."""
    async with services.sessions() as session, session.begin():
        await store.set_prompt(attempt_id, message_id, session=session)
