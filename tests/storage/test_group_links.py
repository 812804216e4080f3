"""Links to a group's message: supergroups have them, basic groups do not."""

from __future__ import annotations

from bot.handlers.group_commands import message_link


def test_message_links() -> None:
    assert message_link(-1001234567890, None, 42, supergroup=True) == (
        "https://t.me/c/1234567890/42"
    )
    assert message_link(-1001234567890, "mlstudy", 42, supergroup=True) == (
        "https://t.me/mlstudy/42"
    )
    assert message_link(-123456789, None, 42, supergroup=False) is None
