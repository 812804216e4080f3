"""Small text helpers shared by the renderer and the tests.

Telegram measures message length in UTF-16 code units (the unit of
``MessageEntity.offset``), not in Python code points, so every limit check in
this package goes through :func:`utf16_len`.
"""

from __future__ import annotations


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units: astral characters (emoji) count twice."""
    # Encoding counts the units in C; a lone surrogate (possible in a str) counts one.
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def escape_html(s: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for Telegram HTML text content.

    Quotes are left alone: they are only special inside attribute values,
    which the renderer escapes separately (see ``escape_attr``).
    """
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(s: str) -> str:
    """Escape a value for a double-quoted HTML attribute (``href``)."""
    return escape_html(s).replace('"', "&quot;")
