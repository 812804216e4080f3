"""What every recorded benchmark says about the machine it ran on.

The two cores are a shared virtual machine's, so a figure means little without the
processor, the load when the run started and how fast the host was at the time.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from pathlib import Path


def machine() -> str:
    """The processor's model name (from ``/proc/cpuinfo`` where there is one), cores,
    Python and the operating system."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def speed_probe() -> float:
    """CPU seconds of a fixed piece of pure Python (five million additions).

    The two cores are a virtual machine's: when its host is busy, the same work takes
    longer and every figure moves with it. On 2026-12-05 the same loop run at module
    level took 0.39-0.42 s at 18:20 UTC and 0.54-0.64 s at 19:00 (this function then:
    0.17-0.21 s), and the same bursts' CPU per update moved by up to 1.8 times. Recorded
    beside the load average, so runs are compared at a like speed (lower is faster).
    """
    started = time.process_time()
    total = 0
    for number in range(5_000_000):
        total += number
    return time.process_time() - started
