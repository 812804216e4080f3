"""One traceback per distinct failure of a periodic run, not one per run.

A bug that fails every run of a periodic job (a missing table, a broken query) would
otherwise log the same traceback every ``DISPATCH_INTERVAL_SECONDS``, on every instance.
An outage is not logged here: ``DatabaseStatus`` says it once (bot/service/db_outage.py).
Used by the dispatcher's tick and the notices sender (bot/app.py, bot/jobs/notices.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.service import db_outage

if TYPE_CHECKING:
    from bot.service.context import Services

log = logging.getLogger(__name__)


class RepeatedFailures:
    """What a periodic run (``what``, e.g. "dispatcher tick") last failed with."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._last: str | None = None
        self._repeats = 0

    def failed(self, error: BaseException, services: Services) -> None:
        if db_outage.is_unavailable(error):
            db_outage.status_of(services.engine).failed(error)
            return
        key = f"{type(error).__name__}: {error}"
        if key == self._last:
            self._repeats += 1
            return
        self._last, self._repeats = key, 0
        log.error("%s failed; the next run tries again", self.what, exc_info=error)

    def succeeded(self) -> None:
        if self._last is not None:
            log.warning("%s works again (%d more failed runs)", self.what, self._repeats)
            self._last, self._repeats = None, 0
