"""Echoes of what a person typed are short: no reply goes over a limit because of input."""

from __future__ import annotations

from bot.rendering.texts import ECHO_LIMIT, echo


def test_echo_keeps_short_text_and_escapes_it() -> None:
    assert echo("nlp <b> & co") == "nlp &lt;b&gt; &amp; co"
    assert echo("  two\n\nlines  ") == "two lines"


def test_echo_cuts_long_text_with_an_ellipsis() -> None:
    cut = echo("x" * 4000)
    assert cut == "x" * (ECHO_LIMIT - 1) + "…"
    assert len(echo("word " * 1000)) <= ECHO_LIMIT
    # Escaping happens after the cut: no entity is split in half.
    assert echo("&" * 100) == "&amp;" * (ECHO_LIMIT - 1) + "…"
