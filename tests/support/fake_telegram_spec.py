"""The Bot API specification as the fake server sees it: method lookup and parameter coercion.

The fake must reject what Telegram rejects, or tests pass against a server more forgiving
than production. Parameter names, required flags and types therefore come from the
machine-readable spec (/work/shared/telegram/bot-api.json), never from a hand-written list
that could drift from it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast

__all__ = [
    "SPEC_PATH",
    "ApiError",
    "bad_request",
    "canonical_method",
    "coerce_params",
    "method_fields",
    "spec",
    "utf16_len",
]

SPEC_PATH = Path("/work/shared/telegram/bot-api.json")

JSONDict = dict[str, Any]

_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?\d+(\.\d*)?([eE][-+]?\d+)?")
# What Telegram answers when a required parameter is missing, where it differs from the
# generic "<param> is required".
_MISSING = {"text": "message text is empty", "chat_id": "chat_id is empty"}
_LEGACY_FIELDS: dict[str, list[JSONDict]] = {
    "sendMessage": [
        {"name": "reply_to_message_id", "types": ["Integer"], "required": False},
        {"name": "allow_sending_without_reply", "types": ["Boolean"], "required": False},
        {"name": "disable_web_page_preview", "types": ["Boolean"], "required": False},
    ],
    "editMessageText": [
        {"name": "disable_web_page_preview", "types": ["Boolean"], "required": False},
    ],
}


@dataclass
class ApiError(Exception):
    """A Bot API failure: becomes ``{"ok": false, "error_code", "description", "parameters"}``."""

    status: int
    description: str
    parameters: JSONDict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.description}"

    def payload(self) -> JSONDict:
        """The JSON body Telegram sends for this error."""
        body: JSONDict = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def bad_request(detail: str, **parameters: Any) -> ApiError:
    """A 400 with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {detail}", dict(parameters))


def utf16_len(text: str) -> int:
    """Telegram counts message lengths and entity offsets in UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@cache
def spec() -> JSONDict:
    """The parsed spec, loaded once per test session."""
    return cast(JSONDict, json.loads(SPEC_PATH.read_text(encoding="utf-8")))


@cache
def _methods_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in spec()["methods"]}


def canonical_method(name: str) -> str | None:
    """The spec's spelling of ``name``; Telegram matches method names case-insensitively."""
    return _methods_by_lower_name().get(name.lower())


def method_fields(method: str) -> list[JSONDict]:
    """The spec's parameter list of ``method`` (``name``, ``types``, ``required``).

    Parameters the spec dropped but Telegram still honours (``reply_to_message_id``) are
    appended, since older clients and hand-written requests still send them.
    """
    fields = cast(list[JSONDict], spec()["methods"][method].get("fields", []))
    return fields + _LEGACY_FIELDS.get(method, [])


def coerce_params(method: str, raw: dict[str, Any]) -> JSONDict:
    """Check ``raw`` against the spec and convert values to their declared types.

    ``raw`` mixes strings (query string, form and multipart bodies, where nested objects are
    JSON-encoded strings) and already-typed values (JSON bodies); both are accepted as
    Telegram does. Unknown parameters are dropped, like Telegram ignores them.
    """
    out: JSONDict = {}
    for spec_field in method_fields(method):
        name = spec_field["name"]
        if name not in raw or raw[name] is None:
            if spec_field["required"]:
                raise bad_request(_MISSING.get(name, f"{name} is required"))
            continue
        out[name] = _coerce(name, raw[name], spec_field["types"])
    return out


def _coerce(name: str, value: Any, types: list[str]) -> Any:
    """Try each declared alternative type in order; 400 if none fits."""
    for type_name in types:
        ok, converted = _convert(value, type_name)
        if ok:
            return converted
    if any(_is_object_type(t) for t in types) and isinstance(value, str):
        raise bad_request(f"can't parse {name} JSON object")
    raise bad_request(f'field "{name}" must be of type {" or ".join(types)}')


def _is_object_type(type_name: str) -> bool:
    return type_name.startswith("Array of ") or type_name not in _SCALARS


def _convert(value: Any, type_name: str) -> tuple[bool, Any]:
    """``(True, converted)`` if ``value`` is acceptable as ``type_name``."""
    scalar = _SCALARS.get(type_name)
    if scalar is not None:
        return scalar(value)
    if type_name == "InputFile":
        return True, value
    decoded = _decode_json(value)
    if type_name.startswith("Array of "):
        return isinstance(decoded, list), decoded
    return isinstance(decoded, dict), decoded


def _decode_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None


def _as_integer(value: Any) -> tuple[bool, Any]:
    if isinstance(value, bool):
        return False, None
    if isinstance(value, int):
        return True, value
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        return True, int(value)
    return False, None


def _as_float(value: Any) -> tuple[bool, Any]:
    if isinstance(value, bool):
        return False, None
    if isinstance(value, int | float):
        return True, float(value)
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return True, float(value)
    return False, None


def _as_string(value: Any) -> tuple[bool, Any]:
    return isinstance(value, str), value


def _as_boolean(value: Any) -> tuple[bool, Any]:
    if isinstance(value, bool):
        return True, value
    if isinstance(value, str) and value.lower() in {"true", "1", "false", "0"}:
        return True, value.lower() in {"true", "1"}
    return False, None


_SCALARS = {
    "Integer": _as_integer,
    "Float": _as_float,
    "String": _as_string,
    "Boolean": _as_boolean,
}
