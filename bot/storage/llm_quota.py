"""The model grader's daily limit: one row per person and local day, counting the model
feedback delivered (bot/study/typed_check.py takes a request before asking the model and
gives it back when the feedback never reached the person)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import LlmUsageRow

__all__ = ["forget", "give_back_llm_request", "llm_requests", "take_llm_request"]


async def take_llm_request(person_id: int, day: date, limit: int, *, session: AsyncSession) -> bool:
    """Count one model-grader request for the person today; False once ``limit`` is reached.

    One upsert: the first request of the day inserts the row, a later one adds to it only
    while under the limit, and a row is returned only when the request was counted. As a
    single statement it holds under concurrent answers (a separate UPDATE, then a look-up,
    then an INSERT let a request that raced the day's first insert see the row and refuse,
    though the limit was not reached).
    """
    if limit <= 0:
        return False
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    statement = (
        insert(LlmUsageRow)
        .values(person_id=person_id, day=day, requests=1)
        .on_conflict_do_update(
            index_elements=[LlmUsageRow.person_id, LlmUsageRow.day],
            set_={"requests": LlmUsageRow.requests + 1},
            where=LlmUsageRow.requests < limit,
        )
        .returning(LlmUsageRow.requests)
    )
    counted = (await session.execute(statement)).scalar_one_or_none()
    return counted is not None


async def give_back_llm_request(person_id: int, day: date, *, session: AsyncSession) -> None:
    """Undo one ``take_llm_request`` of ``day``: the model's feedback never reached the person.

    The count is of model feedback delivered, not of requests tried: a model that
    failed, an answer revealed meanwhile, or feedback Telegram refused leave the
    person's limit as it was. One UPDATE, never below zero.
    """
    await session.execute(
        update(LlmUsageRow)
        .where(
            LlmUsageRow.person_id == person_id,
            LlmUsageRow.day == day,
            LlmUsageRow.requests > 0,
        )
        .values(requests=LlmUsageRow.requests - 1)
    )


async def llm_requests(person_id: int, day: date, *, session: AsyncSession) -> int:
    row = await session.get(LlmUsageRow, (person_id, day))
    return row.requests if row is not None else 0


async def forget(person_id: int, *, session: AsyncSession) -> None:
    """Delete a person's model-grader counts (/forget)."""
    await session.execute(delete(LlmUsageRow).where(LlmUsageRow.person_id == person_id))
