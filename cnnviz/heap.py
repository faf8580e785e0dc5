"""Keep the memory a training step frees in the process, for the next step to take again.

Each training step allocates and frees the same few megabytes of activations and gradients. glibc's malloc sizes
two thresholds on the fly: blocks above the mmap threshold go straight back to the kernel when freed, and free
memory at the top of the heap above the trim threshold is handed back too. Depending on the order in which the
first steps freed their blocks, a process can settle where every step gives its memory back and the next one
takes it again: each new page is then a page fault, which the kernel fills with zeros. On the 2-core VM that was
0.1-1.2 million faults over the fast recipe's 610 steps, up to 2.6 s of kernel time in one run (bench/NOTES.md
§22). Fixed thresholds above one step's blocks end that: the blocks stay in the heap and are reused.

Only for a process that trains (the CLI, a training worker): a long-lived server should give memory back.
Linux with glibc only; elsewhere (macOS, Windows, musl) nothing changes.
"""
from __future__ import annotations

import ctypes
import platform
import sys

M_TRIM_THRESHOLD = -1   # mallopt's parameter numbers, from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20    # blocks below 32 MiB come from the heap (a step's largest is ~6 MiB)
TRIM_THRESHOLD = 128 << 20   # the heap keeps up to 128 MiB of free memory at its top


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Fix glibc's two thresholds for this whole process; True when they were set, False where this is not glibc."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, int(mmap_threshold))) and \
        bool(libc.mallopt(M_TRIM_THRESHOLD, int(trim_threshold)))
