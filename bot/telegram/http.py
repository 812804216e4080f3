"""An aiohttp transport for python-telegram-bot.

PTB's default transport is httpx. Measured here (benchmarks/dispatch.py), the
httpx/httpcore/anyio stack costs more CPU per Bot API call than everything else
the dispatcher does per delivery together; aiohttp, a well-kept client of the
same field, does the same request for a fraction. PTB supports exactly this by
subclassing ``BaseRequest`` (see its "Architecture" wiki page).
"""

from __future__ import annotations

import asyncio
import functools
import json

import aiohttp
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.service import metrics
from bot.telegram.sending import NotSentError

_JSON = {"Content-Type": "application/json"}


@functools.lru_cache(maxsize=32)
def _client_timeout(
    total: float | None, connect: float | None, read: float | None
) -> aiohttp.ClientTimeout:
    """One timeout object per combination (a handful), not one per request."""
    return aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)


class AiohttpRequest(BaseRequest):
    """Bot API calls over one pooled aiohttp session."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 32,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _timeout(self, value: ODVInput[float], default: float | None) -> float | None:
        return default if value is DEFAULT_NONE else value  # type: ignore[return-value]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        has_files = bool(request_data and request_data.contains_files)
        write = self._timeout(
            write_timeout, self._media_write_timeout if has_files else self._write_timeout
        )
        read = self._timeout(read_timeout, self._read_timeout)
        connect = self._timeout(connect_timeout, self._connect_timeout)
        pool = self._timeout(pool_timeout, self._pool_timeout)
        total = None
        if read is not None and write is not None:
            total = read + write + (connect or 0) + (pool or 0)
        timeout = _client_timeout(total, connect, read)
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if has_files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in (request_data.multipart_data or {}).items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            elif request_data.parameters:
                # JSON rather than a urlencoded form: the Bot API takes both, and
                # url-quoting a long answer costs a Python loop over every byte.
                data = json.dumps(request_data.parameters).encode()
                headers = _JSON
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                metrics.telegram_answered(response.status)
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except asyncio.TimeoutError as error:  # noqa: UP041 - distinct class before 3.11
            raise TimedOut from error
        except aiohttp.ClientConnectorError as error:
            # No connection was made: the request never reached the Bot API.
            raise NotSentError(f"aiohttp: {error!r}") from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp: {error!r}") from error
