"""cnnviz.checkpoint: safetensors round trip, atomic save, and a clear refusal of every bad file."""
import json
import os
import pickle
import struct

import pytest
import torch

from cnnviz.checkpoint import CheckpointError, load, load_bytes, save, shipped_path, to_bytes
from cnnviz.data import load_split
from cnnviz.evaluate import evaluate
from cnnviz.model import CHAPTER_CONFIG, GAP_CONFIG, DigitCNN, ModelConfig

META = {"note": "unit test", "final": {"test_acc": 0.5}}


def fresh(config=ModelConfig(), seed=0):
    torch.manual_seed(seed)
    return DigitCNN(config)


def raw_safetensors(tensors, metadata):
    from safetensors.torch import save as to_bytes

    return to_bytes(tensors, metadata=metadata)


def cnnviz_header(model_config):
    return {"format": "cnnviz-checkpoint", "version": "1",
            "cnnviz": json.dumps({"model_config": model_config.to_dict()})}


class WritesAFile:
    """A pickle payload: unpickling it would create `path` (and so prove code ran)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture()
def saved(tmp_path):
    model = fresh()
    return save(tmp_path / "model.safetensors", model, META), model


def test_round_trip_gives_identical_outputs_and_metadata(saved):
    path, model = saved
    loaded, meta = load(path)
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(loaded(x), model.eval()(x))
    assert meta["note"] == "unit test" and meta["final"] == {"test_acc": 0.5}
    assert meta["model_config"] == ModelConfig().to_dict()
    assert not loaded.training


def test_gap_model_round_trips(tmp_path):
    model = fresh(GAP_CONFIG)
    loaded, meta = load(save(tmp_path / "gap", model, {}))
    assert loaded.config == GAP_CONFIG and (tmp_path / "gap.safetensors").exists()
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(loaded(x), model.eval()(x))


def test_a_batch_norm_design_round_trips_with_its_running_statistics(tmp_path):
    config = ModelConfig.uniform(channels=(4, 8, 8), kernel_size=5, batch_norm=True, activation="leaky_relu",
                                 pool="avg", hidden=(16, 12))
    model = fresh(config).train()
    model(torch.randn(8, 1, 28, 28))  # moves the running mean / variance away from their start
    loaded, meta = load(save(tmp_path / "bn", model, {}))
    assert loaded.config == config and meta["model_config"] == config.to_dict()
    assert int(loaded.bn1.num_batches_tracked) == 1
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(loaded(x), model.eval()(x))


def test_shipped_checkpoints_read_the_old_flat_config_as_the_chapter_and_gap_designs():
    assert load(shipped_path("fc"))[0].config == CHAPTER_CONFIG
    assert load(shipped_path("gap"))[0].config == GAP_CONFIG


def test_an_impossible_design_in_a_checkpoint_is_refused_with_the_reason():
    bad = {"format": "cnnviz-checkpoint", "version": "1",
           "cnnviz": json.dumps({"model_config": {**ModelConfig().to_dict(), "image_size": 2}})}
    with pytest.raises(CheckpointError, match="invalid model_config: .*below 1×1"):
        load_bytes(raw_safetensors(fresh().state_dict(), bad), "tiny.safetensors")


def _header(data):
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + size])


def test_to_bytes_is_the_file_save_writes_and_load_bytes_reads_it(saved):
    path, model = saved
    data = to_bytes(model, META)
    on_disk = path.read_bytes()
    # safetensors writes its metadata map in no fixed order, so compare the parsed header and the tensor bytes
    assert _header(data) == _header(on_disk) and len(data) == len(on_disk)
    assert data[-4096:] == on_disk[-4096:]
    loaded, meta = load_bytes(data, "download.safetensors")
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(loaded(x), model.eval()(x)) and meta["note"] == "unit test"


def test_load_bytes_reads_an_upload(saved):
    path, model = saved
    loaded, _ = load_bytes(path.read_bytes(), "mine.safetensors")
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_failed_save_leaves_the_old_checkpoint_untouched(saved, monkeypatch):
    path, _ = saved
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save(path, fresh(seed=1), {"note": "new"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.safetensors"]  # no temp file left


def test_save_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match="safetensors"):
        save(tmp_path / "model.pt", fresh(), {})


@pytest.mark.parametrize("cut", [0, 5, 8, 100, -10])
def test_truncated_file_is_refused(saved, cut):
    path, _ = saved
    data = path.read_bytes()
    with pytest.raises(CheckpointError):
        load_bytes(data[:cut], "cut.safetensors")


def test_garbage_and_broken_header_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="header length"):
        load_bytes(os.urandom(4096), "noise.safetensors")
    broken = struct.pack("<Q", 10) + b"{not json}" + b"\0" * 16
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_bytes(broken, "broken.safetensors")


def test_safetensors_without_cnnviz_metadata_is_refused():
    data = raw_safetensors(fresh().state_dict(), None)
    with pytest.raises(CheckpointError, match="not a cnnviz checkpoint"):
        load_bytes(data, "plain.safetensors")


def test_wrong_architecture_is_refused():
    """GAP weights under an FC config, and a narrower FC1, are both refused by name."""
    data = raw_safetensors(fresh(GAP_CONFIG).state_dict(), cnnviz_header(ModelConfig()))
    with pytest.raises(CheckpointError, match="missing .*fc1.weight"):
        load_bytes(data, "swapped.safetensors")
    narrow = fresh(ModelConfig(hidden=(64,))).state_dict()
    data = raw_safetensors(narrow, cnnviz_header(ModelConfig()))
    with pytest.raises(CheckpointError, match="fc1.weight.*shape"):
        load_bytes(data, "narrow.safetensors")


def test_invalid_model_config_is_refused():
    bad = {"format": "cnnviz-checkpoint", "version": "1",
           "cnnviz": json.dumps({"model_config": {"activation": "swish"}})}
    with pytest.raises(CheckpointError, match="model_config"):
        load_bytes(raw_safetensors(fresh().state_dict(), bad), "bad.safetensors")


def test_nan_weights_are_refused():
    state = fresh().state_dict()
    state["conv1.weight"][0, 0, 0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN"):
        load_bytes(raw_safetensors(state, cnnviz_header(ModelConfig())), "nan.safetensors")


def test_float64_weights_are_refused():
    state = {k: v.double() for k, v in fresh().state_dict().items()}
    with pytest.raises(CheckpointError, match="float32"):
        load_bytes(raw_safetensors(state, cnnviz_header(ModelConfig())), "double.safetensors")


@pytest.mark.parametrize("name", ["evil.pt", "evil.pth", "evil.safetensors", "evil.bin"])
def test_pickle_payload_is_refused_and_runs_nothing(tmp_path, name):
    marker = tmp_path / "pwned.txt"
    payload = pickle.dumps({"conv1.weight": WritesAFile(marker)})
    (tmp_path / name).write_bytes(payload)
    with pytest.raises(CheckpointError):
        load(tmp_path / name)
    with pytest.raises(CheckpointError):
        load_bytes(payload, name)
    assert not marker.exists()


def test_torch_save_zip_file_is_refused_even_when_renamed(tmp_path):
    marker = tmp_path / "pwned.txt"
    torch.save({"state": WritesAFile(marker)}, tmp_path / "model.pt")
    data = (tmp_path / "model.pt").read_bytes()
    with pytest.raises(CheckpointError, match="pickle"):
        load_bytes(data, "model.safetensors")
    assert not marker.exists()


def test_valid_file_whose_first_byte_looks_like_a_pickle_still_loads(tmp_path):
    """The header length is little-endian: its first byte can be 0x80 (the pickle marker) by chance."""
    model = fresh()
    for pad in range(400):
        path = save(tmp_path / "model.safetensors", model, {"note": "x" * pad})
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    assert load(path)[1]["note"] == "x" * pad


def test_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read"):
        load(tmp_path / "nothing.safetensors")


def test_shipped_path_names_a_file_per_head():
    assert shipped_path().name == "digitcnn.safetensors"
    assert shipped_path("gap").name == "digitcnn_gap.safetensors"
    with pytest.raises(ValueError):
        shipped_path("transformer")


@pytest.mark.parametrize("head", ["fc", "gap"])
def test_shipped_checkpoints_load_without_data_and_carry_their_evaluation(head, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNVIZ_DATA", str(tmp_path))  # nothing there: loading must not need MNIST
    model, meta = load(shipped_path(head))
    assert model.config.head == head and shipped_path(head).stat().st_size < 1_000_000
    report = meta["evaluation"]
    assert report["total"] == 10000 and len(report["per_class"]) == 10
    assert sum(map(sum, report["confusion"])) == 10000
    assert meta["final"]["test_acc"] == pytest.approx(report["accuracy"])
    for mistake in report["misclassified"]:
        assert mistake["true"] != mistake["predicted"] == mistake["top3"][0][0]
    assert meta["command"].startswith("python -m cnnviz.train") and meta["history"] and meta["curve"]


def _strings(value):
    """Every string inside a JSON value (keys included), split into whitespace-separated words."""
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in _strings(k) + _strings(v)]
    if isinstance(value, list):
        return [w for v in value for w in _strings(v)]
    return str(value).split() if isinstance(value, str) else []


@pytest.mark.parametrize("head", ["fc", "gap"])
def test_shipped_checkpoint_metadata_holds_no_absolute_path(head):
    data = shipped_path(head).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])["__metadata__"]
    words = _strings(header) + _strings(json.loads(header["cnnviz"]))
    absolute = [w for w in words if os.path.isabs(w.split("=")[-1]) or w.split("=")[-1].startswith("~")]
    assert absolute == []


def test_shipped_checkpoints_record_the_command_the_readme_gives():
    readme = (shipped_path().parents[1] / "README.md").read_text()
    for head in ("fc", "gap"):
        assert f"`{load(shipped_path(head))[1]['command']}`" in readme


def test_shipped_digitcnn_records_at_least_99_percent():
    _, meta = load(shipped_path("fc"))
    assert meta["final"]["test_acc"] >= 0.99 and meta["evaluation"]["accuracy"] >= 0.99


def test_shipped_digitcnn_scores_at_least_99_percent_on_the_real_test_set(data_root):
    model, meta = load(shipped_path("fc"))
    result = evaluate(model, load_split("test", data_root), batch_size=2000)
    assert result["accuracy"] >= 0.99
    assert result["correct"] == meta["evaluation"]["correct"]
