"""Allocator settings for a long-running classroom server (glibc only; elsewhere nothing changes).

Python frees a departed session's objects, but glibc's defaults keep the freed memory: the threshold above
which a block is mmapped (and so handed back to the OS on free) rises to 32 MB after the first large free,
so later tensors and images are carved from the heap and fragment it; and every new script thread may get
its own arena (up to 8 per core), each keeping its free memory. Fixed thresholds of 128 KB and 2 arenas keep
the server's memory flat as sessions come and go (measured with bench/classroom.py --churn; the numbers
are in bench/NOTES.md).
"""
from __future__ import annotations

import threading

from cnnviz.heap import GIVE_BACK, set_malloc

_lock = threading.Lock()
_applied: bool | None = None


def tune_malloc() -> bool:
    """Apply cnnviz.heap's GIVE_BACK once per process; True when glibc accepted all of them."""
    global _applied
    with _lock:
        if _applied is None:
            _applied = set_malloc(GIVE_BACK)
        return _applied
