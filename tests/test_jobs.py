"""The server-wide training job manager, without Streamlit."""
import time

import pytest
import torch

from cnnviz.data import Split
from cnnviz.jobs import JobLimitError, JobManager
from cnnviz.train import TrainConfig


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
        assert second is first and manager.active_count() == 1
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
