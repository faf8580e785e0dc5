"""The pooling page's work is cached across sessions (issue 21: a class of 40 moved to Pooling at once). The
cached figures must be exactly the figures built directly, and no session's changes to its figure (lecture mode
enlarges fonts, show_chart sets the height) may reach another session's copy."""
import json

import numpy as np
import pandas  # noqa: F401 -- whole before any AppTest: in a fresh process app.py's background import of pandas
import plotly.io as pio  # can still be half-made when the page's first chart is drawn (reported, not ours)
import pytest
import streamlit as st

from app_helpers import figure, open_app_page, open_from_link, z
from cnnviz import pooling
from cnnviz_ui import charts, pooling_view as view
from cnnviz_ui.shell import _enlarge

X = pooling.CHAPTER_FEATURE_MAP
RANGE = (0.0, 8.0)


@pytest.fixture(autouse=True)
def fresh_cache():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def as_json(fig) -> dict:
    """The figure as the browser gets it (parsed: a Figure rebuilt from its spec lists layout keys in another
    order)."""
    return json.loads(pio.to_json(fig, validate=False, pretty=False))


def direct_input(x, padding, window):
    values, text = view.padded_input(x, padding, "max")
    return charts.grid(values, text=text, highlight=window, origin=(-padding, -padding), title="Input",
                       colorscale="sequential", zrange=RANGE)


def direct_output(x, k, s, p, mode, upto, title):
    steps = pooling.pool_steps(x, k, s, p, mode)
    values, text = view.output_so_far(steps, upto)
    i, j = steps[upto - 1].out_pos
    return charts.grid(values, text=text, highlight=(i, i + 1, j, j + 1), title=title, colorscale="sequential",
                       zrange=RANGE)


@pytest.mark.parametrize("padding, window", [(0, (0, 2, 0, 2)), (1, (-1, 2, 1, 4))])
def test_the_cached_input_figure_is_the_direct_one_first_and_second_time(padding, window):
    want = as_json(direct_input(X, padding, window))
    assert as_json(view.input_figure(X, padding, window, RANGE)) == want
    assert as_json(view.input_figure(X, padding, window, RANGE)) == want  # from the cache


@pytest.mark.parametrize("mode, title", [("max", "Max pooling"), ("avg", "Average pooling")])
def test_the_cached_output_figure_is_the_direct_one_at_every_step(mode, title):
    for upto in range(1, 5):
        want = as_json(direct_output(X, 3, 1, 0, mode, upto, title))
        for _ in range(2):
            assert as_json(view.output_figure(X, 3, 1, 0, mode, upto, RANGE, title)) == want


def test_the_cached_shift_figures_are_the_direct_ones():
    before, after, same = pooling.shift_invariance(X, 0, 1, 2, 2, 0, "max")
    windows = pooling.shift_windows(X, 0, 1, 2, 2, 0)
    moved = pooling.shift(X, 0, 1)
    want = [charts.grid(moved, text=view.shifted_text(moved, windows), title="Input moved 1 px right",
                        colorscale="sequential", zrange=RANGE),
            charts.grid(before, title="Max pooled, before", colorscale="sequential", zrange=RANGE),
            charts.grid(after, text=view.marked(after, same), title="Max pooled, after", colorscale="sequential",
                        zrange=RANGE)]
    for _ in range(2):
        got_same, got_windows, figs = view.shift_figures(X, 0, 1, 2, 2, 0, RANGE)
        np.testing.assert_array_equal(got_same, same)
        assert got_windows == windows
        assert [as_json(f) for f in figs] == [as_json(f) for f in want]


def test_lecture_mode_enlarges_a_cached_figure_as_it_enlarges_a_direct_one():
    direct, cached = direct_input(X, 1, (-1, 2, -1, 2)), view.input_figure(X, 1, (-1, 2, -1, 2), RANGE)
    for fig in (direct, cached):
        _enlarge(charts.lecture_margins(fig), 20 / 14)
        fig.update_layout(height=300)
    assert as_json(cached) == as_json(direct)
    assert cached.data[0].textfont.size == direct.data[0].textfont.size == 20


def test_a_session_changing_its_figure_leaves_the_next_sessions_copy_alone():
    untouched = as_json(view.output_figure(X, 2, 2, 0, "max", 2, RANGE, "Max pooling"))
    first = view.output_figure(X, 2, 2, 0, "max", 2, RANGE, "Max pooling")
    _enlarge(charts.lecture_margins(first), 20 / 14)
    first.update_layout(height=999)
    first.update_traces(text=[["changed"]], zmax=1.0)
    first.layout.title.text = "changed"
    assert as_json(view.output_figure(X, 2, 2, 0, "max", 2, RANGE, "Max pooling")) == untouched


def test_a_geometry_that_does_not_fit_still_raises_every_time():
    for _ in range(2):
        with pytest.raises(ValueError, match="kernel_size 5 is larger"):
            view.pool_steps(X, 5, 1, 0)


def test_two_sessions_on_the_same_view_see_the_same_correct_page(data_root, monkeypatch):
    """A class of two on Pooling (kernel 3, stride 1): the second session's page comes from the cache and
    shows the same, correct grids; a third in lecture mode gets its larger type without changing theirs."""
    monkeypatch.setenv("CNNVIZ_DATA", str(data_root))
    first = open_from_link("pooling", pool_kernel="3", pool_stride="1")
    second = open_from_link("pooling", pool_kernel="3", pool_stride="1")
    want = pooling.pool2d(X, 3, 1, 0, "max")
    for at in (first, second):
        np.testing.assert_array_equal(z(at, "pool_out_max")[0, 0], want[0, 0])
        np.testing.assert_array_equal(z(at, "pool_in"), X)
        np.testing.assert_array_equal(z(at, "pool_before"), want)
    assert figure(first, "pool_out_avg") == figure(second, "pool_out_avg")
    lecture = open_app_page("pooling", lecture_mode=True, pool_kernel=3, pool_stride=1)
    assert figure(lecture, "pool_in")["layout"]["font"]["size"] == 20
    third = open_from_link("pooling", pool_kernel="3", pool_stride="1")
    assert figure(third, "pool_in") == figure(first, "pool_in")
