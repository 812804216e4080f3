"""Where a character of a YAML string value is in its file.

The source map knows where each value starts; a formula problem is further
in, at an offset in the value. In a literal block scalar (``answer: |-``, how
the bank writes answers) line ``k`` of the value is line ``k + 1`` after the
indicator, at the block's indentation; in a one-line plain or quoted scalar
the offset is a column offset. Anything else (folded scalars, escapes before
the offset) falls back to where the value starts. The result is checked
against the file, so a wrong guess can only ever give the value's start.
"""

from __future__ import annotations

__all__ = ["position_in_value"]

Position = tuple[int, int]
_PROBE = 8  # characters compared with the file to confirm a position


def _candidate(lines: list[str], start: Position, value: str, offset: int) -> Position | None:
    line, column = start
    if not 1 <= line <= len(lines):
        return None
    head = lines[line - 1][column - 1 :]
    before = value[:offset]
    row = before.count("\n")
    in_row = offset - (before.rfind("\n") + 1)
    if head.startswith("|"):
        body = lines[line:]
        indent = next((len(text) - len(text.lstrip(" ")) for text in body if text.strip()), None)
        if indent is None or row >= len(body):
            return None
        return (line + 1 + row, indent + in_row + 1)
    if row:
        return None
    if head[:1] in ("'", '"'):
        return (line, column + 1 + in_row)
    return (line, column + in_row)


def position_in_value(text: str, start: Position, value: str, offset: int) -> Position:
    """The 1-based (line, column) in ``text`` of ``value[offset]``; ``start`` if unsure."""
    lines = text.splitlines()
    found = _candidate(lines, start, value, offset)
    if found is None:
        return start
    line, column = found
    expected = value[offset : offset + _PROBE].split("\n", 1)[0]
    actual = lines[line - 1][column - 1 : column - 1 + len(expected)] if line <= len(lines) else ""
    return found if actual == expected else start
