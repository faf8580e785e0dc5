"""Allocator settings for a long-running classroom server (glibc only; elsewhere nothing changes).

Python frees a departed session's objects, but glibc's defaults keep the freed memory: the threshold above
which a block is mmapped (and so handed back to the OS on free) rises to 32 MB after the first large free,
so later tensors and images are carved from the heap and fragment it; and every new script thread may get
its own arena (up to 8 per core), each keeping its free memory. Fixed thresholds of 128 KB and 2 arenas keep
the server's memory flat as sessions come and go (measured with bench/classroom.py --churn; the numbers
are in bench/NOTES.md).
"""
from __future__ import annotations

import ctypes
import platform
import threading

M_TRIM_THRESHOLD = -1   # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
SETTINGS = {M_MMAP_THRESHOLD: 128 * 1024, M_TRIM_THRESHOLD: 128 * 1024, M_ARENA_MAX: 2}

_lock = threading.Lock()
_applied: bool | None = None


def tune_malloc() -> bool:
    """Apply SETTINGS once per process; True when glibc accepted all of them."""
    global _applied
    with _lock:
        if _applied is None:
            _applied = False
            if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
                try:
                    mallopt = ctypes.CDLL(None).mallopt
                    _applied = all(mallopt(param, value) == 1 for param, value in SETTINGS.items())
                except (OSError, AttributeError):
                    _applied = False
        return _applied
