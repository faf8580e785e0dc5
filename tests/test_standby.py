"""The standby worker (cnnviz.standby) that a JobManager keeps once warm() has asked: started before anyone
presses Start, handed to the next job, replaced within the job limit, never left behind."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

from cnnviz.jobs import DataFiles, JobManager
from cnnviz.standby import StandbySlot
from test_jobs import REPO, TEST, TRAIN, _alive, _config, _long, _parent_ppid, _wait, _wait_gone


def test_a_slot_that_no_one_asked_for_starts_no_process():
    slot = StandbySlot()
    slot.fill(True, threads=1, nice=0)
    assert slot.pid is None and not slot.ready() and slot.take() is None and slot.clear() is None


# -- the standby worker: started before anyone presses Start ----------------------------------------

def _ready(manager: JobManager, timeout: float = 120.0) -> int:
    """Wait until the manager's standby has loaded the data and warmed up; its pid."""
    deadline = time.monotonic() + timeout
    while not manager.standby_ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"no standby ready after {timeout} s (pid {manager.standby_pid})")
        time.sleep(0.05)
    return manager.standby_pid


def _gone_and_collected(pid: int, timeout: float = 20.0) -> None:
    """Not running and not a zombie of ours either: its exit status has been collected."""
    _wait_gone(pid, timeout)
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"process {pid} ended but was never collected (a zombie)"
        time.sleep(0.05)


def test_a_job_started_after_warm_up_runs_in_the_standby_and_another_standby_follows(data_root):
    manager = JobManager(data_root=data_root, refill_after=0)
    try:
        manager.warm()
        standby = _ready(manager)
        job = manager.start("alice", _config(max_steps=3), DataFiles("test"), DataFiles("test"))
        assert job.pid == standby and _parent_ppid(standby) == os.getpid()
        snap = _wait(job)
        assert snap.state == "done", snap.error
        assert manager.standby_pid not in (None, standby) and _alive(manager.standby_pid)
    finally:
        manager.shutdown()


def test_the_next_standby_waits_until_no_job_is_in_its_first_seconds(data_root):
    """Loading a standby takes a core for seconds: it starts only once the new run is past `refill_after`
    seconds, or finished (the page's next warm() then starts it)."""
    manager = JobManager(data_root=data_root, refill_after=600)
    try:
        manager.warm()
        standby = _ready(manager)
        job = manager.start("alice", _long(), TRAIN, TEST)
        assert job.pid == standby and manager.standby_pid is None
        manager.warm()
        assert manager.standby_pid is None          # the run is young: nothing loads beside it
        job.stop()
        assert _wait(job).state == "stopped"
        manager.warm()
        assert manager.standby_pid not in (None, standby)
        job = manager.start("bob", _long(), TRAIN, TEST)
        job.started -= 601                           # the run is past its first seconds
        manager.warm()
        assert manager.standby_pid not in (None, job.pid)
    finally:
        manager.shutdown()


def test_a_job_in_the_standby_gives_the_same_run_as_a_cold_start(data_root):
    config = _config(max_steps=4, seed=7)
    cold_manager, warm_manager = JobManager(data_root=data_root), JobManager(data_root=data_root)
    try:
        cold = cold_manager.start("alice", config, DataFiles("test"), DataFiles("test"))
        warm_manager.warm()
        standby = _ready(warm_manager)
        warm = warm_manager.start("alice", config, DataFiles("test"), DataFiles("test"))
        assert warm.pid == standby and cold.pid != standby
        a, b = _wait(cold), _wait(warm)
        assert a.state == b.state == "done", (a.error, b.error)
        assert [r.batch_loss for r in a.records] == [r.batch_loss for r in b.records]
        cold_weights, warm_weights = cold.copy_model().state_dict(), warm.copy_model().state_dict()
        assert all(torch.equal(cold_weights[k], warm_weights[k]) for k in cold_weights)
    finally:
        cold_manager.shutdown(), warm_manager.shutdown()


def test_a_standby_is_no_ones_job_and_does_not_count_against_the_limit(data_root):
    manager = JobManager(max_jobs=1, data_root=data_root)
    try:
        manager.warm()
        standby = manager.standby_pid
        assert standby is not None and manager.get("alice") is None
        job = manager.start("alice", _long(), TRAIN, TEST)  # the one slot: the standby did not take it
        assert job.pid == standby and manager.get("alice") is job
        assert manager.standby_pid is None  # the limit is reached: no process waits beside the running job
        manager.warm()
        assert manager.standby_pid is None
        job.stop()
        assert _wait(job).state == "stopped"
        manager.warm()  # the slot is free again
        assert manager.standby_pid not in (None, standby)
    finally:
        manager.shutdown()


def test_a_standby_worker_takes_the_managers_niceness_once(data_root):
    manager = JobManager(nice=5, data_root=data_root)
    try:
        manager.warm()
        _ready(manager)
        job = manager.start("alice", _long(), TRAIN, TEST)
        _wait(job, ("running",))
        stat = Path(f"/proc/{job.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[16]) == os.getpriority(os.PRIO_PROCESS, 0) + 5
    finally:
        manager.shutdown()


def test_shutdown_ends_the_standby_and_leaves_no_process(data_root):
    manager = JobManager(data_root=data_root, refill_after=0)
    manager.warm()
    standby = manager.standby_pid
    job = manager.start("alice", _long(), TRAIN, TEST)
    second = manager.standby_pid
    manager.shutdown()
    assert manager.standby_pid is None
    for pid in (standby, second):
        _gone_and_collected(pid)
    assert _wait(job).state == "failed"


def test_an_unwanted_standby_is_ended_after_the_stale_time(data_root):
    manager = JobManager(stale_after=0.3, data_root=data_root)
    manager.warm()
    standby = manager.standby_pid
    time.sleep(0.5)
    assert manager.get("alice") is None and manager.standby_pid is None
    _gone_and_collected(standby)


def test_a_standby_that_died_is_replaced_and_start_spawns_its_own_worker(data_root):
    manager = JobManager(data_root=data_root, refill_after=0)
    try:
        manager.warm()
        dead = manager.standby_pid
        os.kill(dead, signal.SIGKILL)
        _wait_gone(dead)
        job = manager.start("alice", _config(max_steps=2), TRAIN, TEST)
        assert job.pid != dead and _wait(job).state == "done"
        assert manager.standby_pid not in (None, dead, job.pid)
    finally:
        manager.shutdown()


_WARM_SERVER = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{repo!r}, {tests!r}]
    from test_standby import _ready
    from cnnviz.jobs import JobManager
    manager = JobManager(data_root={root!r})
    manager.warm()
    print(_ready(manager), flush=True)
    time.sleep(600)
""")


def test_a_killed_server_leaves_no_orphan_standby(data_root):
    code = _WARM_SERVER.format(repo=str(REPO), tests=str(REPO / "tests"), root=str(data_root))
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    standby = int(server.stdout.readline())
    server.kill()
    server.wait()
    _wait_gone(standby)
