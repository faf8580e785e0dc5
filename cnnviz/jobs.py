"""Background training jobs shared by one server: a few at a time, one per user, each in its own process.

Each job trains in a fresh Python process (cnnviz/worker.py, started by exec, never forked from the server
and its threads), so training never competes with the page reruns for the server's interpreter lock. A
small reader thread per job copies what the worker sends into the job; the UI only polls `job.snapshot()`,
a consistent copy of the records so far, which never waits on the worker.

Once `JobManager.warm()` has been called, the manager keeps one standby worker (torch imported, MNIST loaded,
warmed up: cnnviz/standby.py); `start()` hands the next job to it, and the next standby starts once no job is in
its first `refill_after` seconds (loading one takes a core for ~3 s, which the run just started would miss) and
the limit allows.
"""
from __future__ import annotations

import os
import threading
import time

from cnnviz.cpu_share import AUTO
from cnnviz.data import data_root
from cnnviz.job import ACTIVE_STATES, FINISHED_STATES, Job, Snapshot
from cnnviz.standby import Standby, StandbySlot
from cnnviz.worker import DataFiles

REFILL_AFTER_S = 20.0  # no new standby loads while a job is younger than this (its first seconds, on a shared CPU)

__all__ = ["ACTIVE_STATES", "FINISHED_STATES", "DataFiles", "Job", "JobLimitError", "JobManager", "Snapshot",
           "Standby"]


class JobLimitError(RuntimeError):
    """The server is already running as many training jobs as it allows."""


class JobManager:
    """All training jobs of one server. Thread-safe; at most `max_jobs` train at once, one job per owner."""

    def __init__(self, max_jobs: int = 2, stale_after: float = 30 * 60, threads: int | str = 1, nice: int = 0,
                 data_root: str | os.PathLike | None = None, refill_after: float = REFILL_AFTER_S):
        if threads != AUTO and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a whole number >= 1 or {AUTO!r}, got {threads!r}")
        self.max_jobs = max_jobs
        self.threads = threads            # torch threads per job, or "auto" (cnnviz.cpu_share)
        self.refill_after = refill_after  # seconds a new job trains before the next standby may start loading
        self.nice = nice                  # added to each worker's niceness (0-19; higher = lower CPU priority)
        self.stale_after = stale_after    # seconds without a poll before a job is stopped and released
        self.data_root = data_root        # where workers read DataFiles without a root (None: cnnviz.data's default)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slot = StandbySlot()        # the standby worker, once warm() has asked for one

    def start(self, owner: str, config, train, test) -> Job:
        """Start a job for `owner`; their finished job is replaced, an active one is returned as is.
        `train` and `test` are Splits (sent to the worker) or DataFiles (read by the worker, or already read by
        the standby). The job runs in the standby worker when there is one (see warm()), else in a new one."""
        train, test = self._located(train), self._located(test)
        with self._lock:
            self._reap()
            current = self._jobs.get(owner)
            if current is not None and current.active:
                return current
            running = sum(job.active for job in self._jobs.values())
            if running >= self.max_jobs:
                raise JobLimitError(f"the server is already training {running} models (its limit is "
                                    f"{self.max_jobs}); try again when one has finished, or watch the "
                                    "recorded run meanwhile")
            job = Job(owner, config, train, test, threads=self.threads, nice=self.nice)
            job.begin(self._slot.take())  # may raise (no Python to start): then no job is registered
            self._jobs[owner] = job
            self._prepare_standby()
            return job

    def warm(self, dataset: str = "mnist") -> None:
        """Keep a standby worker (torch imported, `dataset` loaded from this server's data root, warmed up) for
        the next start(). Cheap and safe to call on every rerun of a page that may start a run; a standby that
        no call has wanted for `stale_after` seconds is ended."""
        files = tuple(self._located(DataFiles(split, None, dataset)) for split in ("train", "test"))
        with self._lock:
            self._slot.want(files)
            self._reap()
            self._prepare_standby()
            self._slot.touch()

    @property
    def standby_pid(self) -> int | None:
        """The process id of the standby worker, None when there is none."""
        with self._lock:
            return self._slot.pid

    def standby_ready(self) -> bool:
        """Whether a standby worker has loaded the data and warmed up (a job handed to it starts at once)."""
        with self._lock:
            return self._slot.ready()

    def _prepare_standby(self) -> None:
        """Start a standby when warm() asked for one, there is none alive, one more job fits the limit and no job
        is in its first `refill_after` seconds."""
        active = [job for job in self._jobs.values() if job.active]
        if any(time.monotonic() - job.started < self.refill_after for job in active):
            return
        self._slot.fill(len(active) < self.max_jobs, self.threads, self.nice)

    def _located(self, split):
        """DataFiles without a root get this server's root, so the worker reads what the server would."""
        if isinstance(split, DataFiles) and split.root is None:
            return DataFiles(split.split, str(data_root(self.data_root).resolve()), split.dataset)
        return split

    def get(self, owner: str) -> Job | None:
        with self._lock:
            self._reap()
            return self._jobs.get(owner)

    def shutdown(self) -> None:
        """End every worker now, the standby too (what happens to all workers when the server exits); a later
        warm() prepares a new standby."""
        with self._lock:
            jobs, standby = list(self._jobs.values()), self._slot.clear()
        for job in jobs:
            job.terminate()
        if standby is not None:
            standby.terminate()

    def _reap(self) -> None:
        now = time.monotonic()
        for owner, job in list(self._jobs.items()):
            if now - job.last_poll > self.stale_after:
                job.stop()
                del self._jobs[owner]
        self._slot.end_if_stale(now, self.stale_after)
