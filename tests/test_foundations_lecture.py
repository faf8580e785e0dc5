"""The foundations pages in lecture mode (issue 18, point 1), as AppTest sees them: each page runs without an
error, its lesson (the stepper and the picture) sits in the container keyed "lesson", and the compact layout
keeps every control (the settings that do not fit the first row fold into "More settings").
The browser test tests/e2e/test_browser_lecture_fit.py measures the same pages on a real screen."""
from __future__ import annotations

import numpy as np
import pytest
from app_helpers import figure, texts, z
from streamlit.testing.v1 import AppTest

from cnnviz.filters import CLASSIC_KERNELS

APP = "../app.py"


@pytest.fixture(autouse=True)
def mnist_env(data_root, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA", str(data_root))


def lecture_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lecture_mode"] = "true"
    at.run()
    at.session_state["lecture_mode"] = True
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def lesson_block(at: AppTest):
    def walk(block):
        for child in getattr(block, "children", {}).values():
            proto = getattr(child, "proto", None)
            if proto is not None and "lesson" in str(getattr(proto, "id", "")):
                return child
            if (found := walk(child)) is not None:
                return found
        return None
    return walk(at.main)


def charts_in(block) -> list[str]:
    out = []
    for child in getattr(block, "children", {}).values():
        if getattr(child, "type", "") == "plotly_chart":
            out.append(child.proto.id)
        out += charts_in(child)
    return out


@pytest.mark.parametrize("page, charts", [
    ("convolution", ("conv_in", "conv_kernel", "conv_products", "conv_out")),
    ("pooling", ("pool_in", "pool_out_max", "pool_out_avg")),
    ("receptive_field", ("rf_boxes",)),
])
def test_the_lesson_container_holds_the_picture(page, charts):
    at = lecture_page(page)
    lesson = lesson_block(at)
    assert lesson is not None, "no container keyed 'lesson'"
    drawn = charts_in(lesson)
    for key in charts:
        assert any(d.endswith(f"-{key}") for d in drawn), f"{key} is not inside the lesson: {drawn}"


@pytest.mark.parametrize("page", ["activation_functions", "architecture"])
def test_the_other_foundations_pages_run_in_lecture_mode(page):
    lecture_page(page)


def test_convolution_in_lecture_mode_folds_the_rarer_settings_but_keeps_them():
    at = lecture_page("convolution")
    assert any("More settings" in e.label for e in at.expander)
    at.number_input(key="conv_dilation").set_value(2).run()
    assert not at.exception
    assert len(figure(at, "conv_in")["layout"]["shapes"]) == 1 + 9  # the window and its nine spread taps
    np.testing.assert_array_equal(z(at, "conv_kernel"), CLASSIC_KERNELS["Sobel X"])


def test_convolution_in_lecture_mode_writes_the_step_beside_the_stepper():
    at = lecture_page("convolution")
    assert "**Step 1/16** → output cell (0, 0)" in texts(at.markdown)
    at.button(key="conv_next").click().run()
    assert "**Step 2/16** → output cell (0, 1)" in texts(at.markdown)
    assert "→ cell (0, 1)" in texts(at.code)


def test_pooling_in_lecture_mode_writes_the_step_beside_the_stepper():
    at = lecture_page("pooling")
    assert "**Step 1/4**: rows 0:2, cols 0:2" in texts(at.markdown)
