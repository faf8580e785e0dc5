"""The server-wide training job manager, without Streamlit: each job trains in its own worker process."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from cnnviz.data import Split
from cnnviz.jobs import DataFiles, Job, JobLimitError, JobManager
from cnnviz.model import ModelConfig
from cnnviz.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]


def _split(n: int, seed: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    raw = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    return Split(raw[:, None].float() / 255, torch.randint(0, 10, (n,), generator=g), raw)


TRAIN, TEST = _split(256, 0), _split(64, 1)


def _config(max_steps: int = 6, **kw) -> TrainConfig:
    return TrainConfig(epochs=3, batch_size=32, max_steps=max_steps, device="cpu", **kw)


def _long() -> TrainConfig:
    """A run that outlasts any test unless stopped (8 steps an epoch, 10,000 epochs)."""
    return TrainConfig(epochs=10_000, batch_size=32, device="cpu")


def _wait(job, states=("done", "stopped", "failed"), timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while job.snapshot().state not in states:
        if time.monotonic() > deadline:
            raise AssertionError(f"job still {job.snapshot().state} after {timeout} s")
        time.sleep(0.01)
    return job.snapshot()


def test_a_job_runs_to_its_step_budget_and_reports_every_step():
    job = JobManager().start("alice", _config(max_steps=5), TRAIN, TEST)
    snap = _wait(job)
    assert snap.state == "done" and snap.error is None
    assert [r.step for r in snap.records] == [1, 2, 3, 4, 5]
    assert snap.total_steps == 5 and snap.progress == 1.0


def test_an_auto_threads_job_gets_a_pool_of_the_idle_cores_and_keeps_training_as_it_reasks():
    """threads="auto": the worker's pool can grow to cnnviz.cpu_share.most_threads(), and the run goes on across
    several re-asks (RECHECK_S apart) of how many cores are idle."""
    from cnnviz.cpu_share import RECHECK_S, most_threads
    job = JobManager(threads="auto").start("alice", _long(), TRAIN, TEST)
    try:
        _wait(job, ("running",))
        env = Path(f"/proc/{job.pid}/environ").read_bytes().split(b"\0")
        assert f"OMP_NUM_THREADS={most_threads()}".encode() in env
        steps = job.snapshot().step
        time.sleep(3 * RECHECK_S)
        assert job.snapshot().step > steps and job.snapshot().state == "running"
    finally:
        job.stop()
    assert _wait(job).state == "stopped"


def test_a_manager_refuses_a_thread_count_that_is_not_a_number_or_auto():
    for bad in (0, -1, "two", 1.5):
        with pytest.raises(ValueError, match="threads"):
            JobManager(threads=bad)


def test_the_job_limit_refuses_a_third_owner_with_a_clear_message():
    manager = JobManager(max_jobs=2)
    jobs = [manager.start(owner, _long(), TRAIN, TEST) for owner in ("a", "b")]
    try:
        with pytest.raises(JobLimitError, match="limit is 2"):
            manager.start("c", _config(), TRAIN, TEST)
    finally:
        for job in jobs:
            job.stop()


def test_a_finished_job_frees_its_slot():
    manager = JobManager(max_jobs=1)
    _wait(manager.start("a", _config(max_steps=2), TRAIN, TEST))
    job = manager.start("b", _config(max_steps=2), TRAIN, TEST)
    assert _wait(job).state == "done"


def test_starting_twice_quickly_gives_one_job_for_one_owner():
    manager = JobManager(max_jobs=2)
    first = manager.start("alice", _long(), TRAIN, TEST)
    second = manager.start("alice", _long(), TRAIN, TEST)
    try:
        assert second is first and manager.get("alice") is first
    finally:
        first.stop()


def test_starting_again_after_a_finished_run_replaces_it():
    manager = JobManager()
    first = manager.start("alice", _config(max_steps=2), TRAIN, TEST)
    _wait(first)
    second = manager.start("alice", _config(max_steps=2), TRAIN, TEST)
    assert second is not first and manager.get("alice") is second
    _wait(second)


def test_pause_holds_the_step_count_and_resume_continues():
    job = JobManager().start("alice", _long(), TRAIN, TEST)
    try:
        while job.snapshot().step < 2:
            time.sleep(0.01)
        job.pause()
        _wait(job, ("paused",))
        time.sleep(0.3)  # let any step in flight finish
        held = job.snapshot().step
        time.sleep(0.5)
        assert job.snapshot().step == held and job.snapshot().state == "paused"
        job.resume()
        while job.snapshot().step <= held:
            time.sleep(0.01)
        assert job.snapshot().state == "running"
    finally:
        job.stop()


def test_stop_mid_epoch_keeps_a_usable_model():
    job = JobManager().start("alice", _long(), TRAIN, TEST)
    while job.snapshot().step < 3:
        time.sleep(0.01)
    job.stop()
    snap = _wait(job)
    assert snap.state == "stopped" and snap.step < snap.total_steps
    model = job.copy_model()
    assert not model.training and model(TEST.images[:4]).shape == (4, 10)


def test_stop_right_after_start_stops_the_run(monkeypatch):
    """A student clicks Start then Stop at once, before the job's reader thread has sent the worker its job:
    the run ends "stopped", never "failed" because the worker read "stop" as its job."""
    read = Job._read

    def late_read(job):  # the reader thread scheduled late, as on a loaded server
        time.sleep(0.3)
        read(job)

    monkeypatch.setattr(Job, "_read", late_read)
    job = JobManager().start("alice", _long(), TRAIN, TEST)
    job.stop()
    snap = _wait(job)
    assert snap.state == "stopped", snap.error


def test_pause_right_after_start_holds_the_run_until_resumed(monkeypatch):
    read = Job._read
    monkeypatch.setattr(Job, "_read", lambda job: (time.sleep(0.3), read(job)))
    job = JobManager().start("alice", _long(), TRAIN, TEST)
    try:
        job.pause()
        deadline = time.monotonic() + 60
        while not job.snapshot().total_steps:  # the worker is ready: it got its job, then the pause
            assert time.monotonic() < deadline and job.snapshot().state != "failed", job.snapshot().error
            time.sleep(0.01)
        time.sleep(0.3)
        assert job.snapshot().state == "paused" and job.snapshot().step == 0
        job.resume()
        while job.snapshot().step < 1:
            assert time.monotonic() < deadline, "no step after resume"
            time.sleep(0.01)
    finally:
        job.stop()
    assert _wait(job).state == "stopped"


def test_the_copied_model_is_independent_of_the_job():
    job = JobManager().start("alice", _config(max_steps=2), TRAIN, TEST)
    _wait(job)
    a, b = job.copy_model(), job.copy_model()
    with torch.no_grad():
        a.conv1.weight.zero_()
    assert b.conv1.weight.abs().sum() > 0 and not any(p.requires_grad for p in b.parameters())


def test_a_running_job_cannot_be_copied_out():
    job = JobManager().start("alice", _long(), TRAIN, TEST)
    try:
        with pytest.raises(ValueError, match="finished"):
            job.copy_model()
    finally:
        job.stop()


def test_owners_jobs_are_isolated():
    manager = JobManager()
    a = manager.start("alice", _config(max_steps=3, seed=1), TRAIN, TEST)
    b = manager.start("bob", _config(max_steps=3, seed=2), TRAIN, TEST)
    _wait(a), _wait(b)
    assert manager.get("alice") is a and manager.get("bob") is b
    assert not torch.equal(a.copy_model().conv1.weight, b.copy_model().conv1.weight)


def test_stale_jobs_without_polls_are_stopped_and_released():
    manager = JobManager(stale_after=0.2)
    job = manager.start("alice", _long(), TRAIN, TEST)
    time.sleep(0.4)
    assert manager.get("alice") is None
    assert _wait(job).state == "stopped"


def test_a_failing_trainer_is_reported_in_the_snapshot():
    empty = TRAIN.subset(0)
    snap = _wait(JobManager().start("alice", _config(), empty, TEST))
    assert snap.state == "failed" and "empty" in snap.error


def test_the_snapshot_carries_the_first_layer_filters():
    snap = _wait(JobManager().start("alice", _config(max_steps=2), TRAIN, TEST))
    assert snap.first_filters.shape == (16, 1, 3, 3)


def test_finished_job_metadata_holds_its_config():
    job = JobManager().start("alice", _config(max_steps=2), TRAIN, TEST)
    _wait(job)
    assert job.metadata()["config"]["max_steps"] == 2


# -- the worker process -------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _wait_gone(pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)  # clean up before failing: no orphan left by the test itself
            raise AssertionError(f"worker {pid} still running {timeout} s after its server went away")
        time.sleep(0.05)


def _parent_ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_a_job_trains_in_a_child_process_not_in_the_server():
    job = JobManager().start("alice", _long(), TRAIN, TEST)
    try:
        _wait(job, ("running",))
        assert job.pid != os.getpid() and _alive(job.pid) and _parent_ppid(job.pid) == os.getpid()
    finally:
        job.stop()
    assert _wait(job).state == "stopped"


def test_the_worker_picks_its_device_with_cnnviz_device():
    """A run asked for CUDA trains there, or fails with cnnviz.device's reason on a machine without it."""
    config = TrainConfig(epochs=1, batch_size=32, max_steps=1, device="cuda")
    snap = _wait(JobManager().start("alice", config, TRAIN, TEST))
    if torch.cuda.is_available():
        assert snap.state == "done" and snap.device.startswith("cuda")
    else:
        assert snap.state == "failed" and "CUDA is not available" in snap.error


def test_a_nice_manager_runs_its_workers_at_lower_priority():
    job = JobManager(nice=5).start("alice", _long(), TRAIN, TEST)
    try:
        _wait(job, ("running",))
        stat = Path(f"/proc/{job.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[16]) == os.getpriority(os.PRIO_PROCESS, 0) + 5  # field 19 of proc(5): nice
    finally:
        job.stop()


def test_a_worker_killed_by_sigkill_shows_failed_with_the_reason():
    job = JobManager().start("alice", _long(), TRAIN, TEST)
    _wait(job, ("running",))
    os.kill(job.pid, signal.SIGKILL)
    snap = _wait(job)
    assert snap.state == "failed" and "SIGKILL" in snap.error


def test_the_worker_reads_data_files_from_the_servers_data_root(data_root):
    manager = JobManager(data_root=data_root)
    snap = _wait(manager.start("alice", _config(max_steps=2), DataFiles("test"), DataFiles("test")))
    assert snap.state == "done", snap.error
    assert manager.get("alice").metadata()["dataset"]["train_size"] == 10_000


def test_missing_data_files_fail_the_job_with_the_loaders_message(tmp_path):
    snap = _wait(JobManager(data_root=tmp_path).start("alice", _config(), DataFiles("train"), DataFiles("test")))
    assert snap.state == "failed" and "MissingDataError" in snap.error and str(tmp_path) in snap.error


def test_the_worker_module_does_not_import_streamlit():
    probe = "import sys, cnnviz.worker; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], check=False, cwd=REPO).returncode == 0


_SERVER = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{repo!r}, {tests!r}]
    from test_jobs import TRAIN, TEST, _long, _wait
    from cnnviz.jobs import JobManager
    job = JobManager().start("alice", _long(), TRAIN, TEST)
    _wait(job, ("running",))
    print(job.pid, flush=True)
    if {linger}:
        time.sleep(600)
""")


def _server(linger: bool) -> tuple[subprocess.Popen, int]:
    """A stand-in server in its own process that starts one long job and prints the worker's pid."""
    code = _SERVER.format(repo=str(REPO), tests=str(REPO / "tests"), linger=linger)
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    return server, int(server.stdout.readline())


def test_a_killed_server_leaves_no_orphan_worker():
    server, worker = _server(linger=True)
    server.kill()  # SIGKILL: no atexit, no cleanup; the worker must notice by itself
    server.wait()
    _wait_gone(worker)


def test_a_server_that_exits_stops_its_workers():
    server, worker = _server(linger=False)  # exits normally right after starting the job
    assert server.wait(timeout=60) == 0
    _wait_gone(worker)


def test_shutdown_ends_every_worker_now():
    manager = JobManager()
    job = manager.start("alice", _long(), TRAIN, TEST)
    _wait(job, ("running",))
    manager.shutdown()
    assert _wait(job).state == "failed" and "SIGTERM" in job.snapshot().error
    _wait_gone(job.pid)


def test_a_job_trains_a_design_sent_to_its_worker_as_a_dict(monkeypatch):
    """The worker is another process: the TrainConfig travels as plain data, the design inside it."""
    import cnnviz.job

    sent = []
    real_send = cnnviz.job.send
    monkeypatch.setattr(cnnviz.job, "send", lambda conn, message: (sent.append(message), real_send(conn, message)))
    design = ModelConfig.uniform(channels=(3, 5, 6), batch_norm=True, activation="tanh", pool="avg", head="gap")
    job = JobManager().start("alice", _config(max_steps=2, model=design), TRAIN, TEST)
    snap = _wait(job)
    assert snap.state == "done", snap.error
    assert isinstance(sent[0]["config"], dict) and sent[0]["config"]["model"] == design.to_dict()
    model = job.copy_model()
    assert model.config == design and job.metadata()["model_config"] == design.to_dict()
    assert snap.first_filters.shape == (3, 1, 3, 3)
