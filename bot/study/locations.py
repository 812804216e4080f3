"""Time zone from a shared location, offline (timezonefinder ships its polygons)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timezonefinder import TimezoneFinder


@lru_cache(maxsize=1)
def _finder() -> TimezoneFinder:
    # Imported on the first shared location: it pulls in numpy, which would add
    # a fifth of a second to every start-up.
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(in_memory=False)


def timezone_at(latitude: float, longitude: float) -> str | None:
    """The IANA zone at a point, or None at sea / outside every polygon."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    result = _finder().timezone_at(lng=longitude, lat=latitude)
    return str(result) if result else None
