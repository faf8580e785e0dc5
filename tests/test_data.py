"""cnnviz.data: the real MNIST files, normalisation, and clear errors for missing or damaged files."""
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnviz.data import (
    FILE_NAMES,
    MEAN,
    STD,
    CorruptDataError,
    MissingDataError,
    data_root,
    load_split,
    normalize_raw,
    scale_pixels,
)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def train(data_root):
    return load_split("train", data_root, download=False)


@pytest.fixture(scope="module")
def test(data_root):
    return load_split("test", data_root, download=False)


def write_idx(folder, prefix, images, labels, n_images=None, n_labels=None, magic=0x803):
    """Write a small MNIST-style pair; n_* overrides the count in the header (to fake truncation)."""
    folder.mkdir(parents=True, exist_ok=True)
    other = "train" if prefix == "t10k" else "t10k"   # torchvision wants all four files present
    (folder / f"{other}-images-idx3-ubyte").write_bytes(struct.pack(">4I", 0x803, 0, 28, 28))
    (folder / f"{other}-labels-idx1-ubyte").write_bytes(struct.pack(">2I", 0x801, 0))
    images = bytes(images)
    labels = bytes(labels)
    n_images = len(labels) if n_images is None else n_images
    n_labels = len(labels) if n_labels is None else n_labels
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">4I", magic, n_images, 28, 28) + images)
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">2I", 0x801, n_labels) + labels)


def test_real_mnist_has_60000_training_and_10000_test_images(train, test):
    assert len(train) == 60000 and len(test) == 10000
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == torch.float32
    assert train.labels.shape == (60000,) and train.labels.dtype == torch.int64
    assert test.raw.shape == (10000, 28, 28) and test.raw.dtype == torch.uint8


def test_first_training_labels_are_5_0_4_1_9(train):
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]


def test_label_counts_match_the_published_ones(train, test):
    assert torch.bincount(train.labels).tolist() == TRAIN_COUNTS
    assert torch.bincount(test.labels).tolist() == TEST_COUNTS


def test_images_are_raw_pixels_scaled_and_standardized(train):
    expected = (train.raw[:100].float() / 255 - MEAN) / STD
    torch.testing.assert_close(train.images[:100, 0], expected)
    assert abs(train.images.mean().item()) < 1e-3
    assert abs(train.images.std().item() - 1) < 1e-3


def test_scale_pixels_maps_0_255_to_0_1_for_arrays_and_tensors():
    pixels = np.array([[0, 51, 255]], dtype=np.uint8)
    for given in (pixels, torch.from_numpy(pixels)):
        x = scale_pixels(given)
        assert x.dtype == np.float32 and x.shape == (1, 3)
        assert x[0].tolist() == pytest.approx([0.0, 0.2, 1.0])


def test_scale_pixels_leaves_the_callers_float_pixels_alone():
    pixels = np.full((2, 2), 255.0, dtype=np.float32)
    scale_pixels(pixels)
    assert (pixels == 255.0).all()


def test_normalize_raw_adds_the_channel_axis_and_standardizes():
    x = normalize_raw(torch.tensor([[[0, 255]]], dtype=torch.uint8))
    assert x.shape == (1, 1, 1, 2) and x.dtype == torch.float32
    torch.testing.assert_close(x.flatten(), torch.tensor([-MEAN / STD, (1 - MEAN) / STD]))


def test_subset_keeps_images_labels_and_raw_aligned(train):
    part = train.subset(7)
    assert len(part) == 7 and part.labels.tolist() == train.labels[:7].tolist()
    assert torch.equal(part.raw, train.raw[:7])


def test_data_root_prefers_argument_then_environment_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNVIZ_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("CNNVIZ_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_root() == tmp_path / "cache" / "cnnviz"


def test_missing_data_message_names_the_folder_and_the_four_files(tmp_path):
    with pytest.raises(MissingDataError) as info:
        load_split("test", tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert all(name in message for name in FILE_NAMES) and len(FILE_NAMES) == 4
    assert "download" in message


def test_offline_download_fails_with_missing_data_error(tmp_path, monkeypatch):
    """A machine with no network gets the same clear message instead of a hang or a urllib traceback."""
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens
    with pytest.raises(MissingDataError, match="offline"):
        load_split("test", tmp_path, download=True)


def test_small_valid_idx_files_load(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw, "t10k", images=bytes(3 * 784), labels=[3, 1, 4])
    split = load_split("test", tmp_path, download=False)
    assert split.labels.tolist() == [3, 1, 4] and split.images.shape == (3, 1, 28, 28)


def test_truncated_image_file_raises_corrupt_data_error(tmp_path):
    write_idx(tmp_path / "MNIST" / "raw", "t10k", images=bytes(2 * 784 + 100), labels=[3, 1, 4], n_images=3)
    with pytest.raises(CorruptDataError, match="truncated"):
        load_split("test", tmp_path, download=False)


def test_file_shorter_than_its_header_raises_corrupt_data_error(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw, "t10k", images=bytes(784), labels=[3])
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00")
    with pytest.raises(CorruptDataError, match="too short"):
        load_split("test", tmp_path, download=False)


def test_wrong_magic_number_raises_corrupt_data_error(tmp_path):
    write_idx(tmp_path / "MNIST" / "raw", "t10k", images=bytes(784), labels=[3], magic=0x1F8B0808)
    with pytest.raises(CorruptDataError, match="magic"):
        load_split("test", tmp_path, download=False)


def test_image_and_label_counts_must_agree(tmp_path):
    write_idx(tmp_path / "MNIST" / "raw", "t10k", images=bytes(2 * 784), labels=[3], n_images=2)
    with pytest.raises(CorruptDataError, match="2 images but"):
        load_split("test", tmp_path, download=False)


def test_label_above_nine_raises_corrupt_data_error(tmp_path):
    write_idx(tmp_path / "MNIST" / "raw", "t10k", images=bytes(784), labels=[12])
    with pytest.raises(CorruptDataError, match="label"):
        load_split("test", tmp_path, download=False)


def test_one_missing_file_is_named_in_the_message(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw, "t10k", images=bytes(784), labels=[3])
    (raw / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(MissingDataError, match="missing: train-labels-idx1-ubyte;"):
        load_split("test", tmp_path, download=False)


def test_unknown_split_or_dataset_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="split"):
        load_split("validation", tmp_path)
    with pytest.raises(ValueError, match="dataset"):
        load_split("test", tmp_path, dataset="cifar")


def test_the_command_line_offline_ends_with_one_message_and_exit_code_2(tmp_path):
    """`python -m cnnviz.data --download` as the test command runs it: a clear line, no traceback."""
    import subprocess
    import sys

    code = ("import runpy, sys, torchvision.datasets as d; d.MNIST.mirrors = ['http://127.0.0.1:9/']; "
            f"sys.argv = ['cnnviz.data', '--download', '--data', {str(tmp_path)!r}]; "
            "runpy.run_module('cnnviz.data', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "error: MNIST-style data not found" in done.stdout
    assert "looks offline" in done.stdout


def test_check_split_counts_a_split_from_its_headers_without_reading_it(data_root, tmp_path):
    from cnnviz.data import TEST_SIZE, check_split

    assert check_split("test", data_root) == TEST_SIZE and check_split("train", data_root) == 60_000
    write_idx(tmp_path / "MNIST" / "raw", "t10k", images=bytes(2 * 784), labels=[3], n_images=2)
    with pytest.raises(CorruptDataError, match="2 images but"):
        check_split("test", tmp_path)


def test_pixels_digest_is_the_tag_the_draw_page_writes():
    """livetest's simulated students recognise their own prediction by it: the core's and the page's must agree."""
    from cnnviz.data import pixels_digest
    from cnnviz_ui.draw_view import input_hash

    image = np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28)
    assert pixels_digest(image) == input_hash(image)
    assert pixels_digest(image) != pixels_digest(image.T) and pixels_digest(image) != pixels_digest(image[None])


def test_the_idx_files_read_exactly_as_torchvision_reads_them(data_root, test):
    """cnnviz reads the IDX files with NumPy (no torchvision import in a training worker): torchvision's own
    MNIST reader is the oracle, pixel for pixel and label for label."""
    from torchvision import datasets

    theirs = datasets.MNIST(str(data_root), train=False, download=False)
    assert torch.equal(test.raw, theirs.data)
    assert torch.equal(test.labels, theirs.targets)
