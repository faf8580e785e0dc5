"""Allocator settings for a long-running classroom server (glibc only; elsewhere nothing changes).

With glibc's defaults the server's resident memory crept up by ~0.2 MB per student visit after the
sessions had gone (bench/classroom.py --churn): Python's objects were all freed (tracemalloc was flat), but
glibc kept the freed memory. Two defaults cause that: the threshold above which a block is mmapped (and
so handed back to the OS on free) rises to 32 MB after the first large free, so later tensors and images
are carved from the heap and fragment it; and every new script thread may get its own arena (up to 8 per
core), each keeping its free memory. Fixing the thresholds at 128 KB and allowing 2 arenas made the
churn run flat (+1.7 MB from 10 to 100 visits, and a 20 MB lower baseline); see docs/PERFORMANCE.md.
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
