"""Telegram's flood limits, stated once.

The rate limiter's defaults (bot/telegram/ratelimit.py, bot/telegram/send_budget.py,
``SEND_RATE_LIMIT``'s default) and the fake Bot API that enforces them in tests and
benchmarks (tests/support/flood_limits.py) read these numbers; nothing else states them.

From the Bot FAQ, "My bot is hitting limits": no more than 30 messages a second overall
(1,000 with paid broadcasts), 20 a minute in one group, and about one a second in one
private chat. A message is a ``send*``, ``copyMessage``, ``forwardMessage`` or
``editMessage*`` request; answering a callback query, setting commands or reading a chat
is not one.
"""

from __future__ import annotations

MESSAGES_PER_SECOND = 30
PAID_MESSAGES_PER_SECOND = 1000
GROUP_MESSAGES_PER_MINUTE = 20
PRIVATE_MESSAGES_PER_SECOND = 1.0
# "About one a second" in a private chat: Telegram lets a short burst through (an answer,
# its edit and a follow-up); the limiter and the fake both allow 3.
PRIVATE_BURST = 3


MAX_INLINE_BUTTONS = 100
"""Buttons in one inline keyboard: Telegram answers "reply markup is too long" beyond
(not in the Bot API's documentation; found by bot authors, and what clients show)."""


def is_message(method: str) -> bool:
    """Whether a Bot API method (any case) posts or edits a message: what the limits count."""
    name = method.lower()
    return name.startswith(("send", "editmessage")) or name in ("copymessage", "forwardmessage")
