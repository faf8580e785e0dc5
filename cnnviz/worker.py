"""The training process: one per job, started by cnnviz.jobs, which runs `main([FD, PARENT_PID])`.

It may first be told to stand by ({"standby": ...}): then it loads the data files named, runs a few throwaway
steps so the thread pool and the kernels are ready, says ("standby", info) and waits for a job, which then
starts without paying for any of that. It reads its job from the connection on file descriptor FD, trains, and
writes back what the page draws:
("ready", info), ("step", record, seconds, epochs or None, filters or None), then ("end", result: the weights,
the metadata and ~20 snapshots of the run as a plain dict of cnnviz.snapshots.Snapshots' fields) or
("failed", reason). It obeys "pause", "resume" and "stop" between steps, and exits on its own when the
server goes away (the connection reaches EOF, or its parent pid changes). Messages are plain pickles, so
tensors travel by value. Imports torch and the core only: never Streamlit.
"""
from __future__ import annotations

import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import torch
from torch import nn

from cnnviz.cpu_share import AUTO, RECHECK_S, IdleCores, most_threads, thread_pool_size
from cnnviz.layers import layer_specs
from cnnviz.snapshots import Keeper
from cnnviz.train import TrainConfig, Trainer, prepare_training_process, warm_up

PAUSED_POLL_S = 0.5   # how often a paused worker checks that its server is still there
WARM_UP_STEPS = 3     # throwaway optimizer steps a standby worker runs before it waits for its job
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)  # the folder holding cnnviz/, for the worker's path
_START_NICE = os.nice(0)  # this process's niceness when it started (a worker adds the job's to it)
_MAIN = "import sys; from cnnviz.worker import main; sys.exit(main(sys.argv[1:]))"  # not -m: one copy of this module


class ServerGone(Exception):
    """The server closed its end of the connection or died: the worker has no one to train for."""


@dataclass(frozen=True)
class DataFiles:
    """A split the worker reads from disk itself (cheaper than sending 60,000 images to a new process)."""
    split: str                 # train | test
    root: str | None = None    # the folder holding MNIST/raw (None: $CNNVIZ_DATA, else the cache folder)
    dataset: str = "mnist"

    def load(self):
        from cnnviz.data import load_split
        return load_split(self.split, self.root, self.dataset, download=False)


def first_filters(model: nn.Module) -> torch.Tensor | None:
    for spec in layer_specs(model):
        if spec.kind == "conv":
            return spec.module.weight.detach().float().cpu().clone()  # [C, in, k, k]
    return None


def send(conn, message) -> None:
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def receive(conn):
    return pickle.loads(conn.recv_bytes())


class _Orders:
    """The server's pause/resume/stop orders, read between steps."""

    def __init__(self, conn, parent_pid: int):
        self.conn, self.parent_pid = conn, parent_pid
        self.paused = self.stopping = False

    def read(self) -> None:
        """Apply every order waiting; while paused, wait here (checking the server) until resumed or stopped."""
        while True:
            wait = PAUSED_POLL_S if self.paused and not self.stopping else 0
            try:
                ready = self.conn.poll(wait)
                order = self.conn.recv_bytes() if ready else None
            except (EOFError, OSError):
                raise ServerGone from None
            if os.getppid() != self.parent_pid:
                raise ServerGone
            if order is not None:
                order = pickle.loads(order)
                self.paused = {"pause": True, "resume": False}.get(order, self.paused)
                self.stopping = self.stopping or order == "stop"
                continue  # drain the rest before stepping
            if not self.paused or self.stopping:
                return


def stand_by(conn, order: dict) -> tuple[dict, IdleCores]:
    """Get ready for a job not yet known: lower the priority, load the data files named, warm up. Returns the
    loaded splits by DataFiles, and the measure of idle cores started once ready (what the machine left idle while
    this worker waited tells an "auto" job its first thread count); says ("standby", info) when done. Files that
    fail to load are left for the job, which then reports the loader's message as its own."""
    os.nice(order["nice"])
    torch.set_num_threads(1 if order["threads"] == AUTO else order["threads"])
    loaded = {}
    for files in order["files"]:
        try:
            loaded[files] = files.load()
        except Exception:  # noqa: BLE001 -- the job loads it again and says why it failed
            continue
    warm_up(TrainConfig(device="cpu"), WARM_UP_STEPS)  # the page's recipes train on the CPU
    idle = IdleCores(most_threads())
    send(conn, ("standby", {"pid": os.getpid(), "loaded": list(loaded)}))
    return loaded, idle


def train(conn, job: dict, orders: _Orders, loaded: dict | None = None, idle: IdleCores | None = None) -> None:
    """Run `job`; `loaded` holds splits a standby has read already (by their DataFiles), `idle` its measure of the
    idle cores (for a job whose threads are AUTO)."""
    loaded = loaded or {}
    os.nice(max(0, job["nice"] - os.nice(0) + _START_NICE))  # a standby has lowered it already
    share = None
    if job["threads"] == AUTO:  # the cores the machine leaves idle, asked again every RECHECK_S (cnnviz.cpu_share)
        share = idle or IdleCores(most_threads())
        torch.set_num_threads(share.threads())
    else:
        torch.set_num_threads(job["threads"])
    data = [_split(s, loaded) for s in (job["train"], job["test"])]
    config = job["config"]  # a TrainConfig's dict (its design inside): plain data across the process boundary
    trainer = Trainer(TrainConfig.from_dict(config) if isinstance(config, dict) else config, *data)
    send(conn, ("ready", {"pid": os.getpid(), "device": str(trainer.device), "total_steps": int(trainer.total_steps),
                          "filters": first_filters(trainer.model)}))
    keeper = Keeper(trainer.model, trainer.total_steps)  # ~20 snapshots to replay the run (the Why page)
    record = None
    every, epochs_sent, asked = job["filters_every"], 0, time.perf_counter()
    while True:
        orders.read()
        if orders.stopping:
            trainer.stop()
            break
        t0 = time.perf_counter()
        if share is not None and t0 - asked >= RECHECK_S:
            threads, asked = share.threads(), t0
            if threads != torch.get_num_threads():
                torch.set_num_threads(threads)
        record = trainer.step()
        spent = time.perf_counter() - t0
        if record is None:
            break
        epochs = None
        if len(trainer.epochs) != epochs_sent:
            epochs, epochs_sent = [dict(e) for e in trainer.epochs], len(trainer.epochs)
        filters = first_filters(trainer.model) if record.step % every == 0 else None
        keeper.offer(record.step, record.epoch_progress, trainer.model, record.test_acc)
        send(conn, ("step", record, spent, epochs, filters))
    if record is not None:  # stopped early: the run's replay ends where the run did
        keeper.offer(record.step, record.epoch_progress, trainer.model, record.test_acc, last=True)
    trainer.model.eval()
    weights = {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()}
    send(conn, ("end", {"state": "stopped" if orders.stopping else "done", "epochs": [dict(e) for e in trainer.epochs],
                        "filters": first_filters(trainer.model), "model_config": trainer.model.config.to_dict(),
                        "weights": weights, "metadata": trainer.metadata(), "snapshots": vars(keeper.snapshots())}))


def _split(split, loaded: dict):
    """A Split sent by value as it is; DataFiles from what the standby loaded, else read now."""
    if not isinstance(split, DataFiles):
        return split
    return loaded[split] if split in loaded else split.load()


def launch(threads: int | str) -> tuple[subprocess.Popen, Connection]:
    """Start a worker with `threads` torch threads (or AUTO): a fresh interpreter (fork + exec: nothing of the
    server's threads or state is inherited, and unlike multiprocessing's spawn it does not re-run the server's
    __main__, a Streamlit page script)."""
    ours, theirs = socket.socketpair()
    pool = str(thread_pool_size(threads))
    env = dict(os.environ, OMP_NUM_THREADS=pool, MKL_NUM_THREADS=pool,
               PYTHONPATH=os.pathsep.join(p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p))
    try:
        process = subprocess.Popen([sys.executable, "-c", _MAIN, str(theirs.fileno()), str(os.getpid())],
                                   pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()  # the worker holds its own copy: when the server dies, the worker reads EOF
    return process, Connection(ours.detach())


def exit_reason(code: int) -> str:
    """Why a worker that ended without reporting is gone, from its exit status."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the training process was killed ({name}, exit code {code}) before it finished"
    return f"the training process exited with code {code} before it finished"


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal stops the server; it stops us
    prepare_training_process()
    conn, parent_pid = Connection(int(argv[0])), int(argv[1])
    orders = _Orders(conn, parent_pid)
    try:
        job, loaded, idle = receive(conn), {}, None
        try:
            if isinstance(job, dict) and "standby" in job:
                loaded, idle = stand_by(conn, job["standby"])
                job = receive(conn)
            train(conn, job, orders, loaded, idle)
        except ServerGone:
            raise
        except Exception as exc:  # noqa: BLE001 -- reported on the page as the reason the run failed
            send(conn, ("failed", f"{type(exc).__name__}: {exc}"))
    except (ServerGone, EOFError, BrokenPipeError, ConnectionResetError):
        return 3  # the server is gone: nothing to report to
    return 0


