"""The /stats picture pool (bot/rendering/picture_pool.py): the LRU of file ids, the drawing
slot, and the pause after a picture that keeps drawing to its share of the time."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.rendering.picture_pool import (
    AT_ONCE,
    CachedPicture,
    Drawing,
    PictureCache,
    drawing_of,
    picture_cache,
)


def test_the_cache_forgets_the_least_recently_used() -> None:
    cache = PictureCache(size=2)
    cache.put(("a",), CachedPicture("A"))
    cache.put(("b",), CachedPicture("B", weak=True))
    assert cache.get(("a",)) == CachedPicture("A")  # now the most recent
    cache.put(("c",), CachedPicture("C"))  # pushes ("b",) out
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == CachedPicture("A")
    assert cache.get(("c",)) == CachedPicture("C")
    cache.drop(("a",))
    cache.drop(("missing",))
    assert cache.get(("a",)) is None


def test_the_slot_counts_pictures_drawing_now() -> None:
    drawing = Drawing()
    assert AT_ONCE == 1
    assert (drawing.drawing, drawing.busy()) == (0, False)
    with drawing.slot():
        assert (drawing.drawing, drawing.busy()) == (1, True)
        with drawing.slot():  # a group picture does not ask busy() first
            assert drawing.drawing == 2
        assert drawing.drawing == 1
    assert (drawing.drawing, drawing.busy()) == (0, False)


class Clock:
    """The drawing's monotonic clock; a picture "takes" the time it advances it by."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_drawing_pauses_to_keep_its_share() -> None:
    clock = Clock()
    drawing = Drawing(clock=clock)

    def picture(seconds: float) -> bytes:
        clock.now += seconds
        return b"png"

    assert await drawing.draw(picture, 0.25, share=1.0) == b"png"
    assert drawing.ready_at == 100.25  # the whole time may be drawing: no pause
    assert not drawing.busy()
    assert await drawing.draw(picture, 0.25, share=0.25) == b"png"
    # A quarter of the time: a pause of three times the drawing's 0.25 s after it.
    assert drawing.ready_at == 100.5 + 0.75
    assert drawing.busy()
    clock.now = 101.2
    assert drawing.busy()
    clock.now = 101.25
    assert not drawing.busy()


def broken_picture(_: object) -> bytes:
    raise ValueError("no font")


async def test_a_failed_drawing_is_logged_and_gives_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drawing = Drawing()
    with caplog.at_level(logging.ERROR, logger="bot.rendering.picture_pool"):
        assert await drawing.draw(broken_picture, None) is None
    assert [r.getMessage() for r in caplog.records] == ["could not draw the stats picture"]


def test_one_cache_and_one_drawing_per_running_bot() -> None:
    extras: dict[str, Any] = {}
    assert picture_cache(extras) is picture_cache(extras)
    assert drawing_of(extras) is drawing_of(extras)
    assert picture_cache(extras).size == 2048
