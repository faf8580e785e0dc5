"""cnnviz.train: the step-wise Trainer on small MNIST subsets with step budgets, and the CLI."""
import re

import pytest
import torch

from cnnviz.data import load_split
from cnnviz.checkpoint import load
from cnnviz.evaluate import evaluate
from cnnviz.model import DigitCNN, ModelConfig
from cnnviz.train import StepRecord, TrainConfig, Trainer, downsample, replay, warm_up
from cnnviz.train.__main__ import default_threads, main


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small batches gain nothing from a second thread, and on a shared 2-core box two OpenMP threads
    mostly wait for each other; restore the setting for the other test modules."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small(data_root):
    """2,000 training and 500 test images: enough to learn something in a few dozen steps."""
    return load_split("train", data_root).subset(2000), load_split("test", data_root).subset(500)


def losses(trainer):
    return [r.batch_loss for r in trainer.records]


def test_max_steps_budget_stops_training(small):
    trainer = Trainer(TrainConfig(max_steps=5, batch_size=32), *small)
    records = [trainer.step() for _ in range(5)]
    assert all(isinstance(r, StepRecord) for r in records)
    assert trainer.done and trainer.total_steps == 5
    assert trainer.step() is None and len(trainer.records) == 5


def test_step_record_reports_progress_loss_accuracy_lr_speed_and_time(small):
    trainer = Trainer(TrainConfig(max_steps=4, batch_size=100), *small)
    first, *_, last = trainer.run()
    assert (first.step, first.epoch, first.epoch_progress) == (1, 1, 100 / 2000)
    assert first.batch_loss > 0 and 0 <= first.train_acc <= 1 and first.lr > 0
    assert first.images_per_sec > 0 and 0 < first.elapsed <= last.elapsed
    assert first.test_acc is None and first.test_loss is None       # no evaluation on this step
    assert 0 <= last.test_acc <= 1 and last.test_loss > 0           # the budget's last step evaluates


def test_same_seed_gives_identical_losses_on_cpu(small):
    config = TrainConfig(max_steps=8, batch_size=64, seed=3, device="cpu")
    a, b = Trainer(config, small[0]), Trainer(config, small[0])
    a.run(), b.run()
    assert losses(a) == losses(b)
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_training_with_pooling_first_takes_the_steps_the_designs_order_takes(small, monkeypatch, precision):
    """The Trainer runs each max pooling before the ReLU in front of it (cheaper): the same logits, the same
    gradients, so the same weights bit for bit as a run in the design's order (forward)."""
    config = TrainConfig(max_steps=6, batch_size=64, seed=5, device="cpu", precision=precision)
    quick = Trainer(config, *small)
    quick.run()
    monkeypatch.setattr(DigitCNN, "forward_pooling_first", DigitCNN.forward)
    ordered = Trainer(config, *small)
    ordered.run()
    assert losses(quick) == losses(ordered)
    assert [r.test_acc for r in quick.records] == [r.test_acc for r in ordered.records]
    assert all(torch.equal(p, q) for p, q in zip(quick.model.parameters(), ordered.model.parameters()))


def test_different_seeds_give_different_runs(small):
    a = Trainer(TrainConfig(max_steps=3, seed=1, device="cpu"), small[0])
    b = Trainer(TrainConfig(max_steps=3, seed=2, device="cpu"), small[0])
    a.run(), b.run()
    assert losses(a) != losses(b)


def test_trainer_leaves_the_global_random_stream_alone(small):
    """Background threads train side by side: a trainer must not reseed or consume torch's global RNG."""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Trainer(TrainConfig(max_steps=3, batch_size=32), small[0]).run()
    assert torch.equal(torch.rand(3), expected)


def test_loss_goes_down_in_a_few_dozen_steps(small):
    """Plain cross-entropy: label smoothing's floor would hide how far the loss falls."""
    config = TrainConfig(max_steps=40, batch_size=64, lr=2e-3, schedule="constant", label_smoothing=0.0)
    trainer = Trainer(config, *small)
    trainer.run()
    first, last = losses(trainer)[:5], losses(trainer)[-5:]
    assert sum(last) / 5 < 0.5 * sum(first) / 5
    assert trainer.records[-1].test_acc > 0.7


def test_sgd_with_momentum_trains(small):
    trainer = Trainer(TrainConfig(max_steps=30, batch_size=64, optimizer="sgd", lr=0.05, schedule="constant"),
                      *small)
    trainer.run()
    assert isinstance(trainer.optimizer, torch.optim.SGD)
    assert trainer.optimizer.param_groups[0]["momentum"] == 0.9
    assert sum(losses(trainer)[-5:]) < sum(losses(trainer)[:5])


def test_onecycle_warms_up_to_the_peak_then_anneals(small):
    trainer = Trainer(TrainConfig(max_steps=20, batch_size=32, lr=0.01, schedule="onecycle"), small[0])
    lrs = [r.lr for r in trainer.run()]
    peak = lrs.index(max(lrs))
    assert lrs[0] < 0.001 and max(lrs) == pytest.approx(0.01, rel=0.05)
    assert 0 < peak < len(lrs) - 1 and lrs[-1] < lrs[0]


def test_warmup_fraction_sets_where_the_cycle_peaks(small):
    for fraction, peak_step in ((0.1, 2), (0.5, 10)):
        trainer = Trainer(TrainConfig(max_steps=20, batch_size=32, lr=0.01, warmup_fraction=fraction), small[0])
        lrs = [r.lr for r in trainer.run()]
        assert lrs.index(max(lrs)) == pytest.approx(peak_step, abs=1)


def test_cycle_steps_anneals_early_then_runs_a_second_cycle_over_the_rest(small):
    """The first cycle ends (rate near 0) at step 12 of 20; the rate climbs to the peak again and anneals by 20."""
    trainer = Trainer(TrainConfig(max_steps=20, batch_size=32, lr=0.01, cycle_steps=12), small[0])
    lrs = [r.lr for r in trainer.run()]  # the rate each step used: lrs[11] is the first cycle's last step
    assert lrs[11] < 0.001 and max(lrs[:12]) == pytest.approx(0.01, rel=0.05)
    assert max(lrs[12:]) == pytest.approx(0.01, rel=0.05) and lrs[12] < 0.001 and lrs[-1] < 0.001
    assert lrs.index(max(lrs[12:]), 12) in range(13, 19)


def test_a_cycle_as_long_as_the_run_is_the_single_cycle(small):
    """cycle_steps at or past the run's length changes nothing: today's one cycle."""
    single = [r.lr for r in Trainer(TrainConfig(max_steps=15, batch_size=32), small[0]).run()]
    for cycle_steps in (15, 100):
        same = Trainer(TrainConfig(max_steps=15, batch_size=32, cycle_steps=cycle_steps), small[0])
        assert [r.lr for r in same.run()] == single


def test_beta2_reaches_adam(small):
    trainer = Trainer(TrainConfig(max_steps=1, beta2=0.99), small[0])
    assert trainer.optimizer.param_groups[0]["betas"][1] == 0.99


@pytest.mark.parametrize("bad", [{"warmup_fraction": 0.0}, {"warmup_fraction": 1.0}, {"cycle_steps": 0},
                                 {"cycle_steps": 2.5}, {"beta2": 1.0}, {"beta2": 0.0}])
def test_cycle_settings_are_validated(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainConfig(**bad)


def test_constant_schedule_keeps_the_learning_rate(small):
    trainer = Trainer(TrainConfig(max_steps=5, lr=0.002, schedule="constant"), small[0])
    assert {r.lr for r in trainer.run()} == {0.002}


@pytest.mark.parametrize("overrides", [{"head": "gap"}, {"activation": "tanh"}, {"activation": "sigmoid"}])
def test_gap_and_other_activation_configs_train(small, overrides):
    trainer = Trainer(TrainConfig(max_steps=6, batch_size=64, **overrides), *small)
    trainer.run()
    assert trainer.model.config.head == overrides.get("head", "fc")
    assert trainer.model.config.activation == overrides.get("activation", "relu")
    assert all(torch.isfinite(torch.tensor(losses(trainer))))


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_both_precisions_train_and_keep_float32_weights(small, precision):
    trainer = Trainer(TrainConfig(max_steps=20, batch_size=64, precision=precision, device="cpu"), *small)
    trainer.run()
    assert trainer.precision == precision
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    assert sum(losses(trainer)[-5:]) < sum(losses(trainer)[:5])


def test_eval_every_adds_test_metrics_to_those_steps(small):
    trainer = Trainer(TrainConfig(max_steps=9, batch_size=32, eval_every=4), *small)
    evaluated = [r.step for r in trainer.run() if r.test_acc is not None]
    assert evaluated == [4, 8, 9]


def test_eval_every_counts_from_the_last_test_an_epoch_end_included(small):
    """300 images in batches of 64: epochs end at steps 5 and 10. A test every 3 steps counted from the last test
    gives 3, 5 (epoch end), 8, 10 (epoch end and the run's end): none a step after an epoch's test."""
    train = small[0].subset(300)
    trainer = Trainer(TrainConfig(epochs=2, batch_size=64, hard_fraction=1.0, eval_every=3), train, small[1])
    assert [r.step for r in trainer.run() if r.test_acc is not None] == [3, 5, 8, 10]


def test_each_epoch_end_is_evaluated_and_added_to_the_history(small):
    train, test = small[0].subset(300), small[1]
    trainer = Trainer(TrainConfig(epochs=2, batch_size=128, hard_fraction=1.0), train, test)
    trainer.run()
    assert trainer.total_steps == 6 and len(trainer.records) == 6  # 128 + 128 + 44 per epoch
    assert [e["epoch"] for e in trainer.epochs] == [1, 2]
    assert all(e["test_acc"] is not None and e["fraction"] == 1 for e in trainer.epochs)
    assert [r.epoch for r in trainer.records] == [1, 1, 1, 2, 2, 2]
    assert trainer.records[2].epoch_progress == 1.0


def test_later_epochs_revisit_only_the_hardest_images(small):
    """After the first epoch, an epoch shows the hard_fraction of images whose loss was highest when last seen."""
    train = small[0].subset(300)
    trainer = Trainer(TrainConfig(epochs=3, batch_size=64, hard_fraction=0.4, seed=5), train)
    assert trainer.hard_count == 120 and trainer.total_steps == 5 + 2 + 2   # 300 images, then 120 and 120
    seen = {}
    for epoch in (1, 2, 3):
        last_loss = trainer._last_loss.clone()
        while True:
            record = trainer.step()
            seen.setdefault(epoch, []).append(trainer._perm.clone())
            if record.epoch_progress == epoch:
                break
        order = seen[epoch][-1]
        if epoch == 1:
            assert sorted(order.tolist()) == list(range(300))          # every image once
        else:
            assert len(order) == len(set(order.tolist())) == 120
            expected = torch.topk(last_loss, 120).indices               # the 120 highest losses before the epoch
            assert set(order.tolist()) == set(expected.tolist())
            assert order.tolist() != sorted(order.tolist())             # shown in a shuffled order
    assert trainer.done and [e["epoch"] for e in trainer.epochs] == [1, 2, 3]
    assert [r.epoch for r in trainer.records] == [1] * 5 + [2] * 2 + [3] * 2
    assert torch.isfinite(trainer._last_loss).all()                    # every image has a loss


def test_hard_fraction_must_be_a_fraction():
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="hard_fraction"):
            TrainConfig(hard_fraction=bad)


def test_stop_ends_training_between_steps(small):
    trainer = Trainer(TrainConfig(max_steps=50), small[0])
    trainer.step()
    trainer.stop()
    assert trainer.done and trainer.step() is None and len(trainer.records) == 1


def test_metadata_holds_config_dataset_metrics_history_and_a_replayable_curve(small):
    trainer = Trainer(TrainConfig(max_steps=6, batch_size=32, eval_every=3), *small)
    trainer.run()
    meta = trainer.metadata()
    assert TrainConfig.from_dict(meta["config"]) == trainer.config
    assert meta["model_config"]["head"] == "fc" and meta["dataset"]["train_size"] == 2000
    assert meta["final"]["test_acc"] == trainer.records[-1].test_acc
    replayed = replay(meta)
    assert [r.step for r in replayed] == [r.step for r in trainer.records]
    assert [r.batch_loss for r in replayed] == pytest.approx(losses(trainer), rel=1e-4)


def test_downsampled_curve_is_short_but_keeps_every_evaluation_and_the_last_step():
    records = [StepRecord(step=i, epoch=1, epoch_progress=i / 1000, batch_loss=1.0, train_acc=0.5, lr=0.001,
                          images_per_sec=1.0, elapsed=float(i), test_acc=0.9 if i % 250 == 0 else None)
               for i in range(1, 1001)]
    kept = downsample(records, 100)
    assert 100 <= len(kept) <= 105 and kept[-1].step == 1000
    assert [r.step for r in kept if r.test_acc is not None] == [250, 500, 750, 1000]
    assert [r.step for r in kept] == sorted(r.step for r in kept)


def test_config_rejects_unsupported_values():
    for bad in ({"optimizer": "rmsprop"}, {"schedule": "cosine"}, {"batch_size": 0}, {"lr": -1.0},
                {"head": "attention"}, {"max_steps": 0}, {"device": "tpu"}):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


def test_evaluate_reports_accuracy_and_restores_training_mode(small):
    model = DigitCNN().train()
    result = evaluate(model, small[1], batch_size=128)
    assert model.training
    assert result["total"] == 500 and result["correct"] == round(result["accuracy"] * 500)
    assert result["loss"] > 0


def test_cli_prints_an_epoch_line_and_saves_a_checkpoint(data_root, tmp_path, capsys):
    out = tmp_path / "tiny.safetensors"
    code = main(["--data", str(data_root), "--train-size", "512", "--batch-size", "128", "--epochs", "1",
                 "--threads", "1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and out.exists()
    assert re.search(r"^Epoch 1: Loss=\d+\.\d{4}  Train=\d+\.\d%  Test=\d+\.\d\d%", printed, re.M)


def test_cli_records_its_command_without_the_data_folder_or_any_absolute_path(data_root, tmp_path):
    out = tmp_path / "tiny.safetensors"
    main(["--data", str(data_root), "--train-size", "256", "--max-steps", "1", "--threads", "1", "--out", str(out)])
    command = load(out)[1]["command"]
    assert command == "python -m cnnviz.train --train-size 256 --max-steps 1 --threads 1 --out tiny.safetensors"


def test_cli_without_data_prints_the_missing_data_message(tmp_path, capsys):
    assert main(["--data", str(tmp_path), "--max-steps", "1"]) == 2
    assert "train-images-idx3-ubyte" in capsys.readouterr().out


def test_a_config_saved_before_hard_fraction_existed_reads_as_every_image_every_epoch():
    saved = TrainConfig().to_dict()
    del saved["hard_fraction"]
    assert TrainConfig.from_dict(saved).hard_fraction == 1.0
    assert TrainConfig.from_dict(TrainConfig(hard_fraction=0.3).to_dict()).hard_fraction == 0.3


def test_a_config_saved_before_the_schedule_field_reads_as_one_cycle():
    saved = TrainConfig().to_dict()
    del saved["schedule"]
    assert TrainConfig.from_dict(saved).schedule == "onecycle"
    assert TrainConfig.from_dict(TrainConfig(schedule="constant").to_dict()).schedule == "constant"


def test_the_chapters_recipe_is_adam_1e3_batch_64_constant_plain_cross_entropy_three_full_epochs():
    from cnnviz.recipes import recipe
    chapter = recipe("chapter")
    assert (chapter.optimizer, chapter.lr, chapter.batch_size, chapter.schedule) == ("adam", 1e-3, 64, "constant")
    assert (chapter.label_smoothing, chapter.epochs, chapter.hard_fraction) == (0.0, 3, 1.0)
    assert (chapter.dropout, chapter.weight_decay, chapter.head, chapter.activation) == (0.25, 0.0, "fc", "relu")


def test_the_fast_recipe_is_todays_default_config():
    from cnnviz.recipes import recipe
    assert recipe("fast") == TrainConfig()
    with pytest.raises(ValueError, match="recipe must be one of"):
        recipe("fastest")


BN_DESIGN = ModelConfig.uniform(channels=(4, 8), kernel_size=5, batch_norm=True, activation="leaky_relu",
                                pool="avg", hidden=(16,), dropout=0.1)


def test_a_design_in_the_config_is_what_the_trainer_builds_and_it_round_trips_as_a_dict():
    config = TrainConfig(max_steps=2, model=BN_DESIGN)
    assert (config.dropout, config.activation, config.head) == (0.1, "leaky_relu", "fc")  # copied from the design
    assert config.to_dict()["model"] == BN_DESIGN.to_dict()
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig(max_steps=2, model=BN_DESIGN.to_dict()) == config
    assert TrainConfig().to_dict()["model"] is None and TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()


def test_a_batch_norm_design_starts_from_pytorchs_statistics_and_trains(small):
    trainer = Trainer(TrainConfig(max_steps=3, batch_size=64, device="cpu", model=BN_DESIGN), small[0])
    bn = trainer.model.bn1
    assert torch.equal(bn.running_mean, torch.zeros(4)) and torch.equal(bn.running_var, torch.ones(4))
    assert torch.equal(bn.weight, torch.ones(4)) and trainer.model.conv1.bias is None
    trainer.run()
    assert int(bn.num_batches_tracked) == 3 and not torch.equal(bn.running_var, torch.ones(4))
    assert trainer.metadata()["model_config"] == BN_DESIGN.to_dict()


def test_a_design_that_cannot_read_the_data_is_refused(small):
    with pytest.raises(ValueError, match=r"reads images of shape \[1, 32, 32\].*set in_channels and image_size"):
        Trainer(TrainConfig(model=ModelConfig(image_size=32)), small[0])
    with pytest.raises(ValueError, match="set num_classes to at least 10"):
        Trainer(TrainConfig(model=ModelConfig(num_classes=5)), small[0])


def test_a_warm_up_changes_neither_a_later_run_nor_the_global_random_stream(small):
    config = TrainConfig(max_steps=4, batch_size=64, seed=3)
    first = Trainer(config, *small)
    first.run()
    rng = torch.get_rng_state()
    warm_up(config, steps=2)
    assert torch.equal(torch.get_rng_state(), rng)
    second = Trainer(config, *small)
    second.run()
    assert losses(first) == losses(second)


def test_a_warm_up_fits_a_design_with_other_input_channels():
    design = ModelConfig.uniform(channels=(4,), in_channels=3, image_size=12, hidden=())
    warm_up(TrainConfig(batch_size=8, model=design), steps=1)  # raises if the blank images did not fit


def test_the_cli_uses_one_thread_when_other_programs_keep_every_core_busy():
    assert default_threads(load=2.5, cores=2, torch_default=2) == 1
    assert default_threads(load=0.3, cores=2, torch_default=2) == 2


def test_the_cli_flags_set_the_cycle_and_beta2():
    from cnnviz.train.__main__ import build_parser, config_from_args
    config = config_from_args(build_parser().parse_args(
        ["--cycle-steps", "350", "--warmup-fraction", "0.2", "--beta2", "0.99"]))
    assert (config.cycle_steps, config.warmup_fraction, config.beta2) == (350, 0.2, 0.99)
    assert config_from_args(build_parser().parse_args([])) == TrainConfig()
