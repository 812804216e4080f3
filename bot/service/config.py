"""Settings from the environment and ``.env``: the only place that reads them."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.telegram.limits import MESSAGES_PER_SECOND

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/interview-bot.sqlite3"
TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{10,}$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
DEFAULT_HTTP_LISTEN = "0.0.0.0:8080"

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
    send_rate_limit: Annotated[float, Field(ge=0)] = float(MESSAGES_PER_SECOND)
    log_level: str = "INFO"
    dispatch_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    delivery_lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    concurrent_updates: Annotated[int, Field(ge=1, le=1024)] = 64
    database_pool_size: Annotated[int, Field(ge=1, le=1000)] = 10
    broadcast_paid: bool = False
    stats_picture_share: Annotated[float, Field(gt=0, le=1)] = 0.25
    # Deliveries that never reached a chat are pruned after this many days; 0 keeps them
    # (README "History and retention").
    history_retention_days: Annotated[int, Field(ge=0)] = 0
    # Running as a service (README "Running in production").
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # A webhook update claimed but neither handled nor renewed for this long is taken
    # over by Telegram's next delivery of it (bot/storage/processed_updates.py).
    webhook_claim_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    http_listen: str | None = None
    log_format: str = "text"
    # The optional model grader of typed answers (bot/study/model_grader.py): all three or none.
    llm_api_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_daily_limit: Annotated[int, Field(ge=0)] = 20
    llm_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 15.0
    # Model answers and formula/code questions as rich messages (Bot API 10.1), with
    # today's HTML as the fallback (bot/telegram/rich_messages.py).
    rich_messages: Literal["auto", "on", "off"] = "auto"
    # Processes that read uploaded deck files (bot/service/deck_parser.py); 0 reads them
    # in a thread of the bot's process (seconds of CPU that other replies wait behind).
    deck_parse_workers: Annotated[int, Field(ge=0, le=8)] = 1
    # Seconds after start-up before the answers and the picture library are warmed in the
    # background (bot/study/warm_up.py); 0: never (they warm on first use).
    warm_up_after_seconds: Annotated[float, Field(ge=0, le=3600)] = 1.0

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

    @field_validator("webhook_url", "http_listen", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlsplit(value.strip())
        if parsed.scheme != "https" or not parsed.hostname:
            raise ValueError(
                "WEBHOOK_URL must be the public https:// URL Telegram calls, "
                "e.g. https://bot.example.com/telegram"
            )
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError(
                "must be 1-256 characters of A-Z, a-z, 0-9, _ and - "
                "(e.g. the output of: openssl rand -hex 32)"
            )
        return value

    @field_validator("http_listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    @field_validator("rich_messages", mode="before")
    @classmethod
    def _rich_mode(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower() or "auto"
            if value not in {"auto", "on", "off"}:
                raise ValueError("RICH_MESSAGES must be auto, on or off")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in {"text", "json"}:
            raise ValueError("LOG_FORMAT must be text or json")
        return value.lower()

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_SECRET is required with WEBHOOK_URL: 1-256 characters of "
                "A-Z, a-z, 0-9, _ and - (e.g. the output of: openssl rand -hex 32)"
            )
        return self

    @property
    def cache_dir(self) -> Path:
        """Where derived files live (the checked bank); safe to delete."""
        return self.data_dir / "cache"

    @field_validator("llm_api_url", "llm_model", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def token(self) -> str:
        return self.bot_token.get_secret_value()

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    @property
    def listen_address(self) -> tuple[str, int] | None:
        """Where the HTTP server listens: always in webhook mode, else only when set."""
        if self.http_listen is not None:
            return parse_listen(self.http_listen)
        return parse_listen(DEFAULT_HTTP_LISTEN) if self.webhook_mode else None

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, which the HTTP server serves updates on."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def llm_enabled(self) -> bool:
        """The model grader is configured: URL, key and model all set."""
        key = self.llm_api_key.get_secret_value() if self.llm_api_key else ""
        return bool(self.llm_api_url and key and self.llm_model)

    @property
    def secrets(self) -> list[str]:
        """Every value that must never reach a log line (see bot.service.logs.setup)."""
        values = [self.token]
        for secret in (self.webhook_secret, self.llm_api_key):
            if secret is not None and secret.get_secret_value():
                values.append(secret.get_secret_value())
        return values


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8080`` for IPv6) as a (host, port) pair."""
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"HTTP_LISTEN must be host:port, e.g. 0.0.0.0:8080 (got {value!r})")
    return host, int(port)


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
            message = str(item["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message}" if name else message)
        raise ConfigError("Invalid configuration:\n" + "\n".join(lines)) from None
