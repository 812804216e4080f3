"""Telegram's flood limits shared by every instance of the bot, through PostgreSQL.

Telegram's limits belong to the bot token, not to a process: with N instances each
keeping its own limiter, the bot sends N times the budget and Telegram answers 429.
Here the budget lives in one table, ``send_budget``, one row per key, each row a
single timestamp: the *theoretical arrival time* (``tat``) of the generic cell rate
algorithm (GCRA, the token bucket written as one instant):

* ``overall`` (and ``paid``): the whole bot's send schedule. An instance *leases* a
  block of ``k`` consecutive send instants with one ``UPDATE ... RETURNING``:
  ``tat = greatest(tat, now()) + k * interval``. Sends from all instances together
  are then spaced ``interval`` apart, whoever sends them. A broadcast lease is only
  granted while the schedule is less than ``HORIZON_SECONDS`` ahead of now, so the
  shared schedule never holds more than a block or two of broadcast; a reply
  (interactive lease) is always granted, at the end of that short schedule. That is
  how replies go before broadcasts on every instance, not only on the one where
  the broadcast is queued.
* ``c:<chat id>``: one chat's pacing (a group's 20 a minute, a private chat's about
  one a second), reserved per send with one upsert: the chat's next instant, with a
  small burst allowed (GCRA's tolerance). Rows of chats idle for a minute are pruned.

A ``RetryAfter`` moves ``overall`` past the pause, so every instance's next lease
starts after it. All instants are the database's clock (``now()``), returned to the
instance as seconds from now: clocks of the instances never need to agree.

The statements go through a small asyncpg pool of their own (not SQLAlchemy's):
they are on the path of every send, and a prepared statement on a dedicated
connection costs a fraction of a millisecond. If the database is slow or
unreachable (a statement takes more than ``STATEMENT_TIMEOUT_SECONDS``), the
instance falls back to a conservative local share (``FALLBACK_SHARE`` of the
budget, chats paced by the in-memory windows only), logs one line, leaves the
database alone for ``FAILURE_BACKOFF_SECONDS`` and then tries it again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

from bot.telegram.limits import PRIVATE_BURST

log = logging.getLogger(__name__)

OVERALL_KEY = "overall"
PAID_KEY = "paid"
# Pace at 90 % of SEND_RATE_LIMIT: a send leaves at its instant plus the event loop's
# and the network's jitter; at 27/s a second of Telegram's window holds at most 30 even
# when sends arrive 0.1 s off their instants (slot grace plus jitter).
SHARE_OF_LIMIT = 0.9
# A leased instant not used within this long after it is dropped (used later, it
# would bunch up with the next instants of other instances).
SLOT_GRACE_SECONDS = 0.05
# A broadcast lease is granted only while the shared schedule reaches at most this
# far ahead of now: what a reply on another instance may have to wait behind.
HORIZON_SECONDS = 0.1
BLOCK = 5
PAID_BLOCK = 50
# A group: 20 a minute at most. GCRA with a burst of 5 and one per 4.1 s after it
# keeps any minute at 5 + 14 = 19 messages.
GROUP_INTERVAL_SECONDS = 4.1
GROUP_BURST = 5
# A private chat: about one a second; a burst of 3 (answer, edit, follow-up).
PRIVATE_INTERVAL_SECONDS = 1.1
STATEMENT_TIMEOUT_SECONDS = 1.0
# After a failure the database is left alone this long (the local share meanwhile), so a
# database that hangs does not hold every send for a timeout.
FAILURE_BACKOFF_SECONDS = 2.0
FALLBACK_SHARE = 0.25
PRUNE_EVERY_SECONDS = 60.0
CHAT_ROW_IDLE = "1 minute"

_LEASE = """
UPDATE send_budget SET tat = greatest(tat, now()) + $2 * interval '1 second'
WHERE key = $1 AND ($3 OR tat <= now() + $4 * interval '1 second')
RETURNING extract(epoch FROM tat - now())::float8
"""
_AHEAD = "SELECT extract(epoch FROM tat - now())::float8 FROM send_budget WHERE key = $1"
_CREATE = "INSERT INTO send_budget (key, tat) VALUES ($1, now()) ON CONFLICT (key) DO NOTHING"
_RESERVE_CHAT = """
INSERT INTO send_budget AS b (key, tat) VALUES ($1, now() + $2 * interval '1 second')
ON CONFLICT (key) DO UPDATE SET tat = greatest(b.tat, now()) + $2 * interval '1 second'
RETURNING extract(epoch FROM tat - now())::float8
"""
_PAUSE = """
UPDATE send_budget SET tat = greatest(tat, now() + $2 * interval '1 second') WHERE key = $1
"""
_PRUNE = (
    f"DELETE FROM send_budget WHERE key LIKE 'c:%' AND tat < now() - interval '{CHAT_ROW_IDLE}'"
)


@dataclass(frozen=True)
class Lease:
    """``count`` send instants granted; the last one ends ``end_in`` seconds from now."""

    count: int
    interval: float
    end_in: float

    def instants(self, now: float) -> list[float]:
        """The granted instants on the caller's clock (``now``: when the answer came)."""
        return [now + self.end_in - (self.count - i) * self.interval for i in range(self.count)]


@dataclass(frozen=True)
class Denied:
    """The shared schedule is full for broadcast: ask again in ``retry_in`` seconds."""

    retry_in: float


def chat_pacing(chat: int | str) -> tuple[float, int]:
    """(interval, burst) of one chat: groups and channels (negative ids, @names) or private."""
    group = isinstance(chat, str) or chat < 0
    if group:
        return GROUP_INTERVAL_SECONDS, GROUP_BURST
    return PRIVATE_INTERVAL_SECONDS, PRIVATE_BURST


class SharedBudget:
    """The budget rows of one database, as the rate limiter (bot/telegram/ratelimit.py) uses
    them."""

    def __init__(self, database_url: str, *, statement_timeout: float = STATEMENT_TIMEOUT_SECONDS):
        url = make_url(database_url)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._timeout = statement_timeout
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        self._failing = False
        self._resting_until = 0.0
        self._last_prune = 0.0
        self._prune_task: asyncio.Task[None] | None = None

    @staticmethod
    def suits(database_url: str) -> bool:
        """Shared only on PostgreSQL (SQLite is one process: its limiter stays in memory)."""
        return make_url(database_url).get_backend_name() == "postgresql"

    async def close(self) -> None:
        if self._prune_task is not None:
            self._prune_task.cancel()
            await asyncio.gather(self._prune_task, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _connected(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=2,
                    timeout=self._timeout,
                    command_timeout=self._timeout,
                )
            return self._pool

    # -- the overall schedule -----------------------------------------------------------

    async def lease(
        self, key: str, count: int, interval: float, *, interactive: bool
    ) -> Lease | Denied | None:
        """Lease ``count`` instants ``interval`` apart; ``None`` if the database failed."""
        if self._resting():
            return None
        try:
            pool = await self._connected()
            for _ in range(2):
                end_in = await pool.fetchval(
                    _LEASE,
                    key,
                    count * interval,
                    interactive,
                    HORIZON_SECONDS,
                    timeout=self._timeout,
                )
                if end_in is not None:
                    self._recovered()
                    return Lease(count, interval, float(end_in))
                ahead = await pool.fetchval(_AHEAD, key, timeout=self._timeout)
                if ahead is not None:
                    self._recovered()
                    return Denied(max(0.0, float(ahead) - HORIZON_SECONDS))
                await pool.execute(_CREATE, key, timeout=self._timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            self._failed(error)
        return None

    async def pause(self, key: str, seconds: float) -> None:
        """Telegram said ``retry_after``: no instance's next lease starts before it."""
        if self._resting():
            return
        try:
            pool = await self._connected()
            await pool.execute(_PAUSE, key, seconds, timeout=self._timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            self._failed(error)

    # -- one chat -------------------------------------------------------------------------

    async def reserve_chat(self, chat: int | str) -> float:
        """Seconds to wait before sending to ``chat`` (0: at once); 0 if the database failed
        (the in-memory windows of this instance still pace the chat)."""
        interval, burst = chat_pacing(chat)
        if self._resting():
            return 0.0
        try:
            pool = await self._connected()
            end_in = await pool.fetchval(
                _RESERVE_CHAT, f"c:{chat}", interval, timeout=self._timeout
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            self._failed(error)
            return 0.0
        self._recovered()
        self._maybe_prune()
        return max(0.0, float(end_in) - burst * interval)

    def _maybe_prune(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = now
        if self._prune_task is None or self._prune_task.done():
            self._prune_task = asyncio.create_task(self._prune(), name="send-budget-prune")

    async def _prune(self) -> None:
        try:
            pool = await self._connected()
            await pool.execute(_PRUNE, timeout=self._timeout * 5)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            self._failed(error)

    # -- failure --------------------------------------------------------------------------

    def _resting(self) -> bool:
        return self._failing and asyncio.get_running_loop().time() < self._resting_until

    def _failed(self, error: BaseException) -> None:
        self._resting_until = asyncio.get_running_loop().time() + FAILURE_BACKOFF_SECONDS
        if not self._failing:
            self._failing = True
            log.warning(
                "shared send budget unavailable (%s); sending at %d%% of the limit until "
                "the database answers",
                type(error).__name__,
                round(FALLBACK_SHARE * 100),
            )

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.info("shared send budget available again")
