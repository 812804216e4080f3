"""Old rows nobody needs: what is pruned, and when (README "History and retention").

Kept for as long as the chat exists: sent deliveries (the messages buttons refer to, and
which questions a chat has seen), reviews (streaks, /stats, /export), cards, quizzes.
Pruned, when ``HISTORY_RETENTION_DAYS`` is set (0, the default, keeps everything):
deliveries that never reached the chat (``expired`` or ``failed``) older than that many
days; nothing reads them once their day is over. Always pruned: model-grader usage
counters of past days (``llm_usage``, only today's is read) after ``LLM_USAGE_KEEP``.
``processed_updates`` has its own pruning (bot/storage/processed_updates.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import DeliveryRow, LlmUsageRow

UNSENT = ("expired", "failed")
LLM_USAGE_KEEP = timedelta(days=7)
BATCH = 5000


async def prune(engine: AsyncEngine, *, now: datetime, retention_days: int) -> int:
    """Delete what the retention rules drop, in short transactions; how many rows."""
    removed = 0
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(LlmUsageRow).where(LlmUsageRow.day < (now - LLM_USAGE_KEEP).date())
        )
        removed += int(result.rowcount or 0)
    if retention_days <= 0:
        return removed
    cutoff = now - timedelta(days=retention_days)
    while True:
        async with engine.begin() as connection:
            batch = (
                select(DeliveryRow.id)
                .where(DeliveryRow.status.in_(UNSENT), DeliveryRow.created_at < cutoff)
                .limit(BATCH)
                .scalar_subquery()
            )
            result = await connection.execute(delete(DeliveryRow).where(DeliveryRow.id.in_(batch)))
        count = int(result.rowcount or 0)
        removed += count
        if count < BATCH:
            return removed
