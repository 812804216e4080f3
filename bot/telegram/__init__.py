"""Talking to Telegram: the Bot API transport, the rate limiter and its shared
budget, sending, the update processor, callback data and keyboards."""
