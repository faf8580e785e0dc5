"""The standby training worker: a process started ahead of any job, ready for the next Start.

It imports torch, loads the data files it is given, runs a few throwaway steps (cnnviz/worker.py's
`stand_by`), says so, and waits. `cnnviz.jobs.JobManager` keeps at most one and hands the next job to it, so
the student's first steps come seconds sooner. Until then the standby is nobody's job: a standby still waiting
when the server exits is ended here.
"""
from __future__ import annotations

import atexit
import pickle
import signal
import subprocess
import time
import weakref

from cnnviz.worker import launch, receive, send

EXIT_WAIT_S = 5.0    # how long a worker may take to exit after its last message before it is killed
_WAITING: weakref.WeakSet = weakref.WeakSet()  # standbys not yet handed to a job: terminated when the server exits

__all__ = ["EXIT_WAIT_S", "Standby"]


class Standby:
    """A worker process started ahead of any job: it loads `files`, warms up, then waits for a job."""

    def __init__(self, threads: int, nice: int, files: tuple):
        self.process, self.conn = launch(threads)
        self.pid = self.process.pid
        self.ready = False                    # it has said it is loaded and warmed up
        self.last_wanted = time.monotonic()   # the last warm() call that wanted it
        _WAITING.add(self)
        try:
            send(self.conn, {"standby": {"files": files, "threads": threads, "nice": nice}})
        except OSError:  # it died at once: alive() says so
            pass

    def alive(self) -> bool:
        """Still running and able to take a job; notes its "standby" message without waiting for it."""
        if self.process.poll() is not None:
            return False
        try:
            if not self.ready and self.conn.poll(0):
                self.ready = receive(self.conn)[0] == "standby"
        except (EOFError, OSError, pickle.UnpicklingError):
            return False
        return True

    def hand_over(self) -> None:
        """A job owns the process from now on (and terminates it when the server exits)."""
        _WAITING.discard(self)

    def terminate(self) -> None:
        """End it now and collect its exit status (no zombie left)."""
        _WAITING.discard(self)
        self.conn.close()  # the worker reads EOF and exits by itself; SIGTERM ends a load or warm-up sooner
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@atexit.register
def _terminate_waiting() -> None:
    """When the server exits, a standby still waiting goes too (it would also exit by itself on seeing the EOF)."""
    for standby in list(_WAITING):
        standby.terminate()
