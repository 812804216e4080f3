"""interview-bot: one machine-learning interview question a day, on Telegram."""

__version__ = "0.1.0"
