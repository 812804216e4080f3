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
    default_timezone: str = "UTC"
    default_delivery_time: time = time(9, 0)
    send_rate_limit: Annotated[float, Field(ge=0)] = 30.0
    log_level: str = "INFO"
    dispatch_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    delivery_lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    # The optional model grader of typed answers (bot/llm_grader.py): all three or none.
    llm_api_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_daily_limit: Annotated[int, Field(ge=0)] = 20
    llm_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 15.0

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

    @field_validator("llm_api_url", "llm_model", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def token(self) -> str:
        return self.bot_token.get_secret_value()

    @property
    def llm_enabled(self) -> bool:
        """The model grader is configured: URL, key and model all set."""
        key = self.llm_api_key.get_secret_value() if self.llm_api_key else ""
        return bool(self.llm_api_url and key and self.llm_model)

    @property
    def secrets(self) -> list[str]:
        """Every value the logs must never show (see bot.logging_setup)."""
        values = [self.token]
        if self.llm_api_key is not None and self.llm_api_key.get_secret_value():
            values.append(self.llm_api_key.get_secret_value())
        return values


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
