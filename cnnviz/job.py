"""One background training job: its worker process (cnnviz/worker.py), the reader thread that copies what the
worker sends, and `snapshot()`, the consistent copy of its records the UI polls. `cnnviz.jobs.JobManager` starts
and keeps them, a few per server."""
from __future__ import annotations

import atexit
import pickle
import signal
import subprocess
import threading
import time
import weakref
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import torch
from torch import nn

from cnnviz.model import DigitCNN, ModelConfig
from cnnviz.snapshots import Snapshots
from cnnviz.standby import EXIT_WAIT_S, Standby
from cnnviz.worker import exit_reason, launch, receive, send

ACTIVE_STATES = ("starting", "running", "paused")
FINISHED_STATES = ("done", "stopped", "failed")
_LIVE: weakref.WeakSet = weakref.WeakSet()  # jobs whose worker may still run: terminated when the server exits


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
    device: str | None = None       # where the worker trains (cnnviz.device picks it), once it is ready

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
    config: object                    # a TrainConfig (sent to the worker as its dict)
    train: object                     # a Split (sent by value) or DataFiles (read by the worker)
    test: object
    filters_every: int = 10
    threads: int | str = 1            # torch threads of this job's worker, or "auto": the cores the rest of the
                                      # machine leaves idle, asked again as it trains (cnnviz.cpu_share)
    nice: int = 0                     # the worker's niceness: > 0 lets the server's page reruns go first
    state: str = "starting"
    error: str | None = None
    device: str | None = None
    pid: int | None = None            # the worker's process id
    last_poll: float = field(default_factory=time.monotonic)
    started: float = field(default_factory=time.monotonic)
    _records: list = field(default_factory=list)
    _epochs: list = field(default_factory=list)
    _total_steps: int = 0
    _active: float = 0.0
    _filters: torch.Tensor | None = None
    _result: dict | None = None       # the worker's final message: weights, model config, metadata
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _send_lock: threading.Lock = field(default_factory=threading.Lock)
    _job_sent: bool = False           # until the worker has its job, orders wait in _held (else "stop" is its job)
    _held: list = field(default_factory=list)
    _conn: Connection | None = None
    _process: subprocess.Popen | None = None
    _reader: threading.Thread | None = None

    def begin(self, standby: "Standby | None" = None) -> None:
        """Start the worker process (or take over a standby one) and the thread that reads it."""
        self._process, self._conn = (standby.process, standby.conn) if standby else launch(self.threads)
        self.pid = self._process.pid
        _LIVE.add(self)
        self._reader = threading.Thread(target=self._read, name=f"train-{self.owner[:8]}", daemon=True)
        self._reader.start()

    # -- the reader thread ------------------------------------------------------------------------
    def _read(self) -> None:
        try:
            with self._send_lock:  # sent here, not in begin(): a Split sent by value may be large
                config = self.config.to_dict() if hasattr(self.config, "to_dict") else self.config
                send(self._conn, {"config": config, "train": self.train, "test": self.test,
                                  "threads": self.threads, "nice": self.nice, "filters_every": self.filters_every})
                with self._lock:
                    held, self._held, self._job_sent = self._held, [], True
                for order in held:  # still under the send lock: a newer order cannot overtake them
                    send(self._conn, order)
            while True:
                self._apply(receive(self._conn))
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        try:
            code = self._process.wait(EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        self._conn.close()
        _LIVE.discard(self)
        with self._lock:
            if self.state in ACTIVE_STATES:
                self.state, self.error = "failed", exit_reason(code)

    def _apply(self, message: tuple) -> None:
        kind, *body = message
        with self._lock:
            if kind == "ready":
                info = body[0]
                self._total_steps, self._filters, self.device = info["total_steps"], info["filters"], info["device"]
                if self.state == "starting":
                    self.state = "running"
            elif kind == "step":
                record, spent, epochs, filters = body
                self._records.append(record)
                self._active += spent
                self._epochs = self._epochs if epochs is None else epochs
                self._filters = self._filters if filters is None else filters
            elif kind == "end":
                result = body[0]
                self._epochs, self._filters, self._result = result["epochs"], result["filters"], result
                self.state = result["state"]
            elif kind == "failed":
                self.state, self.error = "failed", body[0]
            # ("standby", info): the worker was a standby that finished warming up after it was handed this job

    # -- called from the UI ----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """A consistent copy of everything the page draws; also marks the job as watched."""
        with self._lock:
            self.last_poll = time.monotonic()
            return Snapshot(self.state, list(self._records), list(self._epochs),
                            len(self._records), self._total_steps, self._active,
                            None if self._filters is None else self._filters.clone(), self.error, self.device)

    def _order(self, order: str) -> None:
        """Send an order, or hold it until the reader has sent the job (the UI never waits for that send)."""
        with self._lock:
            if not self._job_sent:
                self._held.append(order)
                return
        try:
            with self._send_lock:
                send(self._conn, order)
        except (OSError, ValueError):  # the worker has already finished or died: the reader says so
            pass

    def pause(self) -> None:
        with self._lock:
            if self.state not in ("starting", "running"):
                return
            self.state = "paused"
        self._order("pause")

    def resume(self) -> None:
        with self._lock:
            if self.state != "paused":
                return
            self.state = "running" if self._total_steps else "starting"
        self._order("resume")

    def stop(self) -> None:
        """Stop after the current step (safe mid-epoch); the model so far is kept."""
        self._order("stop")

    def terminate(self) -> None:
        """End the worker now (server shutdown); no model is kept."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)

    def join(self, timeout: float | None = None) -> None:
        if self._reader is not None:
            self._reader.join(timeout)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def copy_model(self) -> nn.Module:
        """A private copy of the trained model (eval mode, no gradients) once the job has finished."""
        with self._lock:
            if self.state not in ("done", "stopped") or self._result is None:
                raise ValueError(f"the job is {self.state}; only a finished or stopped run can be used")
            result = self._result
        design = result["model_config"]
        model = DigitCNN(ModelConfig.from_dict(design) if isinstance(design, dict) else design)
        model.load_state_dict(result["weights"])  # copies: the job's weights stay untouched
        for p in model.parameters():
            p.requires_grad_(False)
        return model.eval()

    def _finished_result(self, what: str) -> dict:
        """The end message's result once the run has finished (or stopped); ValueError naming `what` before."""
        with self._lock:
            if self._result is None or self.state in ACTIVE_STATES:
                raise ValueError(f"the job is {self.state}; {what} available once it has finished")
            return self._result

    def snapshots(self) -> Snapshots | None:
        """The run's kept snapshots (~20 from start to end) once it has finished; None for a run that kept none."""
        kept = self._finished_result("its snapshots are").get("snapshots")
        return None if kept is None else Snapshots(**kept)

    def metadata(self) -> dict:
        """The trainer's metadata (config, metrics, history) for a checkpoint of the finished run."""
        return self._finished_result("metadata is")["metadata"]


@atexit.register
def _terminate_all() -> None:
    """When the server exits, its jobs' workers go too (each would also exit by itself on seeing the EOF); a
    standby still waiting is ended by cnnviz.standby."""
    for job in list(_LIVE):
        job.terminate()
