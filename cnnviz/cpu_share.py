"""How many threads a training worker may use: the cores the rest of the machine leaves idle, asked again as it trains.

On an idle two-core machine two threads train this network about 1.5x faster than one; beside a busy server two
OpenMP threads wait on each other whenever one is preempted, and train slower than one (bench/NOTES.md §12). So a
worker whose threads are "auto" measures, every RECHECK_S of training, how many cores everything else on the
machine kept busy, and trains on the ones left (at least one, at most `most`).

The measure: the machine's busy CPU time (Linux's /proc/stat) minus this process's own, over the wall time between
two asks. Where /proc/stat cannot be read, the worker keeps one thread (the safe choice on a shared server). In a
container /proc/stat counts the whole host: a busy host then gives one thread, and a container's CPU quota caps
the cores counted (`usable_cores`).
"""
from __future__ import annotations

import math
import os
import time

AUTO = "auto"        # the threads setting that asks this module
RECHECK_S = 0.5      # a worker asks again after this much training time
MIN_WINDOW_S = 0.1   # a shorter window says too little: one thread until the next ask
MOST = 4             # "auto" never takes more threads than this (this network gains little beyond)
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100   # /proc/stat counts in these per second


def usable_cores(cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """The cores this process may use: its affinity (else the machine's count), and no more than a container's
    CPU quota (cgroup v2's cpu.max, e.g. "200000 100000" = 2 cores) where one is set."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        with open(cpu_max) as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def threads_setting(text) -> int | str:
    """A threads setting read from text (an environment variable, a command-line flag): AUTO or a whole number
    >= 1; ValueError otherwise."""
    value = str(text).strip().lower()
    if value == AUTO:
        return AUTO
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise ValueError(f"threads must be {AUTO!r} or a whole number >= 1, got {text!r}")


def most_threads() -> int:
    """The most threads an "auto" worker may take on this machine."""
    return min(usable_cores(), MOST)


def thread_pool_size(threads: int | str) -> int:
    """The size of a worker's thread pool for a `threads` setting (a number, or AUTO)."""
    return most_threads() if threads == AUTO else int(threads)


def spare_threads(cores: int, others_busy: float, most: int) -> int:
    """Threads for a worker when everything else keeps `others_busy` cores busy (a mean over the last window):
    the idle cores, a half-idle core counted as idle, at least 1 and at most `most`."""
    return max(1, min(most, int(cores - others_busy + 0.5)))


def machine_busy_seconds(path: str = "/proc/stat") -> float | None:
    """CPU seconds all cores have spent busy since boot (the aggregate "cpu" line less idle and iowait);
    None where the file cannot be read or parsed."""
    try:
        with open(path) as f:
            fields = f.readline().split()
        ticks = [int(v) for v in fields[1:]]
    except (OSError, ValueError):
        return None
    if not fields or fields[0] != "cpu" or len(ticks) < 5:
        return None
    total = sum(ticks[:8])              # user nice system idle iowait irq softirq steal (guest is inside user)
    return (total - ticks[3] - ticks[4]) / _TICKS


class IdleCores:
    """Asks, each time `threads()` is called, how many cores the rest of the machine left idle since the last call.

    `busy` (machine CPU seconds), `own` (this process's CPU seconds) and `clock` (wall seconds) are injectable
    for tests; the defaults read /proc/stat, time.process_time and time.monotonic."""

    def __init__(self, most: int, cores: int | None = None, busy=machine_busy_seconds, own=time.process_time,
                 clock=time.monotonic):
        self.most, self.cores = max(1, most), cores or usable_cores()
        self._busy, self._own, self._clock = busy, own, clock
        self._last = self._sample()

    def _sample(self):
        return self._busy(), self._own(), self._clock()

    def threads(self) -> int:
        """Threads for the coming window: `spare_threads` of what others used since the last call (1 when the
        machine's CPU time cannot be read, or under MIN_WINDOW_S has passed)."""
        now = self._sample()
        (busy0, own0, t0), (busy1, own1, t1) = self._last, now
        self._last = now
        if busy0 is None or busy1 is None or t1 - t0 < MIN_WINDOW_S:
            return 1
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (t1 - t0)   # cores busy with other work
        return spare_threads(self.cores, others, self.most)
