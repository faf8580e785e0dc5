"""A digit's nearest training digits in the penultimate layer: the features of the whole training split, and an
exact search over them held to a brute-force NumPy search."""
import numpy as np
import pytest

from cnnviz import checkpoint, embedding, neighbours
from cnnviz.data import load_split
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit


@pytest.fixture(scope="module")
def model():
    return checkpoint.load(checkpoint.shipped_path("fc"))[0]


@pytest.fixture(scope="module")
def train(data_root):
    return load_split("train", root=data_root, download=False)


@pytest.fixture(scope="module")
def bank(model, train):
    """The shipped FC model's features of all 60,000 training digits (computed once for this module)."""
    return neighbours.split_features(model, train.raw, train.labels, "train")


def brute_force(feats: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The oracle: every distance in float64 with NumPy, sorted (ties by row, as a stable sort keeps them)."""
    d = np.sqrt(((feats.astype(np.float64) - query.astype(np.float64)) ** 2).sum(1))  # [N]
    order = np.argsort(d, kind="stable")[:k]
    return order, d[order]


def test_the_training_split_has_one_row_of_layer_features_per_digit(bank, train):
    assert bank.features.shape == (60000, 128) and bank.features.dtype == np.float32
    assert bank.split == "train" and len(bank) == 60000
    np.testing.assert_array_equal(bank.labels, train.labels.numpy())
    np.testing.assert_array_equal(bank.indices, np.arange(60000))


def test_batched_features_equal_features_of_each_digit_alone(model, bank, train):
    """Reading the split 1,000 at a time from its uint8 pixels gives what one picture in [0, 1] gives."""
    for i in (0, 999, 1000, 59999):
        alone = embedding.digit_features(model, train.raw[i].numpy() / 255.0)
        np.testing.assert_allclose(bank.features[i], alone, rtol=1e-5, atol=1e-5)


def test_the_nearest_training_digits_agree_with_a_brute_force_search(model, bank):
    for digit in (0, 3, 7):
        query = embedding.digit_features(model, preprocess(draw_digit(digit))[0])
        near = neighbours.nearest_digits(bank, query, k=8)
        rows, distances = brute_force(bank.features, query, 8)
        np.testing.assert_allclose(near.distances, distances, rtol=1e-5, atol=1e-4)
        # the same digits, unless two of them sit at the same distance within float error
        same = near.rows == rows
        assert same.all() or np.allclose(near.distances[~same], distances[~same], atol=1e-4)
        np.testing.assert_array_equal(near.labels, bank.labels[near.rows])
        assert near.split == "train" and np.all(np.diff(near.distances) >= 0)


def test_a_training_digit_finds_itself_first_at_distance_zero(model, bank, train):
    for i in (5, 12345, 59999):
        query = embedding.digit_features(model, train.raw[i].numpy() / 255.0)
        near = neighbours.nearest_digits(bank, query, k=8)
        assert near.indices[0] == i and near.labels[0] == int(train.labels[i])
        assert near.distances[0] == pytest.approx(0, abs=1e-4)


def test_the_map_is_a_bank_of_test_digits_with_their_split_positions():
    digits, _ = embedding.load_shipped_map()
    bank = neighbours.map_bank(digits)
    row = 1234
    near = neighbours.nearest_digits(bank, digits.features[row], k=3)
    assert near.split == "test" and near.rows[0] == row and near.indices[0] == digits.indices[row]
    assert near.distances[0] == 0 and near.labels[0] == digits.labels[row]


def test_mismatched_labels_and_an_unknown_split_are_refused(model):
    pixels = np.zeros((4, 28, 28), dtype=np.uint8)
    with pytest.raises(ValueError, match="one label per picture"):
        neighbours.split_features(model, pixels, [0, 1, 2])
    with pytest.raises(ValueError, match="split must be"):
        neighbours.split_features(model, pixels, [0, 1, 2, 3], split="validation")
    small = neighbours.split_features(model, pixels, [0, 1, 2, 3], split="test", batch_size=3)
    assert small.features.shape == (4, 128)
