"""The convolution stepper in a real browser: Next moves the window and writes out its arithmetic, and a
number typed into the input grid changes the computation."""
from __future__ import annotations

import time

import pytest
from e2e_helpers import exceptions_on, main_text, open_page, plotly_figure, rerun, screenshot, wait_until

pytestmark = pytest.mark.browser


def _box(rows, cols):
    return [cols[0] - 0.5, cols[1] - 0.5, rows[0] - 0.5, rows[1] - 0.5]


def _codes(page) -> str:
    return "\n".join(page.locator('[data-testid="stCode"]').all_inner_texts())


def _wait_for_text(page, text: str, timeout: float = 30.0) -> None:
    wait_until(lambda: text in _codes(page), timeout, f"{text!r} in a code block")


def _wait_for_main(page, text: str, timeout: float = 30.0) -> None:
    wait_until(lambda: text in main_text(page), timeout, f"{text!r} on the page")


def test_next_steps_the_window_and_writes_out_its_products(page, console, base_url):
    open_page(page, base_url, "convolution")
    _wait_for_main(page, "Step 1/16")
    _wait_for_text(page, "= 24  → cell (0, 0)")
    rerun(page, page.get_by_role("button", name="Next ▶").click)
    _wait_for_main(page, "Step 2/16")
    # window rows 0-2, columns 1-3 of the starting grid under Sobel X: 9 + 18 + 9
    _wait_for_text(page, "  0·(−1) + 5·0 + 9·1\n+ 0·(−2) + 6·0 + 9·2")  # a true minus sign (visual.number)
    _wait_for_text(page, "= 36  → cell (0, 1)")
    wait_until(lambda: plotly_figure(page, "Input")["shapes"] == [_box((0, 3), (1, 4))], 30, "the window moved")
    screenshot(page, "convolution-step-2")
    assert exceptions_on(page) == [] and console.errors == []


def test_a_number_typed_into_the_grid_changes_the_computation(page, console, base_url):
    open_page(page, base_url, "convolution")
    page.get_by_text("Edit the input grid").click()
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(state="visible")
    box = grid.bounding_box()
    rows = 7  # a header row and six grid rows share the table's height
    row_h = box["height"] / rows
    editor = page.locator("input.gdg-input")
    deadline = time.monotonic() + 30
    while not editor.is_visible():  # the grid draws on a canvas: double-click until its cell editor opens
        assert time.monotonic() < deadline, "the grid's cell editor did not open"
        grid.dblclick(position={"x": 15, "y": row_h * 1.5})  # row 0, column 0
        page.wait_for_timeout(200)
    editor.fill("2")
    editor.press("Enter")
    _wait_for_text(page, "  2·(−1) + 0·0 + 5·1")
    _wait_for_text(page, "= 22  → cell (0, 0)")
    assert exceptions_on(page) == [] and console.errors == []
