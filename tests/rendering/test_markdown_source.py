"""Finding formulas in bank Markdown: outside code only, each with its offset in the source."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rendering.markdown_source import Math, find_math


def test_formulas_outside_code_with_offsets() -> None:
    source = "A \\(x_1\\) and $y$.\n\n```\n$not$ \\(math\\)\n```\n\n`$z$` then $$\n w \n$$"
    assert find_math(source) == (
        Math("\\(x_1\\)", "x_1", display=False, start=4),
        Math("$y$", "y", display=False, start=15),
        Math("$$\n w \n$$", "\n w \n", display=True, start=57),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["a", " ", "\n", "$", "$$", "\\(", "\\)", "\\[", "\\]", "`", "```\n", "x^2", "\\"]
        ),
        max_size=30,
    ).map("".join)
)
def test_every_offset_points_at_its_formula(source: str) -> None:
    for math in find_math(source):
        assert source[math.start : math.start + len(math.tex)] == math.tex
        assert math.raw in source
