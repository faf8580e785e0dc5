"""The digit map: the penultimate layer's features, PCA to 2-D, live placement and nearest digits."""
import numpy as np
import pytest
import torch
from torch import nn

from cnnviz import checkpoint, embedding
from cnnviz.data import load_split
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit


@pytest.fixture(scope="module")
def model():
    return checkpoint.load(checkpoint.shipped_path("fc"))[0]


@pytest.fixture(scope="module")
def test_split(data_root):
    return load_split("test", root=data_root)


@pytest.fixture(scope="module")
def small_map(model, test_split):
    return embedding.digit_map(model, test_split, count=1000, seed=1)


def test_features_are_what_the_last_linear_layer_reads(model):
    gap = checkpoint.load(checkpoint.shipped_path("gap"))[0]
    pictures = np.stack([preprocess(draw_digit(d))[0] for d in (0, 1, 2, 3)])  # [4, 28, 28]
    for net, name, width in ((model, "fc2", 128), (gap, "fc", 32)):
        assert embedding.penultimate_layer(net) == name
        f = embedding.features(net, pictures)
        assert f.shape == (4, width) and f.dtype == np.float32
        last = dict(net.named_modules())[name]
        with torch.no_grad():
            logits = net((torch.tensor(pictures)[:, None] - 0.1307) / 0.3081)
            np.testing.assert_allclose(last(torch.tensor(f)).numpy(), logits.numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="Linear"):
        embedding.penultimate_layer(nn.Sequential(nn.Conv2d(1, 2, 3)))


def test_the_projection_is_the_first_two_principal_directions():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(400, 6)) * np.array([5, 3, 1, 1, 0.5, 0.2]) + 7
    projection, explained = embedding.fit_projection(feats)
    values, vectors = np.linalg.eigh(np.cov(feats.T))  # the oracle: the covariance's eigenvectors
    top = vectors[:, ::-1][:, :2]
    for i in range(2):
        assert abs(abs(projection.components[:, i] @ top[:, i]) - 1) < 1e-9
        assert projection.components[np.abs(projection.components[:, i]).argmax(), i] > 0  # the sign rule
    np.testing.assert_allclose(explained, values[::-1][:2] / values.sum(), rtol=1e-9)
    np.testing.assert_allclose(projection.mean, feats.mean(0))
    shuffled, _ = embedding.fit_projection(feats[rng.permutation(400)])
    np.testing.assert_allclose(shuffled.components, projection.components, atol=1e-9)  # order-free, same signs


def test_a_digit_already_on_the_map_is_placed_on_its_own_point(model, test_split, small_map):
    for row in (0, 17, 999):
        picture = test_split.raw[small_map.indices[row]].numpy() / 255.0
        place = small_map.projection.place(embedding.digit_features(model, picture))
        np.testing.assert_allclose(place, small_map.coords[row], atol=1e-4)


def test_the_nearest_digit_to_a_mapped_digit_is_itself(small_map):
    for row in (3, 500):
        rows, distances = embedding.nearest(small_map.features, small_map.features[row], k=8)
        assert rows[0] == row and distances[0] == 0
        assert len(rows) == 8 and np.all(np.diff(distances) >= 0)
        brute = np.linalg.norm(small_map.features - small_map.features[row], axis=1)
        np.testing.assert_allclose(distances, np.sort(brute)[:8], rtol=1e-5, atol=1e-5)


def test_labels_cluster_on_the_map(small_map):
    """Each digit's 10 nearest neighbours on the 2-D map vote: far more often right than the 10% of chance."""
    xy = torch.tensor(small_map.coords, dtype=torch.float64)
    d = torch.cdist(xy, xy)
    d.fill_diagonal_(float("inf"))
    votes = torch.tensor(small_map.labels)[d.topk(10, largest=False).indices]  # [N, 10]
    accuracy = (torch.mode(votes, 1).values.numpy() == small_map.labels).mean()
    assert accuracy > 0.5


def test_the_sample_is_seeded_and_in_split_order(small_map, test_split):
    np.testing.assert_array_equal(small_map.indices, embedding.sample_indices(len(test_split), 1000, seed=1))
    assert np.all(np.diff(small_map.indices) > 0)
    np.testing.assert_array_equal(small_map.labels, test_split.labels[small_map.indices].numpy())


def test_a_map_survives_saving_and_loading(small_map, tmp_path):
    path = embedding.save_map(tmp_path / "map.safetensors", small_map, {"model": "test"})
    loaded, meta = embedding.load_map(path)
    assert meta == {"model": "test"}
    np.testing.assert_array_equal(loaded.coords, small_map.coords)
    np.testing.assert_array_equal(loaded.indices, small_map.indices)
    np.testing.assert_allclose(loaded.features, small_map.features, rtol=1e-3, atol=1e-3)  # float16
    with pytest.raises(ValueError, match="record_explain"):
        embedding.load_map(tmp_path / "missing.safetensors")


def test_the_shipped_map_loads_and_holds_together_without_mnist():
    digits, meta = embedding.load_shipped_map()
    assert len(digits.coords) == embedding.MAP_SIZE == len(set(digits.indices.tolist()))
    assert set(digits.labels.tolist()) == set(range(10))
    # float16 features placed by the stored projection land where the map says
    np.testing.assert_allclose(digits.projection.place(digits.features), digits.coords, atol=0.02)
    assert meta["split"] == "test"


def test_the_shipped_map_places_a_test_digit_on_its_stored_point(model, test_split):
    digits, _ = embedding.load_shipped_map()
    np.testing.assert_array_equal(digits.labels, test_split.labels[digits.indices].numpy())
    for row in (0, 2500, 4999):
        picture = test_split.raw[digits.indices[row]].numpy() / 255.0
        place = digits.projection.place(embedding.digit_features(model, picture))
        np.testing.assert_allclose(place, digits.coords[row], atol=1e-3)
