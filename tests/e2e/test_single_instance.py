"""A second ``interview-bot run`` on the same SQLite file is refused; PostgreSQL is for scaling."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.support.bot_harness import TOKEN, small_bank, write_bank
from tests.support.bot_process import start_bot
from tests.support.fake_telegram import FakeTelegram


async def test_second_process_on_one_sqlite_database_is_refused(tmp_path: Path) -> None:
    content = write_bank(small_bank(), tmp_path / "content")
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    async with FakeTelegram(token=TOKEN) as tg:
        with first_log.open("ab") as log:
            first = await start_bot(tg, url, content, log)
        try:
            await tg.wait_for(lambda: bool(tg.calls("getUpdates")), timeout=60, what="polling")
            with second_log.open("ab") as log:
                second = await start_bot(tg, url, content, log)
                async with asyncio.timeout(60):
                    await second.wait()
            assert second.returncode == 2
            assert first.returncode is None, "the first process keeps running"
        finally:
            first.send_signal(signal.SIGTERM)
            await first.wait()
    output = second_log.read_text(encoding="utf-8")
    assert "Another interview-bot process is already running on the SQLite database" in output
    assert "SQLite is for one process" in output
    assert "Traceback" not in output
    assert first.returncode == 0
