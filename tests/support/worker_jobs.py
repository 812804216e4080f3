"""Jobs the tests hand to the bot's deck reader pool (bot/service/deck_parser.py): small,
importable by a spawned worker, each held until the test says so over a loopback socket
(never a sleep)."""

from __future__ import annotations

import os
import socket

HOLD_SECONDS = 60.0
"""A job the test never releases gives up after this long (the test has failed)."""


def held(port: int) -> int:
    """Connect to the test's port, wait for one byte, return this process's id."""
    with socket.create_connection(("127.0.0.1", port), timeout=HOLD_SECONDS) as conn:
        conn.recv(1)
    return os.getpid()


def held_then_die(port: int) -> None:
    """As :func:`held`, then end the worker process at once, as a crash would."""
    held(port)
    os._exit(1)
