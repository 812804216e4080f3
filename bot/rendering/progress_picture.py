"""The /stats picture: a calendar heatmap, the due forecast, retention per deck (or members).

Rendering only: it takes plain values (already computed by ``bot.domain.progress``)
and returns PNG bytes, touching neither the database nor Telegram. matplotlib is
imported on the first picture, not at start-up, and drawn with the Agg canvas on a
``Figure`` of its own (no pyplot, no global state), so pictures can be rendered in
a worker thread. Made for a phone: 1200 px wide, large labels, and colours that
stay distinguishable with colour-blindness (a single-hue blue scale for counts,
Okabe-Ito blue and orange for "on target" and "below").
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain.progress import calendar_cells, window_counts

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH, HEIGHT = 1200, 1400
GROUP_HEIGHT = 1100
DPI = 100
# Heatmap levels: no review, 1, 2-3, 4-6, 7+ (ColorBrewer Blues: one hue, CVD-safe).
EMPTY = "#e3e6ea"
LEVEL_COLOURS = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")
LEVEL_FLOORS = (1, 2, 4, 7)
BLUE, ORANGE, INK, MUTED = "#0072B2", "#E69F00", "#1f2328", "#57606a"
TARGET = 0.9
WEEKDAYS = ("Mon", "", "Wed", "", "Fri", "", "Sun")
# Every string is drawn as typed: a name like "Ann $5 and $6" or "$\\frac{1}{$" is a
# name, not TeX (math parsing would draw it in italics, or fail to draw at all).
PLAIN: dict[str, Any] = {"parse_math": False, "usetex": False}


@dataclass(frozen=True)
class PersonPicture:
    """What a person's picture shows (all counts already computed)."""

    title: str
    today: date
    heatmap: Mapping[date, int]
    forecast: Sequence[int]
    retention: Sequence[tuple[str, float | None, int]]  # deck title, share recalled, reviews
    current_streak: int
    longest_streak: int


@dataclass(frozen=True)
class GroupPicture:
    """What a group's picture shows: its days and its most active members."""

    title: str
    today: date
    heatmap: Mapping[date, int]
    members: Sequence[tuple[str, int]]  # name, questions graded in the group
    streak: int


def _figure(height: int) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    """Draw with Agg and encode as an RGB PNG (no alpha: a third less to compress).

    zlib level 1: the picture is flat colours, so the file is barely larger than
    at the default level 6, for less than half the CPU.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = figure.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    canvas.draw()  # type: ignore[no-untyped-call]
    width, height = canvas.get_width_height()
    pixels = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
    image = Image.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _axes(figure: Figure, height: int, top: int, bottom: int) -> Axes:
    """Axes spanning the picture's width between two pixel rows (from the top)."""
    left, right = 110, 40
    return figure.add_axes(
        (left / WIDTH, 1 - bottom / height, (WIDTH - left - right) / WIDTH, (bottom - top) / height)
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _header(figure: Figure, height: int, title: str, subtitle: str) -> None:
    figure.text(30 / WIDTH, 1 - 55 / height, title, fontsize=30, weight="bold", color=INK, **PLAIN)
    figure.text(30 / WIDTH, 1 - 100 / height, subtitle, fontsize=21, color=INK, **PLAIN)


def _level(count: int) -> int:
    """0 for no reviews, 1-4 for the heatmap's count bands."""
    return sum(1 for floor in LEVEL_FLOORS if count >= floor)


HEATMAP_LEFT = 110
HEATMAP_TOP = 185
CELL_GAP = 3


MAX_CELL = 20
"""The largest heatmap cell: a year's calendar (53 or 54 weeks) gets 19 px. A short one
would otherwise get squares hundreds of pixels high, spilling over the rest of the picture,
and drawing them took 600 MB (the first warm-up picture, a one-day calendar, did)."""


def heatmap_cell_size(columns: int) -> int:
    """Whole pixels per heatmap cell (square plus gap) for a calendar of ``columns`` weeks."""
    return min(MAX_CELL, (WIDTH - HEATMAP_LEFT - 40) // columns)


def heatmap_cell_centre(column: int, row: int, columns: int, top: int) -> tuple[int, int]:
    """The pixel (x, y from the top) at the middle of a day's square."""
    cell = heatmap_cell_size(columns)
    square = cell - CELL_GAP
    return HEATMAP_LEFT + column * cell + square // 2, top + row * cell + square // 2


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _heatmap(figure: Figure, height: int, top: int, counts: Mapping[date, int]) -> None:
    """The calendar as raw pixels (``figimage``): exact squares, and far cheaper than patches."""
    import numpy as np

    cells = calendar_cells(counts)
    columns = cells[-1].column + 1 if cells else 1
    cell = heatmap_cell_size(columns)
    square = cell - CELL_GAP
    pixels = np.full((7 * cell, columns * cell, 3), 255, dtype=np.uint8)
    palette = [_rgb(colour) for colour in (EMPTY, *LEVEL_COLOURS)]
    for day in cells:
        y, x = day.row * cell, day.column * cell
        pixels[y : y + square, x : x + square] = palette[_level(day.count)]
    bottom = top + 7 * cell
    figure.figimage(pixels, xo=HEATMAP_LEFT, yo=height - bottom, origin="upper")
    for row, name in enumerate(WEEKDAYS):
        if name:
            figure.text(
                (HEATMAP_LEFT - 10) / WIDTH,
                1 - (top + row * cell + square / 2) / height,
                name,
                ha="right",
                va="center",
                fontsize=16,
                color=MUTED,
                **PLAIN,
            )
    for day in cells:
        if day.day.day <= 7 and day.row == 0 and day.column < columns - 1:
            figure.text(
                (HEATMAP_LEFT + day.column * cell) / WIDTH,
                1 - (top - 8) / height,
                f"{day.day:%b}",
                va="bottom",
                fontsize=16,
                color=MUTED,
                **PLAIN,
            )
    total = sum(counts.values())
    studied = sum(1 for count in counts.values() if count)
    figure.text(
        110 / WIDTH,
        1 - (bottom + 45) / height,
        f"{_plural(total, 'review')} on {_plural(studied, 'day')} in the last {len(counts)} days",
        fontsize=18,
        color=INK,
        **PLAIN,
    )
    _legend(figure, height, bottom + 85)


def _legend(figure: Figure, height: int, baseline: int) -> None:
    from matplotlib.patches import Rectangle

    labels = ("0", "1", "2-3", "4-6", "7+")
    x = 110
    y = 1 - baseline / height
    figure.text(x / WIDTH, y, "Reviews a day:", fontsize=16, color=MUTED, **PLAIN)
    x += 175
    for colour, label in zip((EMPTY, *LEVEL_COLOURS), labels, strict=True):
        figure.add_artist(
            Rectangle(
                (x / WIDTH, y - 2 / height),
                20 / WIDTH,
                20 / height,
                transform=figure.transFigure,
                facecolor=colour,
                edgecolor="none",
            )
        )
        figure.text((x + 25) / WIDTH, y, label, fontsize=16, color=MUTED, **PLAIN)
        x += 80


def _style(ax: Axes, title: str) -> None:
    ax.set_title(title, fontsize=22, loc="left", color=INK, pad=14, **PLAIN)
    ax.tick_params(labelsize=16, colors=MUTED)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _forecast(ax: Axes, today: date, forecast: Sequence[int]) -> None:
    from matplotlib.ticker import MaxNLocator

    days = range(len(forecast))
    ax.bar(days, forecast, color=BLUE, width=0.75)
    _style(ax, f"Due in the next {len(forecast)} days: {sum(forecast)} cards")
    ticks = list(range(0, len(forecast), 7))
    labels = ["Today"] + [(today + timedelta(days=d)).strftime("%d %b") for d in ticks[1:]]
    ax.set_xticks(ticks, labels, **PLAIN)
    ax.set_xlim(-0.7, len(forecast) - 0.3)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.set_ylim(0, max(1, *forecast) * 1.15)
    ax.grid(axis="y", color="#d0d7de", linewidth=0.8)
    ax.set_axisbelow(True)


def _retention(ax: Axes, rows: Sequence[tuple[str, float | None, int]]) -> None:
    _style(ax, "Retention per deck, last 30 days (Good or Easy)")
    positions = list(range(len(rows)))
    values = [100 * (share or 0) for _, share, _ in rows]
    colours = [BLUE if (share or 0) >= TARGET else ORANGE for _, share, _ in rows]
    ax.barh(positions, values, color=colours, height=0.6)
    ax.set_yticks(positions, [_short(title, 20) for title, _, _ in rows], fontsize=17, **PLAIN)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"], **PLAIN)
    ax.axvline(100 * TARGET, color=INK, linestyle="--", linewidth=1.2)
    for position, (_, share, reviews) in zip(positions, rows, strict=True):
        label = f"{round(100 * share)}% of {reviews}" if share is not None else "no reviews"
        inside = share is not None and share > 0.55
        ax.text(
            100 * (share or 0) + (-1.5 if inside else 1.5),
            position,
            label,
            va="center",
            ha="right" if inside else "left",
            fontsize=16,
            color="white" if inside else INK,
            **PLAIN,
        )
    ax.yaxis.set_tick_params(pad=8)
    # The y labels are long deck titles: make room for them.
    ax.set_position(_shifted(ax, 290))


def _shifted(ax: Axes, left_px: int) -> tuple[float, float, float, float]:
    box = ax.get_position()
    left = left_px / WIDTH
    return (left, box.y0, box.x1 - left, box.height)


def _members(ax: Axes, members: Sequence[tuple[str, int]]) -> None:
    _style(ax, "Top members (questions graded here)")
    shown = list(members)[:10] or [("nobody yet", 0)]
    positions = list(range(len(shown)))
    ax.barh(positions, [count for _, count in shown], color=BLUE, height=0.6)
    ax.set_yticks(positions, [_short(name, 18) for name, _ in shown], fontsize=17, **PLAIN)
    ax.set_ylim(len(shown) - 0.5, -0.5)
    top = max(1, *(count for _, count in shown))
    ax.set_xlim(0, top * 1.15)
    for position, (_, count) in enumerate(shown):
        ax.text(
            count + top * 0.01, position, str(count), va="center", fontsize=16, color=INK, **PLAIN
        )
    ax.set_position(_shifted(ax, 250))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_person(picture: PersonPicture) -> bytes:
    """A person's progress picture, ``WIDTH`` × ``HEIGHT`` px PNG."""
    figure = _figure(HEIGHT)
    subtitle = (
        f"Current streak: {_plural(picture.current_streak, 'day')}    "
        f"Longest: {_plural(picture.longest_streak, 'day')}    "
        f"{picture.today:%a %d %b %Y}"
    )
    _header(figure, HEIGHT, picture.title, subtitle)
    _heatmap(figure, HEIGHT, HEATMAP_TOP, picture.heatmap)
    _forecast(_axes(figure, HEIGHT, 540, 880), picture.today, picture.forecast)
    rows = list(picture.retention) or [("no decks", None, 0)]
    _retention(_axes(figure, HEIGHT, 990, 1350), rows)
    return _png(figure)


def render_group(picture: GroupPicture) -> bytes:
    """A group's picture, ``WIDTH`` × ``GROUP_HEIGHT`` px PNG."""
    figure = _figure(GROUP_HEIGHT)
    subtitle = f"Group streak: {_plural(picture.streak, 'day')}    {picture.today:%a %d %b %Y}"
    _header(figure, GROUP_HEIGHT, picture.title, subtitle)
    _heatmap(figure, GROUP_HEIGHT, HEATMAP_TOP, picture.heatmap)
    _members(_axes(figure, GROUP_HEIGHT, 560, 1050), picture.members)
    return _png(figure)


def warm_up() -> None:
    """Import matplotlib and draw one small picture (fonts loaded): the first /stats's cost."""
    today = date(2026, 1, 1)
    render_group(GroupPicture("warm-up", today, window_counts({}, today=today), [], 0))
