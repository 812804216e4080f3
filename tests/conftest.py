"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.database import create_engine, create_sessionmaker
from tests.support.databases import (
    TestDatabase,
    fresh_sqlite,
    postgres_server_url,
    postgres_session_database,
    sqlite_template,
    truncate_all,
)

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forbid connections anywhere but this machine: tests never reach Telegram."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and not (
            host.startswith(("127.", "/")) or host in {"::1", "localhost"}
        ):
            raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str | None]:
    server = postgres_server_url()
    if server is None:
        yield None
        return
    yield from postgres_session_database(server)


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest,
    _sqlite_template: Path,
    _postgres_url: str | None,
    tmp_path: Path,
) -> AsyncIterator[TestDatabase]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        yield fresh_sqlite(_sqlite_template, tmp_path)
        return
    url = _postgres_url
    if url is None:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL (as .ci/run does) to run this variant")
    await truncate_all(url)
    yield TestDatabase(url, "postgresql")


@pytest.fixture
async def engine(database: TestDatabase) -> AsyncIterator[AsyncEngine]:
    created = create_engine(database.url)
    yield created
    await created.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)
