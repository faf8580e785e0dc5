"""Snapshots through training: taken at the steps promised, stored compactly, rebuilt faithfully."""
import numpy as np
import pytest
import torch

from cnnviz import snapshots
from cnnviz.data import load_split
from cnnviz.evaluate import evaluate
from cnnviz.train import Trainer, TrainConfig


def test_snapshot_steps_start_at_the_initialisation_and_end_at_the_last_step():
    steps = snapshots.snapshot_steps(1876, 20)
    assert steps[0] == 0 and steps[1] == 1 and steps[-1] == 1876
    assert len(steps) == 20 and all(b > a for a, b in zip(steps, steps[1:]))
    ratios = np.diff(np.log(steps[1:]))
    assert ratios.max() < 2 * ratios.mean()  # log-spaced: even steps in log(step)
    assert snapshots.snapshot_steps(5, 20) == [0, 1, 2, 3, 4, 5]  # fewer steps than snapshots: every step
    with pytest.raises(ValueError):
        snapshots.snapshot_steps(0)


@pytest.fixture(scope="module")
def run(data_root):
    train = load_split("train", root=data_root).subset(3000)
    test = load_split("test", root=data_root).subset(500)
    trainer = Trainer(TrainConfig(max_steps=24, batch_size=64, seed=3, device="cpu", precision="float32"), train)
    seen = []
    kept = snapshots.record(trainer, count=8, evaluation=test, progress=lambda s, t: seen.append((s, t)))
    return trainer, kept, test, seen


def test_record_keeps_the_promised_steps_and_the_final_weights(run):
    trainer, kept, _, seen = run
    assert kept.steps == snapshots.snapshot_steps(24, 8) and len(kept) == len(kept.states) == len(kept.accuracy)
    assert seen == [(s, 24) for s in range(1, 25)]
    final = kept.model(-1)
    assert all(torch.equal(v, trainer.model.state_dict()[k].cpu()) for k, v in final.state_dict().items())
    assert not torch.equal(kept.states[0]["conv1.weight"], kept.states[-1]["conv1.weight"])


def test_snapshot_zero_is_the_seeded_initialisation(run, data_root):
    trainer, kept, _, _ = run
    fresh = Trainer(trainer.config, load_split("train", root=data_root).subset(3000))
    assert all(torch.equal(v, fresh.model.state_dict()[k].cpu()) for k, v in kept.states[0].items())


def test_each_snapshot_knows_its_accuracy(run):
    _, kept, test, _ = run
    for i in (0, 3, len(kept) - 1):
        assert kept.accuracy[i] == evaluate(kept.model(i), test)["accuracy"]
    assert kept.accuracy[-1] > kept.accuracy[0]


def test_a_digit_s_probabilities_at_every_snapshot(run):
    _, kept, test, _ = run
    picture = test.raw[0].numpy() / 255.0
    p = snapshots.probabilities(kept, picture)
    assert p.shape == (len(kept), 10)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-6)
    with torch.no_grad():
        last = torch.softmax(kept.model(-1)(test.images[:1]), 1)[0].double().numpy()
    np.testing.assert_allclose(p[-1], last, atol=1e-5)


@pytest.mark.parametrize("storage,tolerance", [("float32", 0.0), ("float16", 1e-3), ("int8", 1 / 254)])
def test_saved_snapshots_come_back_close_to_the_weights(run, tmp_path, storage, tolerance):
    _, kept, test, _ = run
    loaded = snapshots.load(snapshots.save(tmp_path / "s.safetensors", kept, storage=storage))
    assert loaded.steps == kept.steps and loaded.accuracy == kept.accuracy
    assert loaded.metadata["storage"] == storage
    for original, back in zip(kept.states, loaded.states):
        for key, w in original.items():
            bound = tolerance * float(w.abs().max()) + 1e-7  # int8: half a step of the row's scale at most
            assert float((back[key] - w).abs().max()) <= bound, (storage, key)
    rebuilt = evaluate(loaded.model(-1), test)["accuracy"]
    assert abs(rebuilt - kept.accuracy[-1]) <= 0.01


def test_int8_storage_is_about_a_quarter_of_float32(run, tmp_path):
    _, kept, _, _ = run
    small = snapshots.save(tmp_path / "a.safetensors", kept, storage="int8").stat().st_size
    full = snapshots.save(tmp_path / "b.safetensors", kept, storage="float32").stat().st_size
    assert small < 0.3 * full


def test_a_file_that_is_not_snapshots_says_how_to_make_one(tmp_path):
    (tmp_path / "x.safetensors").write_bytes(b"nonsense")
    with pytest.raises(ValueError, match="record_explain"):
        snapshots.load(tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="storage"):
        snapshots.save(tmp_path / "y.safetensors", snapshots.Snapshots([0], [None], [0.0], {}, [{}]), storage="int4")


def test_the_shipped_snapshots_load_without_mnist():
    kept = snapshots.load_shipped_snapshots()
    assert 15 <= len(kept) <= 25 and kept.steps[0] == 0
    assert kept.steps == snapshots.snapshot_steps(kept.metadata["total_steps"], len(kept))
    assert kept.accuracy[-1] > 0.97 and kept.accuracy[0] < 0.3
    with torch.no_grad():
        assert kept.model(len(kept) // 2)(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def _keep_all(trainer, keeper, stop_after=None):
    while (record := trainer.step()) is not None:
        keeper.offer(record.step, record.epoch_progress, trainer.model, record.test_acc)
        if record.step == stop_after:
            keeper.offer(record.step, record.epoch_progress, trainer.model, record.test_acc, last=True)
            break


def test_a_keeper_keeps_the_same_steps_and_weights_as_record_within_float16(data_root):
    train = load_split("train", root=data_root).subset(3000)
    config = TrainConfig(max_steps=24, batch_size=64, seed=3, device="cpu", precision="float32")
    recorded = snapshots.record(Trainer(config, train), count=8)
    trainer = Trainer(config, train)
    keeper = snapshots.Keeper(trainer.model, trainer.total_steps, count=8)
    _keep_all(trainer, keeper)
    kept = keeper.snapshots({"source": "test"})
    assert kept.steps == recorded.steps and kept.metadata == {"source": "test", "storage": "float16"}
    for i in range(len(kept)):
        for name, weight in recorded.model(i).state_dict().items():
            assert torch.allclose(kept.model(i).state_dict()[name], weight, rtol=1e-3, atol=1e-4), (i, name)


def test_a_keeper_ends_a_stopped_run_on_the_step_it_reached(data_root):
    train = load_split("train", root=data_root).subset(3000)
    trainer = Trainer(TrainConfig(max_steps=40, batch_size=64, seed=3, device="cpu", precision="float32"), train)
    keeper = snapshots.Keeper(trainer.model, trainer.total_steps, count=20)
    _keep_all(trainer, keeper, stop_after=17)
    kept = keeper.snapshots()
    assert kept.steps[0] == 0 and kept.steps[-1] == 17 and 40 not in kept.steps
    assert kept.steps == sorted(set(kept.steps))
    final = kept.model(-1).state_dict()
    assert all(torch.allclose(final[k], v.float(), rtol=1e-3, atol=1e-4) for k, v in trainer.model.state_dict().items())


def test_a_keeper_keeps_fewer_snapshots_of_a_big_model_within_its_budget():
    from cnnviz.model import DigitCNN
    model = DigitCNN()
    size = sum(t.numel() for t in model.state_dict().values()) * 2          # bytes of one float16 copy
    keeper = snapshots.Keeper(model, 1000, count=20, budget_bytes=5 * size)
    assert len(keeper.wanted) == 5 and {0, 1000} <= keeper.wanted
    assert len(snapshots.Keeper(model, 1000, count=20, budget_bytes=size).wanted) == 2  # always its start and end
