"""glibc's malloc told what to do with freed memory: a training process keeps it (KEEP), a server gives it back.

Each training step allocates and frees the same few megabytes of activations and gradients. glibc's malloc sizes
two thresholds on the fly: blocks above the mmap threshold go straight back to the kernel when freed, and free
memory at the top of the heap above the trim threshold is handed back too. Depending on the order in which the
first steps freed their blocks, a process can settle where every step gives its memory back and the next one
takes it again: each new page is then a page fault, which the kernel fills with zeros. On the 2-core VM that was
0.1-1.2 million faults over the fast recipe's 610 steps, up to 2.6 s of kernel time in one run (bench/NOTES.md
§22). Fixed thresholds above one step's blocks end that: the blocks stay in the heap and are reused.

Only for a process that trains (the CLI, a training worker). A long-running server wants the opposite, GIVE_BACK
(cnnviz_ui.memory.tune_malloc says why). Linux with glibc only; elsewhere (macOS, Windows, musl) nothing changes.
"""
from __future__ import annotations

import ctypes
import platform
import sys

M_TRIM_THRESHOLD = -1   # mallopt's parameter numbers, from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
KEEP = {M_MMAP_THRESHOLD: 32 << 20,    # a training process: blocks below 32 MiB come from the heap (a step's
        M_TRIM_THRESHOLD: 128 << 20}   # largest is ~6 MiB), which keeps up to 128 MiB free at its top
GIVE_BACK = {M_MMAP_THRESHOLD: 128 << 10, M_TRIM_THRESHOLD: 128 << 10,   # a server: blocks above 128 KiB and the
             M_ARENA_MAX: 2}                                            # heap's free top go back; 2 arenas


def set_malloc(settings: dict) -> bool:
    """Apply mallopt's {parameter: value} to this whole process; True when glibc accepted every one, False where
    this is not glibc."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(parameter, value) == 1 for parameter, value in settings.items())


def keep_freed_memory() -> bool:
    """KEEP for this process (one that trains); True when glibc took it."""
    return set_malloc(KEEP)
