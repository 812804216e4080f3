"""The /stats picture: rendered off the event loop, cached per person (or group) and state.

The picture depends only on the reviews (heatmap, retention, streaks, and the
cards they scheduled) and on the local date, so ``(reviews, newest review id,
today, time zone)`` identifies it. The first /stats renders it in a worker
thread and uploads it; Telegram's file id is cached, so a repeated /stats with
nothing new re-sends that id: one cheap query, no drawing, no upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import InputFile, Message, Update
from telegram.error import BadRequest

from bot.domain.chats import ChatSettings
from bot.domain.progress import (
    FORECAST_DAYS,
    HEATMAP_DAYS,
    RETENTION_DAYS,
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
from bot.rendering.progress_picture import GroupPicture, PersonPicture, render_group, render_person
from bot.service.context import BotContext
from bot.storage import groups as group_store
from bot.storage import progress as progress_store

log = logging.getLogger(__name__)

CACHE_SIZE = 2048
CAPTION_LIMIT = 1024
WEAK_HINT = "\n🧩 Some topics need work: /weak shows them, with a quiz."
_CACHE_KEY = "progress.pictures"
# One drawing thread: matplotlib is not thread-safe, and one picture at a time
# keeps a burst of /stats from taking every core.
_EXECUTOR: ThreadPoolExecutor | None = None
# Drawing takes a quarter of a second of CPU and holds the GIL most of that time,
# so pictures get a bounded share of the process (STATS_PICTURE_SHARE): one at a
# time, and after each a pause long enough to keep drawing to that share of the
# time. Meanwhile (a crowd sending /stats at once) a person whose picture is not
# cached gets the text summary at once; the picture comes with a later /stats.
MAX_BACKLOG = 1
_DRAWING_KEY = "progress.drawing"


@dataclass
class Drawing:
    """This application's picture drawing: in progress, and when the next may start."""

    backlog: int = 0
    ready_at: float = 0.0

    def busy(self) -> bool:
        """True while a picture is being drawn or the drawing thread is pausing."""
        return self.backlog >= MAX_BACKLOG or time.monotonic() < self.ready_at

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold the drawing slot from the decision to draw until the picture is done.

        Taken before the picture's reads, not after: a crowd of /stats handled
        concurrently would otherwise all see ``busy()`` False while each awaits
        its reads, and queue a picture each.
        """
        self.backlog += 1
        try:
            yield
        finally:
            self.backlog -= 1


def _drawing(context: BotContext) -> Drawing:
    drawing = context.bot_data.extras.get(_DRAWING_KEY)
    if not isinstance(drawing, Drawing):
        drawing = Drawing()
        context.bot_data.extras[_DRAWING_KEY] = drawing
    return drawing


def _people_waiting(context: BotContext) -> bool:
    """More updates admitted than may run at once: someone is waiting for any reply.

    Replies come before pictures: in a crowd every /stats gets its summary first
    (a picture costs a quarter of a second of the process), and pictures resume,
    within ``STATS_PICTURE_SHARE``, once nobody waits behind them.
    """
    admitted = context.application.update_processor.current_concurrent_updates
    return admitted > context.services.settings.concurrent_updates


BUSY_NOTE = "\n<i>(The picture comes with your next /stats: many people are asking right now.)</i>"


@dataclass(frozen=True)
class CachedPicture:
    file_id: str
    weak: bool = False


class PictureCache:
    """A small LRU of Telegram file ids by picture state."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], CachedPicture] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> CachedPicture | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[Any, ...], item: CachedPicture) -> None:
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, key: tuple[Any, ...]) -> None:
        self._items.pop(key, None)


def _cache(context: BotContext) -> PictureCache:
    cache = context.bot_data.extras.get(_CACHE_KEY)
    if not isinstance(cache, PictureCache):
        cache = PictureCache()
        context.bot_data.extras[_CACHE_KEY] = cache
    return cache


async def _render(
    context: BotContext, function: Any, picture: Any, share: float = 1.0
) -> bytes | None:
    """Draw in the picture thread; None (and one log line) if drawing fails.

    The caller holds the drawing slot (``Drawing.slot``). ``share`` is the most
    of the time drawing may take (1: no pause after a picture).
    """
    global _EXECUTOR
    drawing = _drawing(context)
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stats-picture")
    started = time.monotonic()
    try:
        result: bytes = await asyncio.get_running_loop().run_in_executor(
            _EXECUTOR, function, picture
        )
    except Exception:
        log.exception("could not draw the stats picture")
        return None
    finally:
        finished = time.monotonic()
        drawing.ready_at = finished + (finished - started) * (1 / share - 1)
    return result


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
    cache = _cache(context)
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
        _cache(context).put(key, CachedPicture(sent.photo[-1].file_id, weak))


async def send_person_stats(
    update: Update,
    context: BotContext,
    *,
    person_id: int,
    name: str,
    timezone: str,
    streak: Streak,
    state: tuple[int, int],
    caption: str,
) -> None:
    """/stats in a private chat: the picture with the text summary as its caption.

    ``state`` (reviews, newest review id) keys the cached picture.
    """
    now = now_of(context)
    today = local_date_of(now, timezone)
    key = ("person", person_id, state, today, timezone)
    if await _send_cached(update, context, key, caption):
        return
    drawing = _drawing(context)
    if drawing.busy() or _people_waiting(context):
        await reply(update, caption + BUSY_NOTE)
        return
    with drawing.slot():
        png, weak = await _draw_person(
            context, person_id=person_id, name=name, timezone=timezone, streak=streak
        )
    await _upload(update, context, key, png, caption, weak)


async def _draw_person(
    context: BotContext, *, person_id: int, name: str, timezone: str, streak: Streak
) -> tuple[bytes | None, bool]:
    """Read what the person's picture shows and draw it; (PNG or None, weak topics?)."""
    services = context.services
    now = now_of(context)
    today = local_date_of(now, timezone)
    bank = services.bank
    async with services.autocommit() as session:
        per_day = await progress_store.reviews_per_day(
            person_id, session=session, since=today - timedelta(days=HEATMAP_DAYS)
        )
        # The forecast's days only (a day of margin for the zone's offset).
        dues = await progress_store.card_dues(
            person_id, session=session, before=now + timedelta(days=FORECAST_DAYS + 1)
        )
        reviews = await progress_store.graded_reviews(
            person_id, session=session, since=now - timedelta(days=RETENTION_DAYS)
        )
        lapses = await progress_store.card_lapses(person_id, session=session)
    stats = topic_stats(reviews, bank, now=now)
    by_deck = {s.key: s for s in stats if s.kind == "deck"}
    retention = [
        (
            deck.title,
            by_deck[deck.id].retention if deck.id in by_deck else None,
            by_deck[deck.id].reviews if deck.id in by_deck else 0,
        )
        for deck in bank.decks
    ]
    weak = bool(weakest_topics(stats) or leeches(lapses, bank))
    picture = PersonPicture(
        title=f"{name}'s progress" if name else "Your progress",
        today=today,
        heatmap=window_counts(per_day, today=today),
        forecast=due_forecast(dues, now=now, timezone=timezone, days=FORECAST_DAYS),
        retention=retention,
        current_streak=streak.current,
        longest_streak=streak.longest,
    )
    png = await _render(context, render_person, picture, services.settings.stats_picture_share)
    return png, weak


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
    with _drawing(context).slot():
        async with services.autocommit() as session:
            instants = await progress_store.chat_review_instants(
                chat_id, session=session, since=now - timedelta(days=HEATMAP_DAYS + 1)
            )
            activity = await group_store.member_activity(chat_id, session=session, week_start=now)
        members = sorted(((name, total) for _, name, _, total in activity), key=lambda m: -m[1])
        picture = GroupPicture(
            title=_group_title(update),
            today=today,
            heatmap=daily_counts(local_dates(instants, timezone), today=today),
            members=members,
            streak=streak,
        )
        png = await _render(context, render_group, picture, services.settings.stats_picture_share)
    await _upload(update, context, key, png, caption, False)


def _group_title(update: Update) -> str:
    chat = update.effective_chat
    return (chat.title if chat is not None and chat.title else "This group")[:40]
