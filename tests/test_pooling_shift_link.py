"""The one-pixel shift on the Pooling page (issue 18, points 4 and 6): the core says which maximum crossed a
window edge and which move keeps the maxima; the page's shift lives in the link and survives it."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from app_helpers import figure, open_from_link, texts, z
from streamlit.testing.v1 import AppTest

from cnnviz import pooling
from cnnviz.pooling import CHAPTER_FEATURE_MAP, kindest_shift, shift, shift_windows
from cnnviz_ui import streamlit_internals

APP = "../app.py"


# ---- the core -------------------------------------------------------------------------------------------------
def test_moving_the_chapter_map_right_carries_every_maximum_across_an_edge():
    windows = shift_windows(CHAPTER_FEATURE_MAP, 0, 1)
    assert [w.crossed for w in windows] == [True] * 4
    assert [(w.before, w.after) for w in windows] == [(6, 5), (4, 6), (8, 7), (6, 8)]
    assert windows[0].argmax == (1, 1) and windows[0].moved_to == (1, 2)


def test_moving_the_chapter_map_left_keeps_every_maximum_inside_its_window():
    windows = shift_windows(CHAPTER_FEATURE_MAP, 0, -1)
    assert not any(w.crossed for w in windows) and all(w.same for w in windows)


def test_a_larger_neighbour_moving_in_is_told_apart_from_a_crossing():
    x = np.array([[5, 0, 0, 9], [0, 0, 0, 0]], dtype=float)
    (w0, w1) = shift_windows(x, 0, -1, 2, 2)
    # the 5 at (0, 0) leaves the map (crossed); the 9 at (0, 3) moves to (0, 2), still in window 1
    assert w0.crossed and not w1.crossed and w1.same
    x = np.array([[0, 1, 9, 0], [0, 0, 0, 0]], dtype=float)  # the 1 stays in window 0, the 9 moves into it
    (w0, _) = shift_windows(x, 0, -1, 2, 2)
    assert not w0.crossed and w0.after == 9 and w0.reason == "a larger value moved in from next door"


@pytest.mark.parametrize("seed", range(5))
def test_shift_windows_agree_with_pytorch_max_pool(seed):
    x = pooling.random_feature_map(6, seed)
    for dy, dx in pooling.ONE_PIXEL_SHIFTS:
        theirs = F.max_pool2d(torch.tensor(shift(x, dy, dx))[None, None], 2)[0, 0].numpy().ravel()
        assert [w.after for w in shift_windows(x, dy, dx)] == theirs.tolist()


def test_kindest_shift_keeps_the_most_pooled_values():
    assert kindest_shift(CHAPTER_FEATURE_MAP) == (0, -1)
    x = pooling.random_feature_map(8, 3)
    best = kindest_shift(x)
    kept = {m: sum(w.same for w in shift_windows(x, *m)) for m in pooling.ONE_PIXEL_SHIFTS}
    assert kept[best] == max(kept.values())


# ---- the link -------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _app_py_runs_on_every_page(monkeypatch, data_root):
    """Run app.py on every page, as the server does (see tests/test_links_export.py)."""
    monkeypatch.setenv("CNNVIZ_DATA", str(data_root))
    with streamlit_internals.apptest_runs_app_py():
        yield


def _link_notes(at: AppTest) -> list[str]:
    return [i.value for i in at.info if "link could not be used" in i.value]


def test_the_shift_is_written_into_the_link():
    at = open_from_link("pooling")
    assert at.query_params["pool_shift"] in ("0,-1", ["0,-1"])
    at = at.button(key="pool_shift_reset").click().run()
    at = at.button(key="pool_shift_→").click().run()
    assert at.query_params["pool_shift"] in ("0,1", ["0,1"])


def test_a_link_with_a_shift_opens_on_that_shift():
    at = open_from_link("pooling", pool_shift="0,1")
    np.testing.assert_array_equal(z(at, "pool_shifted"), shift(CHAPTER_FEATURE_MAP, 0, 1))
    assert "Moved 1 px right: **0 of 4** pooled values unchanged." in texts(at.markdown)
    assert figure(at, "pool_shifted")["data"][0]["text"][1][2] == "6 ✗"
    assert _link_notes(at) == []


def test_a_link_with_a_random_map_and_a_shift_keeps_both():
    at = open_from_link("pooling", pool_input="A random map", pool_size="6", pool_seed="2", pool_shift="1,-1")
    x = pooling.random_feature_map(6, 2)
    np.testing.assert_array_equal(z(at, "pool_shifted"), shift(x, 1, -1))
    assert _link_notes(at) == []


@pytest.mark.parametrize("bad", ["0,9", "left", "1"])
def test_a_link_with_an_impossible_shift_opens_on_the_kindest_move_and_says_so(bad):
    at = open_from_link("pooling", pool_shift=bad)
    np.testing.assert_array_equal(z(at, "pool_shifted"), shift(CHAPTER_FEATURE_MAP, 0, -1))
    assert f"pool_shift={bad}" in _link_notes(at)[0]
