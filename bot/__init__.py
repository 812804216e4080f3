"""interview-bot: one machine-learning interview question a day, on Telegram."""

import os

# Opt in to python-telegram-bot's future behaviour (durations as timedelta) now,
# so that its deprecation warnings do not fire; must precede importing telegram.
os.environ.setdefault("PTB_TIMEDELTA", "1")

__version__ = "0.1.0"
