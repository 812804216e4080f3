"""Names in the /stats pictures are drawn as they were typed: plain text, never TeX.

Real matplotlib drawing, values in and PNG out. Where a name is drawn is known
from the picture's layout; the width of the dark pixels there is compared with
the width matplotlib gives the same string as plain text. Parsed as math,
``Ann $5 and $6`` loses its dollar signs and spaces (``5and`` in italics), and
``$\\frac{1}{$`` does not draw at all.
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from bot.domain.progress import window_counts
from bot.rendering.progress_picture import (
    GROUP_HEIGHT,
    HEIGHT,
    MAX_CELL,
    WIDTH,
    GroupPicture,
    PersonPicture,
    heatmap_cell_size,
    render_group,
    render_person,
)

TODAY = date(2026, 3, 2)
NASTY = [
    r"$\frac{1}{$",
    "Ann $5 and $6",
    r"$x_1^2$ \alpha",
    "C:\\temp\\$new$",
    "snake_case^up $",
    "$$",
]


def plain_width(text: str, size: float, weight: str = "normal") -> float:
    """The width matplotlib draws ``text`` with, as plain text, in pixels at 100 dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    renderer = FigureCanvasAgg(Figure(dpi=100)).get_renderer()  # type: ignore[no-untyped-call]
    font = FontProperties(size=size, weight=weight)
    width, _, _ = renderer.get_text_width_height_descent(text, font, ismath=False)
    return float(width)


def ink_width(png: bytes, rows: range, columns: range) -> int:
    """From the first to the last column with a dark pixel, inside the box."""
    image = Image.open(io.BytesIO(png)).convert("L")
    dark = [
        x
        for x in columns
        if any(image.getpixel((x, y)) < 160 for y in rows)  # type: ignore[operator]
    ]
    assert dark, "nothing drawn there"
    return dark[-1] - dark[0] + 1


def person(title: str, deck: str = "NLP") -> PersonPicture:
    return PersonPicture(
        title=title,
        today=TODAY,
        heatmap=window_counts({TODAY: 2}, today=TODAY),
        forecast=[1] * 30,
        retention=[(deck, 0.5, 4)],
        current_streak=1,
        longest_streak=2,
    )


def group(title: str, member: str) -> GroupPicture:
    return GroupPicture(
        title=title,
        today=TODAY,
        heatmap=window_counts({TODAY: 3}, today=TODAY),
        members=[(member, 4)],
        streak=1,
    )


def size_of(png: bytes) -> tuple[str | None, tuple[int, int]]:
    image = Image.open(io.BytesIO(png))
    return image.format, image.size


@pytest.mark.parametrize("name", NASTY)
def test_a_person_named_like_tex_gets_the_picture_with_the_name_as_typed(name: str) -> None:
    title = f"{name}'s progress"
    png = render_person(person(title, deck=name))

    assert size_of(png) == ("PNG", (WIDTH, HEIGHT))
    # The title: bold 30 pt, left at x=30, baseline 55 px from the top.
    drawn = ink_width(png, range(8, 68), range(WIDTH))
    assert abs(drawn - plain_width(title, 30, "bold")) <= 8
    # The one deck of the retention chart: its label right-aligned left of x=290, row 1170.
    drawn = ink_width(png, range(1155, 1185), range(270))
    assert abs(drawn - plain_width(name, 17)) <= 8


@pytest.mark.parametrize("name", NASTY)
def test_group_title_and_member_names_are_drawn_as_typed(name: str) -> None:
    png = render_group(group(name, name))

    assert size_of(png) == ("PNG", (WIDTH, GROUP_HEIGHT))
    drawn = ink_width(png, range(8, 68), range(WIDTH))
    assert abs(drawn - plain_width(name, 30, "bold")) <= 8
    # The one member: label right-aligned left of x=250, at the chart's middle row (805).
    drawn = ink_width(png, range(790, 820), range(235))
    assert abs(drawn - plain_width(name, 17)) <= 8


def test_the_tolerance_tells_math_from_text() -> None:
    """The 8 px allowed above is far less than what math parsing changes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    renderer = FigureCanvasAgg(Figure(dpi=100)).get_renderer()  # type: ignore[no-untyped-call]
    for size, weight in ((30, "bold"), (17, "normal")):
        font = FontProperties(size=size, weight=weight)
        as_math, _, _ = renderer.get_text_width_height_descent("Ann $5 and $6", font, ismath=True)
        assert plain_width("Ann $5 and $6", size, weight) - as_math > 30


REPO = Path(__file__).resolve().parents[2]


def test_a_short_calendar_keeps_its_squares_small() -> None:
    """A year (53 weeks) shares out the width; a calendar of a few days must not: its
    squares were hundreds of pixels high, drawn over the rest of the picture."""
    assert heatmap_cell_size(53) == 19
    assert heatmap_cell_size(54) == 19
    assert heatmap_cell_size(1) == MAX_CELL == 20


def test_the_warm_up_picture_stays_small_in_memory() -> None:
    """The warm-up the bot runs after start-up (bot/study/warm_up.py) drew a one-day
    calendar whose giant squares took the process to 629 MB; a year's calendar, as
    every real picture has, takes it to about 100 MB (a fresh interpreter, matplotlib
    imported). The bound is far from both."""
    # VmHWM, the process's own peak: ru_maxrss keeps the parent's size across the exec
    # (Linux), and the test process is several hundred MB by the end of the suite.
    script = (
        "from pathlib import Path\n"
        "from bot.rendering.progress_picture import warm_up\n"
        "warm_up()\n"
        "status = Path('/proc/self/status').read_text().splitlines()\n"
        "print(next(int(line.split()[1]) for line in status if line.startswith('VmHWM')) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert int(done.stdout.strip()) < 250
