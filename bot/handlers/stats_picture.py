"""The /stats picture: rendered off the event loop, cached per person (or group) and state.

The picture depends only on the reviews (heatmap, retention, streaks, and the
cards they scheduled) and on the local date, so ``(reviews, newest review id,
today, time zone)`` identifies it. The first /stats renders it in a worker
thread and uploads it; Telegram's file id is cached, so a repeated /stats with
nothing new re-sends that id: one cheap query, no drawing, no upload.

This module decides and sends; the drawing thread, its throttle and the cache of file
ids are bot/rendering/picture_pool.py, and the picture's reads bot/storage/progress.py.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import InputFile, Message, Update
from telegram.error import BadRequest

from bot.domain.chats import ChatSettings
from bot.domain.content import Bank
from bot.domain.progress import (
    FORECAST_DAYS,
    daily_counts,
    due_forecast,
    leeches,
    local_dates,
    topic_stats,
    weakest_topics,
    window_counts,
)
from bot.domain.schedule import local_date_of
from bot.domain.streaks import Streak
from bot.handlers.common import now_of, reply
from bot.rendering.picture_pool import CachedPicture, drawing_of, picture_cache
from bot.rendering.progress_picture import GroupPicture, PersonPicture, render_group, render_person
from bot.service.context import BotContext
from bot.storage import progress as progress_store
from bot.storage.progress import PersonPictureReads

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024
WEAK_HINT = "\n🧩 Some topics need work: /weak shows them, with a quiz."
BUSY_NOTE = "\n<i>(The picture comes with your next /stats: many people are asking right now.)</i>"


def _people_waiting(context: BotContext) -> bool:
    """More updates admitted than may run at once: someone is waiting for any reply.

    Replies come before pictures: in a crowd every /stats gets its summary first
    (a picture costs a quarter of a second of the process), and pictures resume,
    within ``STATS_PICTURE_SHARE``, once nobody waits behind them. Meanwhile a person
    whose picture is not cached gets the text summary at once; the picture comes
    with a later /stats.
    """
    admitted = context.application.update_processor.current_concurrent_updates
    return admitted > context.services.settings.concurrent_updates


async def _send(update: Update, photo: str | InputFile, caption: str) -> Message | None:
    message = update.effective_message
    if message is None:
        return None
    if len(caption) <= CAPTION_LIMIT:
        return await message.reply_photo(photo, caption=caption)
    sent = await message.reply_photo(photo)
    await message.reply_text(caption)
    return sent


async def _send_cached(
    update: Update, context: BotContext, key: tuple[Any, ...], caption: str
) -> CachedPicture | None:
    """Re-send a cached picture; None when there is none (or Telegram forgot it)."""
    cache = picture_cache(context.bot_data.extras)
    cached = cache.get(key)
    if cached is None:
        return None
    try:
        await _send(update, cached.file_id, caption + (WEAK_HINT if cached.weak else ""))
    except BadRequest as error:
        log.info("cached stats picture refused (%s); drawing it again", error)
        cache.drop(key)
        return None
    return cached


async def _upload(
    update: Update,
    context: BotContext,
    key: tuple[Any, ...],
    png: bytes | None,
    caption: str,
    weak: bool,
) -> None:
    if png is None:  # drawing failed (logged): the summary alone rather than silence
        await reply(update, caption + (WEAK_HINT if weak else ""))
        return
    sent = await _send(
        update, InputFile(png, filename="stats.png"), caption + (WEAK_HINT if weak else "")
    )
    if sent is not None and sent.photo:
        picture_cache(context.bot_data.extras).put(key, CachedPicture(sent.photo[-1].file_id, weak))


async def send_person_stats(
    update: Update,
    context: BotContext,
    *,
    person_id: int,
    name: str,
    timezone: str,
    streak: Streak,
    state: tuple[int, int],
    bank: Bank,
    caption: str,
) -> None:
    """/stats in a private chat: the picture with the text summary as its caption.

    ``state`` (reviews, newest review id) keys the cached picture; ``bank`` is the
    person's (the built-in decks and theirs), as /stats read it.
    """
    now = now_of(context)
    today = local_date_of(now, timezone)
    key = ("person", person_id, state, today, timezone)
    if await _send_cached(update, context, key, caption):
        return
    drawing = drawing_of(context.bot_data.extras)
    if drawing.busy() or _people_waiting(context):
        await reply(update, caption + BUSY_NOTE)
        return
    with drawing.slot():
        png, weak = await _draw_person(
            context, person_id=person_id, name=name, timezone=timezone, streak=streak, bank=bank
        )
    await _upload(update, context, key, png, caption, weak)


async def _draw_person(
    context: BotContext, *, person_id: int, name: str, timezone: str, streak: Streak, bank: Bank
) -> tuple[bytes | None, bool]:
    """Read what the person's picture shows and draw it; (PNG or None, weak topics?)."""
    services = context.services
    now = now_of(context)
    today = local_date_of(now, timezone)
    async with services.autocommit() as session:
        reads = await progress_store.person_picture_reads(
            person_id, session=session, now=now, today=today
        )
    picture, weak = _person_picture(reads, bank, name, timezone, streak, now=now)
    drawing = drawing_of(context.bot_data.extras)
    png = await drawing.draw(render_person, picture, services.settings.stats_picture_share)
    return png, weak


def _person_picture(
    reads: PersonPictureReads,
    bank: Bank,
    name: str,
    timezone: str,
    streak: Streak,
    *,
    now: datetime,
) -> tuple[PersonPicture, bool]:
    """What the person's picture shows, and whether some topics need work."""
    today = local_date_of(now, timezone)
    stats = topic_stats(reads.reviews, bank, now=now)
    by_deck = {s.key: s for s in stats if s.kind == "deck"}
    retention = [
        (
            deck.title,
            by_deck[deck.id].retention if deck.id in by_deck else None,
            by_deck[deck.id].reviews if deck.id in by_deck else 0,
        )
        for deck in bank.decks
    ]
    weak = bool(weakest_topics(stats) or leeches(reads.lapses, bank))
    picture = PersonPicture(
        title=f"{name}'s progress" if name else "Your progress",
        today=today,
        heatmap=window_counts(reads.per_day, today=today),
        forecast=due_forecast(reads.dues, now=now, timezone=timezone, days=FORECAST_DAYS),
        retention=retention,
        current_streak=streak.current,
        longest_streak=streak.longest,
    )
    return picture, weak


async def send_group_stats(
    update: Update, context: BotContext, *, settings: ChatSettings, streak: int, caption: str
) -> None:
    """/stats in a group: the group's days and its top members, the summary as caption."""
    services = context.services
    now = now_of(context)
    timezone = settings.schedule.timezone
    today = local_date_of(now, timezone)
    chat_id = settings.chat_id
    async with services.sessions() as session:
        state = await progress_store.chat_state(chat_id, session=session)
    key = ("group", chat_id, state, today, timezone)
    if await _send_cached(update, context, key, caption):
        return
    drawing = drawing_of(context.bot_data.extras)
    with drawing.slot():
        async with services.autocommit() as session:
            reads = await progress_store.group_picture_reads(chat_id, session=session, now=now)
        members = sorted(
            ((name, total) for _, name, _, total in reads.activity), key=lambda m: -m[1]
        )
        picture = GroupPicture(
            title=_group_title(update),
            today=today,
            heatmap=daily_counts(local_dates(reads.instants, timezone), today=today),
            members=members,
            streak=streak,
        )
        png = await drawing.draw(render_group, picture, services.settings.stats_picture_share)
    await _upload(update, context, key, png, caption, False)


def _group_title(update: Update) -> str:
    chat = update.effective_chat
    return (chat.title if chat is not None and chat.title else "This group")[:40]
