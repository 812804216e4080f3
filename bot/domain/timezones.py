"""Turning what a user types into an IANA time-zone key.

People answer "what is your time zone?" with "Berlin", "europe/berlin",
"new york", "UTC+3" or "EST". This module maps all of those onto a canonical
key of the system tz database (``zoneinfo.available_timezones()``), so the rest
of the bot only ever stores keys that :class:`zoneinfo.ZoneInfo` accepts.

Nothing here raises: functions return ``None`` (or an empty list) when they
cannot help, and :func:`bot.domain.schedule.parse_timezone` turns that into a
friendly error. Fixed offsets become IANA zones too, because a bare offset
cannot be stored as a key: whole hours map to ``Etc/GMT±N`` (whose sign is
inverted by POSIX convention: UTC+3 is ``Etc/GMT-3``) and the few fractional
offsets that exist somewhere map to a representative zone whose *standard*
offset it is.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from zoneinfo import available_timezones

# Keys that are not real places or that depend on the host ("localtime").
_EXCLUDED_KEYS = frozenset({"localtime", "Factory", "posixrules"})

# Top-level areas whose last path component is a city (or island) name; the
# legacy areas ("US/", "Canada/", "Etc/"…) are excluded from city shortcuts so
# that "pacific" is not a city and "gmt+3" is never read as ``Etc/GMT+3``.
_CITY_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)

# Cities listed under two keys where the deeper key is not the canonical one.
_CITY_OVERRIDES = {
    "istanbul": "Europe/Istanbul",
    "nicosia": "Asia/Nicosia",
}

# Words people type instead of a zone. The US abbreviations map to the zone
# with daylight saving time because "EST" in conversation means "New York
# time"; the tz database's own ``EST`` key is a fixed UTC-5 all year.
_ALIASES = {
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "zulu": "UTC",
    "est": "America/New_York",
    "edt": "America/New_York",
    "et": "America/New_York",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "ct": "America/Chicago",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "mt": "America/Denver",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pt": "America/Los_Angeles",
    "akst": "America/Anchorage",
    "akdt": "America/Anchorage",
    "hst": "Pacific/Honolulu",
}

# Representative zones for the non-whole-hour *standard* offsets in use
# (minutes east of UTC). Pinned by a test that checks each zone's standard
# offset, so a tz database change cannot silently make this table lie.
FRACTIONAL_OFFSET_ZONES: dict[int, str] = {
    -570: "Pacific/Marquesas",
    -210: "America/St_Johns",
    210: "Asia/Tehran",
    270: "Asia/Kabul",
    330: "Asia/Kolkata",
    345: "Asia/Kathmandu",
    390: "Asia/Yangon",
    525: "Australia/Eucla",
    570: "Australia/Darwin",
    630: "Australia/Lord_Howe",
    765: "Pacific/Chatham",
}

_OFFSET_RE = re.compile(
    r"^(?:(?:utc|gmt)\s*)?(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?:(?::|h)?(?P<minutes>\d{2}))?$"
)
_SEPARATORS_RE = re.compile(r"[\s_-]+")
_SLASH_RE = re.compile(r"\s*/\s*")


def normalize(text: str) -> str:
    """Lower-case, unify separators: "New York" == "new_york" == "New-York".

    ``+`` is kept, so ``Etc/GMT+3`` and ``Etc/GMT-3`` stay distinct (their
    ``-`` becomes ``_`` on both sides of every comparison).
    """
    text = _SLASH_RE.sub("/", text.strip().lower().replace("\u2212", "-"))
    return _SEPARATORS_RE.sub("_", text)


def parse_offset(text: str) -> int | None:
    """Minutes east of UTC for "UTC+3", "UTC-5:30", "GMT+5:45", "+05:30"…

    Returns ``None`` when ``text`` is not shaped like an offset at all. The
    value is returned even when it is out of range (``UTC+15``), so the caller
    can say *why* it is rejected; :func:`zone_for_offset` decides that.
    """
    cleaned = text.strip().lower().replace("\u2212", "-")
    match = _OFFSET_RE.match(cleaned)
    if match is None:
        return None
    hours = int(match["hours"])
    minutes = int(match["minutes"] or 0)
    if minutes >= 60:
        return None
    total = hours * 60 + minutes
    return total if match["sign"] == "+" else -total


def zone_for_offset(minutes: int) -> str | None:
    """An IANA key whose standard offset is ``minutes`` east of UTC, or None.

    0 is ``UTC``; whole hours from -12 to +14 are ``Etc/GMT∓N`` (fixed all
    year); fractional offsets come from :data:`FRACTIONAL_OFFSET_ZONES`.
    """
    if minutes == 0:
        return "UTC"
    if minutes % 60 == 0:
        hours = minutes // 60
        if -12 <= hours <= 14:
            return f"Etc/GMT{-hours:+d}"
        return None
    return FRACTIONAL_OFFSET_ZONES.get(minutes)


@cache
def _key_index() -> dict[str, str]:
    """normalized full key -> key, for every usable zone."""
    return {normalize(key): key for key in sorted(available_timezones() - _EXCLUDED_KEYS)}


@cache
def _city_index() -> dict[str, str]:
    """normalized last path component -> key, for zones in real areas.

    When two keys share a city (``America/Buenos_Aires`` is a backward link to
    ``America/Argentina/Buenos_Aires``) the deeper key wins: in the tz database
    the three-level names are the canonical ones.
    """
    candidates: dict[str, list[str]] = {}
    for key in sorted(available_timezones() - _EXCLUDED_KEYS):
        area, _, rest = key.partition("/")
        if area in _CITY_AREAS and rest:
            candidates.setdefault(normalize(key.rsplit("/", 1)[-1]), []).append(key)
    index = {
        city: max(keys, key=lambda key: (key.count("/"), key)) for city, keys in candidates.items()
    }
    for city, key in _CITY_OVERRIDES.items():
        if city in index:
            index[city] = key
    return index


def lookup_zone(text: str) -> str | None:
    """The canonical key for a zone name, city or alias; None if unknown.

    Order: aliases ("UTC", "EST"…), then a case- and separator-insensitive
    match on full keys ("europe/berlin"), then the city part alone ("berlin",
    "new york"). Fixed offsets are handled by :func:`parse_offset`.
    """
    needle = normalize(text)
    if not needle:
        return None
    if needle in _ALIASES:
        return _ALIASES[needle]
    return _key_index().get(needle) or _city_index().get(needle)


def suggest_zones(text: str, limit: int = 3) -> list[str]:
    """Up to ``limit`` keys whose name or city part is close to ``text``.

    Uses :func:`difflib.get_close_matches` over normalized city names and
    full keys of real areas, best match first, without duplicates.
    """
    needle = normalize(text)
    if not needle:
        return []
    choices: dict[str, str] = {}
    for normalized_key, key in _key_index().items():
        if key.partition("/")[0] in _CITY_AREAS:
            choices[normalized_key] = key
    choices.update(_city_index())
    suggestions: list[str] = []
    for match in difflib.get_close_matches(needle, list(choices), n=limit * 4, cutoff=0.6):
        key = choices[match]
        if key not in suggestions:
            suggestions.append(key)
        if len(suggestions) == limit:
            break
    return suggestions


def format_offset(minutes: int) -> str:
    """``330`` -> ``"UTC+05:30"``: how offsets are shown back to users."""
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"
