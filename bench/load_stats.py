"""The load benchmark's measures of the server (bench/load.py, bench/load_follow.py): its CPU time and peak
memory, and percentiles."""
from __future__ import annotations

import asyncio
import contextlib
import statistics

from livetest import descendants, process_stats


def cpu_of(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            out[pid] = process_stats(pid)["cpu_s"]
    return out


async def watch_rss(apps: list[int], peak: dict, stop: asyncio.Event) -> None:
    """The peak resident memory of the app processes together ("server") and with their workers ("total")."""
    while not stop.is_set():
        with contextlib.suppress(OSError):
            peak["server"] = max(peak.get("server", 0.0), sum(process_stats(p)["rss_mb"] for p in apps))
            peak["total"] = max(peak.get("total", 0.0),
                                sum(process_stats(c)["rss_mb"] for p in apps for c in [p, *descendants(p)]))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def pct(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
