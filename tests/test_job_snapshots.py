"""A run in the training worker keeps its own snapshots and hands them over with the trained model."""
import torch

from cnnviz.jobs import JobManager
from cnnviz.train import TrainConfig
from test_jobs import _split, _wait


def test_a_finished_job_hands_over_snapshots_from_its_initialisation_to_its_trained_weights():
    manager = JobManager(max_jobs=1)
    try:
        config = TrainConfig(max_steps=12, batch_size=32, seed=5, device="cpu", precision="float32")
        job = manager.start("snapshots", config, _split(600, 0), _split(100, 1))
        _wait(job)
        assert job.state == "done"
        kept = job.snapshots()
        assert kept.steps[0] == 0 and kept.steps[-1] == 12 and len(kept) >= 10
        trained = job.copy_model().state_dict()
        last = kept.model(-1).state_dict()
        assert all(torch.allclose(last[k], v, rtol=1e-3, atol=1e-4) for k, v in trained.items())
        assert not torch.allclose(kept.model(0).state_dict()["conv1.weight"], trained["conv1.weight"])
    finally:
        manager.shutdown()
