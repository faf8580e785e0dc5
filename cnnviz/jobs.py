"""Background training jobs shared by one server: a few at a time, one per user, each in its own thread.

The UI never touches a Trainer directly: it starts a job, then polls `job.snapshot()`, a consistent
copy of the records so far. Only the job's thread steps the trainer and writes its state.
"""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from cnnviz.model import leaf_layers
from cnnviz.train import Trainer

ACTIVE_STATES = ("starting", "running", "paused")
FINISHED_STATES = ("done", "stopped", "failed")


class JobLimitError(RuntimeError):
    """The server is already running as many training jobs as it allows."""


@dataclass(frozen=True)
class Snapshot:
    state: str                      # starting | running | paused | done | stopped | failed
    records: list                   # StepRecords so far (a copy)
    epochs: list                    # per-epoch records so far (a copy)
    step: int
    total_steps: int
    active_seconds: float           # time spent stepping (pauses excluded)
    first_filters: torch.Tensor | None  # [C, in, k, k] copy of the first conv layer's weights
    error: str | None = None

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if not self.step or not self.total_steps:
            return None
        return self.active_seconds / self.step * max(0, self.total_steps - self.step)


@dataclass(eq=False)
class Job:
    owner: str
    config: object
    train: object
    test: object
    filters_every: int = 10
    threads: int = 1                  # torch intra-op threads of this job's thread (a shared server: keep it small)
    state: str = "starting"
    error: str | None = None
    last_poll: float = field(default_factory=time.monotonic)
    _records: list = field(default_factory=list)
    _epochs: list = field(default_factory=list)
    _total_steps: int = 0
    _active: float = 0.0
    _filters: torch.Tensor | None = None
    _trainer: Trainer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _resume: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def begin(self) -> None:
        self._resume.set()
        self._thread = threading.Thread(target=self._run, name=f"train-{self.owner[:8]}", daemon=True)
        self._thread.start()

    # -- the training thread ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            torch.set_num_threads(self.threads)
            trainer = Trainer(self.config, self.train, self.test)
            with self._lock:
                self._trainer, self._total_steps = trainer, int(trainer.total_steps)
                self._filters = _first_filters(trainer.model)
                if self.state == "starting":
                    self.state = "running"
            step = 0
            while not self._stop.is_set():
                if not self._resume.wait(timeout=0.1):
                    continue
                t0 = time.perf_counter()
                record = trainer.step()
                spent = time.perf_counter() - t0
                if record is None:
                    break
                step += 1
                with self._lock:
                    self._records.append(record)
                    self._active += spent
                    if len(trainer.epochs) != len(self._epochs):
                        self._epochs = [dict(e) if isinstance(e, dict) else e for e in trainer.epochs]
                    if step % self.filters_every == 0:
                        self._filters = _first_filters(trainer.model)
            if self._stop.is_set():
                trainer.stop()
            trainer.model.eval()
            with self._lock:
                self._epochs = [dict(e) if isinstance(e, dict) else e for e in trainer.epochs]
                self._filters = _first_filters(trainer.model)
                self.state = "stopped" if self._stop.is_set() else "done"
        except Exception as exc:  # reported to the user through the snapshot, never raised into the server
            with self._lock:
                self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"

    # -- called from the UI ----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """A consistent copy of everything the page draws; also marks the job as watched."""
        with self._lock:
            self.last_poll = time.monotonic()
            return Snapshot(self.state, list(self._records), list(self._epochs),
                            len(self._records), self._total_steps, self._active,
                            None if self._filters is None else self._filters.clone(), self.error)

    def pause(self) -> None:
        with self._lock:
            if self.state in ("starting", "running"):
                self._resume.clear()
                self.state = "paused"

    def resume(self) -> None:
        with self._lock:
            if self.state == "paused":
                self.state = "running" if self._trainer is not None else "starting"
                self._resume.set()

    def stop(self) -> None:
        """Stop after the current step (safe mid-epoch); the model so far is kept."""
        self._stop.set()
        self._resume.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def copy_model(self) -> nn.Module:
        """A private copy of the trained model (eval mode, no gradients) once the job has finished."""
        with self._lock:
            if self.state not in ("done", "stopped") or self._trainer is None:
                raise ValueError(f"the job is {self.state}; only a finished or stopped run can be used")
            model = copy.deepcopy(self._trainer.model).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model

    def metadata(self) -> dict:
        """The trainer's metadata (config, metrics, history) for a checkpoint of the finished run."""
        with self._lock:
            if self._trainer is None or self.state in ACTIVE_STATES:
                raise ValueError(f"the job is {self.state}; metadata is available once it has finished")
            return self._trainer.metadata()


def _first_filters(model: nn.Module) -> torch.Tensor | None:
    for _, module in leaf_layers(model):
        if isinstance(module, nn.Conv2d):
            return module.weight.detach().clone()  # [C, in, k, k]
    return None


class JobManager:
    """All training jobs of one server. Thread-safe; at most `max_jobs` train at once, one job per owner."""

    def __init__(self, max_jobs: int = 2, stale_after: float = 30 * 60, threads: int = 1):
        self.max_jobs = max_jobs
        self.threads = threads            # torch threads per job
        self.stale_after = stale_after    # seconds without a poll before a job is stopped and released
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, owner: str, config, train, test) -> Job:
        """Start a job for `owner`; their finished job is replaced, an active one is returned as is."""
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
            job = Job(owner, config, train, test, threads=self.threads)
            self._jobs[owner] = job
            job.begin()
            return job

    def get(self, owner: str) -> Job | None:
        with self._lock:
            self._reap()
            return self._jobs.get(owner)

    def release(self, owner: str) -> None:
        """Stop (if needed) and forget the owner's job."""
        with self._lock:
            job = self._jobs.pop(owner, None)
        if job is not None:
            job.stop()

    def active_count(self) -> int:
        with self._lock:
            return sum(job.active for job in self._jobs.values())

    def _reap(self) -> None:
        now = time.monotonic()
        for owner, job in list(self._jobs.items()):
            if now - job.last_poll > self.stale_after:
                job.stop()
                del self._jobs[owner]
