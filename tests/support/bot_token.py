"""The bot token the tests and the benchmarks give the bot and the fake Bot API.

One place, so the e2e harness, the bot subprocesses and the benchmarks' fake server
(tests/support/fake_telegram_server.py) agree without importing each other's internals.
"""

TOKEN = "123456:TEST-token-for-the-fake-api"
