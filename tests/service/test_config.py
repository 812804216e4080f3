"""Settings: defaults, parsing, and a friendly message when the token is missing."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.service.config import DEFAULT_DATABASE_URL, ConfigError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [
        "BOT_TOKEN",
        "DATABASE_URL",
        "DEFAULT_TIMEZONE",
        "DEFAULT_DELIVERY_TIME",
        "LOG_LEVEL",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    settings = load_settings()
    assert settings.token == TOKEN
    assert TOKEN not in repr(settings)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.default_timezone == "UTC"
    assert settings.default_delivery_time == time(9, 0)
    assert settings.send_rate_limit == 30


def test_values_are_parsed_forgivingly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DEFAULT_TIMEZONE", "europe/berlin")
    monkeypatch.setenv("DEFAULT_DELIVERY_TIME", "7:30 pm")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.default_timezone == "Europe/Berlin"
    assert settings.default_delivery_time == time(19, 30)
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.log_level == "DEBUG"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BOT_TOKEN={TOKEN}\n", encoding="utf-8")
    assert load_settings().token == TOKEN


def test_missing_token_explains_botfather() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "@BotFather" in message
    assert ".env" in message
    assert "Traceback" not in message


def test_invalid_values_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "not-a-token")
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "BOT_TOKEN" in message
    assert "DEFAULT_TIMEZONE" in message
