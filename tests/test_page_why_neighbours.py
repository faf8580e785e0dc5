"""The "Why this answer?" page's "Where my digit lands" with MNIST on the server: the digit's 8 nearest neighbours
come from the 60,000 training digits (pictures, labels, distances), found as a brute-force search finds them."""
import re

import numpy as np
import pytest
import streamlit as st

from cnnviz import embedding, neighbours
from cnnviz.data import load_split
from app_helpers import array, figure, open_app_page, texts



def _neighbours(at) -> dict:
    (tag,) = [m for h in at.html for m in re.findall(r"<div class='cnnviz-neighbours'([^>]*)>", h.value)]
    return dict(re.findall(r"data-([a-z-]+)='([^']*)'", tag))


@pytest.fixture(scope="module")
def landing(data_root):
    """The page opened once for the module, with MNIST (as tests/conftest.py's `online`, for the module: the
    training digits' features are computed once, not once per test)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNVIZ_DATA", str(data_root))
        st.cache_resource.clear()
        at = open_app_page("why")
        at.session_state["why_tab"] = "Where my digit lands"
        at.run(timeout=300)  # the 60,000 digits' features: once
        assert not at.exception, [e.value for e in at.exception]
        yield at
    st.cache_resource.clear()


def test_the_nearest_digits_are_training_digits_with_their_true_labels(landing, data_root):
    near = _neighbours(landing)
    indices = [int(i) for i in near["indices"].split(",")]
    labels = [int(label) for label in near["labels"].split(",")]
    assert near["source"] == "train" and len(indices) == 8
    train = load_split("train", root=data_root, download=False)
    assert labels == [int(train.labels[i]) for i in indices]             # the training set's own labels
    assert labels.count(7) >= 5                                          # MNIST's test digit #0, a 7, among 7s
    assert "nearest training digits" in texts(landing.html) and "of 60,000" in texts(landing.html)
    assert not any("not on this server" in i.value for i in landing.info)   # no fallback, no missing pictures
    captions = [i.caption for image in landing.get("image") for i in image.proto.imgs]
    assert any(c.startswith("the nearest training digits") for c in captions)


def test_the_page_finds_what_a_brute_force_search_over_the_training_features_finds(landing, data_root):
    from cnnviz_ui import why_inside
    from cnnviz_ui.models import shipped_model
    bank = why_inside.shipped_training_bank("fc")                        # the page's shared cache, already filled
    assert bank.features.shape == (60000, 128)
    assert "MNIST test digit #0" in texts(landing.caption)                 # the digit the page explains
    test = load_split("test", root=data_root, download=False)
    query = embedding.digit_features(shipped_model("fc").model, test.raw[0].numpy() / 255.0)
    d = np.linalg.norm(bank.features.astype(np.float64) - query, axis=1)  # [60000]
    near = _neighbours(landing)
    shown = [int(i) for i in near["indices"].split(",")]
    np.testing.assert_allclose(d[shown], np.sort(d)[:8], rtol=1e-5, atol=1e-4)


def test_the_training_neighbours_are_ringed_on_the_map_beside_the_test_digits(landing):
    spec = figure(landing, "why_digit_map")
    ring = [t for t in spec["data"] if t.get("name") == "nearest digits"]
    assert len(ring) == 1 and len(array(ring[0]["x"])) == 8
    caption = texts(landing.caption)
    assert "5,000 test digits" in caption and "nearest training digits, placed by the same two directions" in caption


def test_a_students_own_model_finds_its_neighbours_once_and_keeps_them_in_its_session(online):
    """A design of the student's own (untrained here): its map and its training features are its own, computed
    once for the session; a second look at the tab finds the same bank, and the same 8 digits."""
    import torch

    from cnnviz.model import DigitCNN, ModelConfig
    from cnnviz_ui.models import ACTIVE_KEY, LoadedModel, frozen
    from cnnviz_ui.why_sections import CACHE_KEY
    torch.manual_seed(0)
    loaded = LoadedModel(frozen(DigitCNN(ModelConfig.uniform(channels=(4,), hidden=(16,)))), "your design 'tiny'", {})
    at = open_app_page("why", **{ACTIVE_KEY: loaded})
    at.session_state["why_tab"] = "Where my digit lands"
    at.run(timeout=300)  # the 60,000 digits' features: once
    assert not at.exception, [e.value for e in at.exception]
    first = _neighbours(at)
    assert first["source"] == "train" and "your design 'tiny'" in texts(at.caption)
    bank = at.session_state[CACHE_KEY][("training features", id(loaded.model))]
    assert bank.features.shape == (60000, 16) and bank.split == "train"
    at.run()
    assert at.session_state[CACHE_KEY][("training features", id(loaded.model))] is bank   # not computed again
    assert _neighbours(at) == first
    query = embedding.digit_features(loaded.model, load_split("test", download=False).raw[0].numpy() / 255.0)
    d = np.linalg.norm(bank.features.astype(np.float64) - query, axis=1)   # [60000]
    shown = [int(i) for i in first["indices"].split(",")]
    np.testing.assert_allclose(d[shown], np.sort(d)[:8], rtol=1e-5, atol=1e-4)


def test_opening_the_page_starts_the_shipped_models_training_features_in_the_background(landing):
    from cnnviz_ui import why_inside
    from cnnviz_ui.models import shipped_model
    early = why_inside._early_banks["fc"]          # begun by the page's first run, before any tab was opened
    bank = early.result(timeout=600)
    assert bank.split == "train" and bank.features.shape == (60000, 128)
    pixels, labels = why_inside._training_pixels()
    direct = neighbours.split_features(shipped_model("fc").model, pixels[:500], labels[:500], "train")
    np.testing.assert_allclose(bank.features[:500], direct.features, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(why_inside.shipped_training_bank("fc").features, bank.features)
