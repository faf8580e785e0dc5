"""The standby training worker: a process started ahead of any job, ready for the next Start.

It imports torch, loads the data files it is given, runs a few throwaway steps (cnnviz/worker.py's
`stand_by`), says so, and waits. `cnnviz.jobs.JobManager` keeps at most one in a `StandbySlot` and hands the
next job to it, so the student's first steps come seconds sooner. Until then the standby is nobody's job: a
standby still waiting when the server exits is ended here.
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

__all__ = ["EXIT_WAIT_S", "Standby", "StandbySlot"]


class Standby:
    """A worker process started ahead of any job: it loads `files`, warms up, then waits for a job."""

    def __init__(self, threads: int | str, nice: int, files: tuple):
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


class StandbySlot:
    """A JobManager's place for one standby worker: wanted (with the files it loads) once warm() has asked,
    refilled while the job limit leaves room, handed to the next job, ended when no warm() has wanted it for
    a while. Not thread-safe: the manager calls it under its own lock."""

    def __init__(self):
        self.standby: Standby | None = None
        self.files: tuple | None = None  # what a standby loads, once want() has asked for one

    def want(self, files: tuple) -> None:
        """From now on a standby loads `files`; one loading other files is ended."""
        if files != self.files and self.standby is not None:
            self.standby.terminate()
            self.standby = None
        self.files = files

    def fill(self, room: bool, threads: int | str, nice: int) -> None:
        """Start a standby when one is wanted, none is alive, and (`room`) one more job fits the limit."""
        if self.files is None:
            return
        if self.standby is not None:
            if self.standby.alive():
                return
            self.standby.terminate()
            self.standby = None
        if room:
            try:
                self.standby = Standby(threads, nice, self.files)
            except OSError:  # no process could start: the next job spawns its own, as without a standby
                self.standby = None

    def touch(self) -> None:
        """A warm() call wanted the standby now: it is not stale."""
        if self.standby is not None:
            self.standby.last_wanted = time.monotonic()

    def take(self) -> Standby | None:
        """The standby, handed over to a job (which owns the process from now on), or None when none is alive."""
        standby, self.standby = self.standby, None
        if standby is not None and not standby.alive():
            standby.terminate()
            return None
        if standby is not None:
            standby.hand_over()
        return standby

    def end_if_stale(self, now: float, stale_after: float) -> None:
        """End the standby, and want none, when no warm() has wanted it for `stale_after` seconds."""
        if self.standby is not None and now - self.standby.last_wanted > stale_after:
            self.standby.terminate()
            self.standby, self.files = None, None

    def clear(self) -> Standby | None:
        """Want no standby any more; the one there was (for the caller to terminate outside its lock)."""
        standby, self.standby, self.files = self.standby, None, None
        return standby

    @property
    def pid(self) -> int | None:
        """The process id of a live standby, None when there is none."""
        return self.standby.pid if self.standby is not None and self.standby.alive() else None

    def ready(self) -> bool:
        """Whether a live standby has loaded its files and warmed up."""
        return self.standby is not None and self.standby.alive() and self.standby.ready


@atexit.register
def _terminate_waiting() -> None:
    """When the server exits, a standby still waiting goes too (it would also exit by itself on seeing the EOF)."""
    for standby in list(_WAITING):
        standby.terminate()
