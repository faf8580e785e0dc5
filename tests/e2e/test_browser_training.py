"""Live training in a real browser: it keeps going while the student looks at another page, and stops."""
from __future__ import annotations

import re

import pytest

from e2e_helpers import (
    choose, exceptions_on, go_to_page_in_session, open_page, plotly_figures, rerun, screenshot, wait_idle,
    wait_until,
)

pytestmark = pytest.mark.browser

STEP = re.compile(r"step (\d+)/(\d+)")


def _progress(page) -> tuple[int, int]:
    """(step, total) from the live progress text, once it shows one (the bar is re-drawn as it moves)."""
    found = wait_until(lambda: STEP.search(page.locator('[data-testid="stProgress"]').first.inner_text()),
                       60, "the progress bar to show a step")
    return int(found[1]), int(found[2])


def _wait_for_steps(page, at_least: int, timeout_ms: int = 90_000) -> None:
    page.wait_for_function(
        """n => { const p = document.querySelector('[data-testid="stProgress"]');
                  const m = p && p.innerText.match(/step (\\d+)\\//); return m && +m[1] >= n; }""",
        arg=at_least, timeout=timeout_ms, polling=200)


def _curve_points(page) -> int:
    """Points on the batch-loss curve of the live training chart (0 while no chart is drawn)."""
    return max((max(f["points"] or [0]) for f in plotly_figures(page)), default=0)


def _wait_for_curve(page, more_than: int) -> int:
    """Wait until the live chart has more than `more_than` points (it is re-drawn as the run goes on)."""
    return wait_until(lambda: _curve_points(page) > more_than and _curve_points(page), 90,
                      f"the live chart to pass {more_than} points")


def _settled_progress(page, timeout: float = 30.0) -> int:
    """The step the progress bar shows once two reads a second apart agree (the last update may still be
    on its way to the browser when the "stopped" state appears)."""
    seen = [_progress(page)[0]]

    def settled():
        page.wait_for_timeout(1000)
        seen.append(_progress(page)[0])
        return seen[-1] == seen[-2]

    wait_until(settled, timeout, "the progress bar to settle")
    return seen[-1]


def _progress_bars(page) -> int:
    return page.locator('[data-testid="stProgress"]').count()


def _stop(page) -> None:
    rerun(page, page.get_by_role("button", name="Stop", exact=True).click)


def _start_small_run(page) -> None:
    choose(page, "Batch size", "32")          # 1 epoch = 1875 steps: long enough to stop mid-epoch
    wait_idle(page)
    rerun(page, page.get_by_role("button", name="Start training").click)


def test_training_keeps_going_on_another_page_and_stops_mid_epoch(page, console, base_url):
    open_page(page, base_url, "training")
    _start_small_run(page)
    _wait_for_steps(page, 5)
    before, total = _progress(page)
    points_before = _wait_for_curve(page, 0)

    go_to_page_in_session(page, "Pooling")
    page.wait_for_timeout(4000)                # the student looks at pooling for a while
    go_to_page_in_session(page, "Training")

    _wait_for_steps(page, before + 1)
    after, _ = _progress(page)
    assert after > before
    _wait_for_steps(page, after + 1)           # and it is still live on screen
    _wait_for_curve(page, points_before)
    screenshot(page, "training-live")

    _stop(page)
    page.get_by_text("Stopped early").first.wait_for(timeout=30_000)
    stopped_at = _settled_progress(page)
    assert stopped_at < total                  # it stopped in the middle of the epoch
    page.wait_for_timeout(2500)                # a while later it still shows the same step
    assert _progress(page)[0] == stopped_at
    page.get_by_role("button", name="Use this model on the other pages").wait_for(timeout=30_000)
    screenshot(page, "training-stopped")
    assert exceptions_on(page) == [] and console.errors == []


def test_pressing_start_twice_quickly_starts_one_run(page, console, base_url):
    open_page(page, base_url, "training")
    choose(page, "Batch size", "32")
    wait_idle(page)
    rerun(page, page.get_by_role("button", name="Start training").dblclick)
    _wait_for_steps(page, 3)
    wait_until(lambda: _progress_bars(page) == 1, 30, "one progress bar")
    before, _ = _progress(page)
    start = page.get_by_role("button", name="Start training")
    # Once more while it runs. The page disables Start during a live run, and clicking a disabled button
    # makes Playwright wait until the run ends (when a new run is right), so click only while it is enabled.
    if start.is_enabled():
        rerun(page, start.click)
    _wait_for_steps(page, before + 1)                           # the same run goes on, not a fresh one
    assert _progress_bars(page) == 1 and _progress(page)[0] > before
    _stop(page)
    assert exceptions_on(page) == [] and console.errors == []
