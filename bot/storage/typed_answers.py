"""Typed answers: who is typing an answer to which question, and what the checker found.

The model grader's daily request count is in ``bot.storage.llm_quota``; the "Keep my
typed answers" preference is a person's setting (``bot.storage.people``).

For /export (issue 9): :func:`kept_answers` returns a person's kept typed answers with the
grade they gave, oldest first; :func:`forget` deletes all of it and is called by
``people.forget_person``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.deliveries import not_revealed
from bot.storage.models import DeliveryRow, ReviewRow, TypedAnswerRow

AWAITING = "awaiting"
CHECKED = "checked"


@dataclass(frozen=True)
class KeptAnswer:
    """One kept typed answer, as /export shows it."""

    question_id: str
    answer: str
    checked_at: datetime | None
    checker: str | None
    covered: int | None
    total: int | None
    suggested_rating: int | None
    rating: int | None  # the grade the person pressed, None if not graded (yet)


async def begin_typing(
    person_id: int,
    chat_id: int,
    delivery_id: int,
    question_id: str,
    *,
    session: AsyncSession,
    now: datetime,
) -> TypedAnswerRow:
    """The person asked to type an answer: the awaiting row (created once per delivery)."""
    row = await attempt_for(person_id, delivery_id, session=session)
    if row is not None:
        return row
    row = TypedAnswerRow(
        person_id=person_id,
        chat_id=chat_id,
        delivery_id=delivery_id,
        question_id=question_id,
        status=AWAITING,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a double tap raced us: use the other row
        found = await attempt_for(person_id, delivery_id, session=session)
        assert found is not None
        return found
    return row


async def attempt_for(
    person_id: int, delivery_id: int, *, session: AsyncSession
) -> TypedAnswerRow | None:
    return await session.scalar(
        select(TypedAnswerRow).where(
            TypedAnswerRow.person_id == person_id, TypedAnswerRow.delivery_id == delivery_id
        )
    )


async def set_prompt(row_id: int, message_id: int, *, session: AsyncSession) -> None:
    await session.execute(
        update(TypedAnswerRow)
        .where(TypedAnswerRow.id == row_id)
        .values(prompt_message_id=message_id)
    )


async def by_prompt(
    chat_id: int, message_id: int, *, session: AsyncSession
) -> TypedAnswerRow | None:
    """The attempt whose "Type your answer" prompt is ``message_id`` in ``chat_id``."""
    return await session.scalar(
        select(TypedAnswerRow).where(
            TypedAnswerRow.chat_id == chat_id, TypedAnswerRow.prompt_message_id == message_id
        )
    )


async def latest_awaiting(
    person_id: int, chat_id: int, *, session: AsyncSession, now: datetime
) -> TypedAnswerRow | None:
    """The newest attempt still waiting for its text whose question is not revealed
    (or whose reveal was cut short, see ``deliveries.REVEAL_LEASE``)."""
    return await session.scalar(
        select(TypedAnswerRow)
        .join(DeliveryRow, DeliveryRow.id == TypedAnswerRow.delivery_id)
        .where(
            TypedAnswerRow.person_id == person_id,
            TypedAnswerRow.chat_id == chat_id,
            TypedAnswerRow.status == AWAITING,
            not_revealed(now),
        )
        .order_by(TypedAnswerRow.created_at.desc(), TypedAnswerRow.id.desc())
        .limit(1)
    )


async def delivery_by_message(
    chat_id: int, message_id: int, *, session: AsyncSession
) -> DeliveryRow | None:
    """The delivery whose question message is ``message_id`` in ``chat_id``."""
    return await session.scalar(
        select(DeliveryRow).where(
            DeliveryRow.chat_id == chat_id, DeliveryRow.message_id == message_id
        )
    )


async def record_check(
    person_id: int,
    chat_id: int,
    delivery_id: int,
    question_id: str,
    *,
    session: AsyncSession,
    now: datetime,
    checker: str,
    covered: int,
    total: int,
    suggested_rating: int,
    answer: str | None,
) -> None:
    """What the checker found; ``answer`` is stored only when the person keeps answers."""
    row = await begin_typing(person_id, chat_id, delivery_id, question_id, session=session, now=now)
    row.status = CHECKED
    row.checker = checker
    row.covered = covered
    row.total = total
    row.suggested_rating = suggested_rating
    row.answer = answer
    row.checked_at = now


async def clear_kept(person_id: int, *, session: AsyncSession) -> None:
    """Delete the text of every kept answer (keeping turned off); the checks stay."""
    await session.execute(
        update(TypedAnswerRow).where(TypedAnswerRow.person_id == person_id).values(answer=None)
    )


async def kept_answers(person_id: int, *, session: AsyncSession) -> list[KeptAnswer]:
    """A person's kept typed answers with the grade given, oldest first (for /export)."""
    rows = await session.execute(
        select(TypedAnswerRow, ReviewRow.rating)
        .outerjoin(
            ReviewRow,
            (ReviewRow.person_id == TypedAnswerRow.person_id)
            & (ReviewRow.delivery_id == TypedAnswerRow.delivery_id),
        )
        .where(TypedAnswerRow.person_id == person_id, TypedAnswerRow.answer.is_not(None))
        .order_by(TypedAnswerRow.checked_at, TypedAnswerRow.id)
    )
    return [
        KeptAnswer(
            question_id=row.question_id,
            answer=row.answer or "",
            checked_at=row.checked_at,
            checker=row.checker,
            covered=row.covered,
            total=row.total,
            suggested_rating=row.suggested_rating,
            rating=rating,
        )
        for row, rating in rows
    ]


async def forget(person_id: int, *, session: AsyncSession) -> None:
    """Delete every typed answer of a person (/forget, with ``llm_quota.forget``)."""
    await session.execute(delete(TypedAnswerRow).where(TypedAnswerRow.person_id == person_id))


__all__: Sequence[str] = (
    "AWAITING",
    "CHECKED",
    "KeptAnswer",
    "attempt_for",
    "begin_typing",
    "by_prompt",
    "clear_kept",
    "delivery_by_message",
    "forget",
    "kept_answers",
    "latest_awaiting",
    "record_check",
    "set_prompt",
)
