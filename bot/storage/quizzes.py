"""Quiz rows, and the grades given in a quiz."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.quiz import QuizGrade, is_expired
from bot.domain.srs import Rating
from bot.storage.models import DeliveryRow, QuizRow, ReviewRow


async def active_quiz(chat_id: int, *, session: AsyncSession, now: datetime) -> QuizRow | None:
    """The chat's running quiz; one idle for a day is marked expired and not returned."""
    rows = (
        await session.scalars(
            select(QuizRow).where(QuizRow.chat_id == chat_id, QuizRow.status == "active")
        )
    ).all()
    running = None
    for row in rows:
        if is_expired(row.updated_at, now):
            row.status = "expired"
            row.finished_at = now
        else:
            running = row
    return running


async def get_quiz(quiz_id: int, *, session: AsyncSession) -> QuizRow | None:
    return await session.get(QuizRow, quiz_id)


async def create_quiz(
    *,
    session: AsyncSession,
    chat_id: int,
    started_by: int,
    topic: str,
    question_ids: list[str],
    now: datetime,
) -> QuizRow:
    row = QuizRow(
        chat_id=chat_id,
        started_by=started_by,
        topic=topic,
        question_ids=question_ids,
        position=0,
        status="active",
        started_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def quiz_grades(quiz_id: int, *, session: AsyncSession) -> list[QuizGrade]:
    rows = await session.execute(
        select(ReviewRow.person_id, ReviewRow.question_id, ReviewRow.rating)
        .join(DeliveryRow, DeliveryRow.id == ReviewRow.delivery_id)
        .where(DeliveryRow.quiz_id == quiz_id)
        .order_by(ReviewRow.reviewed_at)
    )
    return [QuizGrade(person, question, Rating(rating)) for person, question, rating in rows]


async def current_delivery(quiz: QuizRow, *, session: AsyncSession) -> DeliveryRow | None:
    """The delivery of the quiz's current question, if it was sent."""
    return await session.scalar(
        select(DeliveryRow)
        .where(DeliveryRow.quiz_id == quiz.id)
        .order_by(DeliveryRow.id.desc())
        .limit(1)
    )
