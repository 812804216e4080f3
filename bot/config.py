"""Settings from the environment and ``.env``: the only place that reads them."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/interview-bot.sqlite3"
TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{10,}$")

MISSING_TOKEN_HELP = """\
interview-bot needs a Telegram bot token, and BOT_TOKEN is not set.
Get one in a minute: open Telegram, talk to @BotFather (https://t.me/BotFather), send /newbot,
choose a name and a username, and copy the token it gives you (it looks like
123456789:AAH...). Then put it in a file named .env in this folder, as the line
BOT_TOKEN=123456789:AAH..., or export it in your shell (export BOT_TOKEN=...), and run again."""


class Settings(BaseSettings):
    """Everything configurable; see the README's Configuration table."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = DEFAULT_DATABASE_URL
    content_dir: Path = Path("content")
    data_dir: Path = Path("data")
    default_timezone: str = "UTC"
    default_delivery_time: time = time(9, 0)
    send_rate_limit: Annotated[float, Field(ge=0)] = 30.0
    log_level: str = "INFO"
    dispatch_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    delivery_lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    concurrent_updates: Annotated[int, Field(ge=1, le=1024)] = 64
    broadcast_paid: bool = False

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_PATTERN.match(value.get_secret_value().strip()):
            raise ValueError(
                "BOT_TOKEN does not look like a bot token (expected digits, a colon, then "
                "letters, e.g. 123456789:AAH...); copy it again from @BotFather"
            )
        return SecretStr(value.get_secret_value().strip())

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("TELEGRAM_API_URL must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from bot.domain.schedule import parse_timezone

        return parse_timezone(value)

    @field_validator("default_delivery_time", mode="before")
    @classmethod
    def _parse_time(cls, value: object) -> object:
        from bot.domain.schedule import parse_local_time

        return parse_local_time(value) if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def cache_dir(self) -> Path:
        """Where derived files live (the checked bank); safe to delete."""
        return self.data_dir / "cache"

    @property
    def token(self) -> str:
        return self.bot_token.get_secret_value()


class ConfigError(Exception):
    """Settings are missing or invalid; the message is meant for a person."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into one friendly paragraph."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        missing = [e for e in error.errors() if e["type"] == "missing"]
        if any(e["loc"] == ("bot_token",) for e in missing):
            raise ConfigError(MISSING_TOKEN_HELP) from None
        lines = []
        for item in error.errors():
            name = "_".join(str(part) for part in item["loc"]).upper()
            lines.append(f"{name}: {str(item['msg']).removeprefix('Value error, ')}")
        raise ConfigError("Invalid configuration:\n" + "\n".join(lines)) from None
