"""The pooling stepper in a real browser: each step highlights its window and its output cell together."""
from __future__ import annotations

import pytest

from e2e_helpers import (
    alerts, eventually, exceptions_on, main_text, open_page, plotly_figure, rerun, screenshot, wait_until,
)

pytestmark = pytest.mark.browser

# The chapter's 4x4 map, 2x2 windows, stride 2: (input window rows, cols) -> output cell, max, average.
CHAPTER_STEPS = [
    ((0, 2), (0, 2), (0, 0), "max(1, 3, 5, 6) = 6", "avg(1, 3, 5, 6) = 3.75"),
    ((0, 2), (2, 4), (0, 1), "max(2, 4, 1, 2) = 4", "avg(2, 4, 1, 2) = 2.25"),
    ((2, 4), (0, 2), (1, 0), "max(7, 2, 4, 8) = 8", "avg(7, 2, 4, 8) = 5.25"),
    ((2, 4), (2, 4), (1, 1), "max(3, 1, 5, 6) = 6", "avg(3, 1, 5, 6) = 3.75"),
]


def _box(rows, cols):
    """The highlight rectangle a heatmap cell range gets: cell edges at half-integers."""
    return [cols[0] - 0.5, cols[1] - 0.5, rows[0] - 0.5, rows[1] - 0.5]


def test_stepping_moves_the_window_and_its_output_cell_together(page, console, base_url):
    open_page(page, base_url, "pooling")
    main = page.locator('[data-testid="stMain"]')
    for k, (rows, cols, cell, max_formula, avg_formula) in enumerate(CHAPTER_STEPS, start=1):
        if k > 1:
            rerun(page, page.get_by_role("button", name="Next ▶").click)
        wait_until(lambda: f"Step {k}/4" in main.inner_text(), 30, f"step {k}")
        eventually(lambda: plotly_figure(page, "Input")["shapes"], [_box(rows, cols)])
        cell_box = _box((cell[0], cell[0] + 1), (cell[1], cell[1] + 1))
        eventually(lambda: plotly_figure(page, "Max pooling")["shapes"], [cell_box])
        eventually(lambda: plotly_figure(page, "Average pooling")["shapes"], [cell_box])
        wait_until(lambda: (codes := "\n".join(page.locator('[data-testid="stCode"]').all_inner_texts()))
                   and max_formula in codes and avg_formula in codes, 30, f"the formulas of step {k}")
    screenshot(page, "pooling-last-step")
    assert exceptions_on(page) == [] and console.errors == []


def test_finished_output_is_the_chapter_result(page, base_url):
    open_page(page, base_url, "pooling")
    for _ in range(3):
        rerun(page, page.get_by_role("button", name="Next ▶").click)
    eventually(lambda: plotly_figure(page, "Max pooling")["z"], [[6, 4], [8, 6]])
    eventually(lambda: plotly_figure(page, "Average pooling")["z"], [[3.75, 2.25], [5.25, 3.75]])


def test_previous_steps_back(page, base_url):
    open_page(page, base_url, "pooling")
    rerun(page, page.get_by_role("button", name="Next ▶").click)
    wait_until(lambda: "Step 2/4" in main_text(page), 30, "step 2")
    rerun(page, page.get_by_role("button", name="◀ Previous").click)
    wait_until(lambda: "Step 1/4" in main_text(page), 30, "step 1 again")
    eventually(lambda: plotly_figure(page, "Input")["shapes"], [_box((0, 2), (0, 2))])


def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    rerun(page, lambda: box.press("Enter"))


def test_kernel_larger_than_padded_input_is_explained_not_a_traceback(page, console, base_url):
    open_page(page, base_url, "pooling")
    _set_number(page, "Kernel size", 6)
    wait_until(lambda: any("does not work" in a for a in alerts(page)), 30, "the message")
    screenshot(page, "pooling-invalid-kernel")
    assert exceptions_on(page) == [] and console.errors == []


def test_padding_more_than_half_the_kernel_is_explained_not_a_traceback(page, console, base_url):
    open_page(page, base_url, "pooling")
    _set_number(page, "Padding", 2)     # kernel 2: PyTorch allows padding <= kernel // 2 only
    wait_until(lambda: any("does not work" in a for a in alerts(page)), 30, "the message")
    assert exceptions_on(page) == [] and console.errors == []
