"""Drawing the /stats pictures off the event loop within a share of the time, and the small
LRU of pictures Telegram already holds.

Here rather than in the handler because none of it is Telegram or the database: it is
how pictures (bot/rendering/progress_picture.py) get drawn, at most one at a time in one
thread, and which drawn picture is known by which key. The handler
(bot/handlers/stats_picture.py) decides whether to draw now and sends what comes out.

One drawing thread per process, not per application: matplotlib's state is global to the
process and not thread-safe, and one picture at a time keeps a burst of /stats from
taking every core. Drawing takes a quarter of a second of CPU and holds the GIL most of
that time, so pictures get a bounded share of the process (STATS_PICTURE_SHARE): one at
a time, and after each a pause long enough to keep drawing to that share of the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.service.extras import kept

log = logging.getLogger(__name__)

CACHE_SIZE = 2048
# Pictures drawn at once before ``Drawing.busy()`` says so.
AT_ONCE = 1
_CACHE_KEY = "progress.pictures"
_DRAWING_KEY = "progress.drawing"
_EXECUTOR: ThreadPoolExecutor | None = None

P = TypeVar("P")


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


@dataclass
class Drawing:
    """This application's picture drawing: how many are being drawn now, and when the
    next may start."""

    drawing: int = 0
    ready_at: float = 0.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def busy(self) -> bool:
        """True while a picture is being drawn or the drawing thread is pausing."""
        return self.drawing >= AT_ONCE or self.clock() < self.ready_at

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold the drawing slot from the decision to draw until the picture is done.

        Taken before the picture's reads, not after: a crowd of /stats handled
        concurrently would otherwise all see ``busy()`` False while each awaits
        its reads, and queue a picture each.
        """
        self.drawing += 1
        try:
            yield
        finally:
            self.drawing -= 1

    async def draw(
        self, function: Callable[[P], bytes], picture: P, share: float = 1.0
    ) -> bytes | None:
        """Draw in the picture thread; None (and one log line) if drawing fails.

        The caller holds the drawing slot (:meth:`slot`). ``share`` is the most of the
        time drawing may take (1: no pause after a picture).
        """
        global _EXECUTOR
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stats-picture")
        started = self.clock()
        try:
            return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, function, picture)
        except Exception:
            log.exception("could not draw the stats picture")
            return None
        finally:
            finished = self.clock()
            self.ready_at = finished + (finished - started) * (1 / share - 1)


def picture_cache(extras: MutableMapping[str, Any]) -> PictureCache:
    """The running bot's cache (in ``bot_data.extras``), made on first use."""
    return kept(extras, _CACHE_KEY, PictureCache, PictureCache)


def drawing_of(extras: MutableMapping[str, Any]) -> Drawing:
    """The running bot's drawing state (in ``bot_data.extras``), made on first use."""
    return kept(extras, _DRAWING_KEY, Drawing, Drawing)
