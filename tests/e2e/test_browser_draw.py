"""Drawing digits with a real mouse on the Draw page, as a student would, and reading the prediction shown."""
from __future__ import annotations

import pytest

from livetest.drawing import DIGITS, clear_canvas, draw_and_predict, draw_strokes, place, shown_prediction
from e2e_helpers import alerts, exceptions_on, open_page, rerun, screenshot, wait_idle, wait_until

pytestmark = pytest.mark.browser

PROMPT = "Draw a digit on the black square"


@pytest.fixture
def draw_page(page, base_url):
    open_page(page, base_url, "draw")
    page.locator("canvas.upper-canvas").first.wait_for(state="visible")
    return page


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_a_one_a_zero_and_a_seven_are_each_recognized_with_clears_between(draw_page, console):
    for digit in (1, 0, 7):
        assert draw_and_predict(draw_page, DIGITS[digit]) == digit
        screenshot(draw_page, f"draw-{digit}")
        clear_canvas(draw_page)
    assert exceptions_on(draw_page) == [] and console.errors == []


def test_the_canvas_is_the_copy_that_sends_30_ms_after_a_stroke(draw_page, server):
    """cnnviz_ui.canvas_frontend swaps in the component's own bundle with a shorter send delay; if that
    ever fails it falls back to the stock canvas (200 ms) and says so in the server log."""
    loaded = draw_page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert any("/bidi-components/cnnviz-canvas.canvas/index-fast.js" in url for url in loaded), loaded
    assert "stock drawing canvas" not in server.log()


def test_clearing_removes_the_prediction_and_shows_the_prompt(draw_page):
    draw_and_predict(draw_page, DIGITS[7])
    clear_canvas(draw_page)
    assert shown_prediction(draw_page) is None
    assert PROMPT in _main_text(draw_page)


def test_a_two_stroke_four_is_judged_as_a_whole(draw_page):
    assert draw_and_predict(draw_page, DIGITS[4]) == 4


def test_a_small_seven_in_a_corner_is_recognized(draw_page):
    assert draw_and_predict(draw_page, place(DIGITS[7], scale=0.35, dx=-0.3, dy=0.3)) == 7
    screenshot(draw_page, "draw-7-corner")


def test_a_large_off_centre_three_is_recognized(draw_page):
    assert draw_and_predict(draw_page, place(DIGITS[3], scale=1.15, dx=0.07, dy=-0.04)) == 3


def test_the_empty_canvas_prompts_instead_of_predicting(draw_page):
    assert shown_prediction(draw_page) is None
    assert PROMPT in _main_text(draw_page)


def test_a_single_dot_prompts_instead_of_predicting(draw_page, console):
    box = draw_page.locator("canvas.upper-canvas").first.bounding_box()
    # the canvas sends the dot like any stroke: wait for the script run it causes, then read the page
    rerun(draw_page, lambda: draw_page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2))
    assert shown_prediction(draw_page) is None
    assert any("nothing digit-like" in a for a in alerts(draw_page))
    # no answer of its own beside the dot: no prediction block, no probabilities, and the example is labelled
    assert draw_page.locator(".st-key-lesson .cnnviz-prediction, .st-key-lesson .cnnviz-probabilities").count() == 0
    assert "The built-in example 7, not your drawing" in _main_text(draw_page)
    assert exceptions_on(draw_page) == [] and console.errors == []


def test_a_scribble_covering_the_whole_canvas_gets_a_message_not_a_traceback(draw_page, console):
    zigzag = [[(0.0 if i % 2 == 0 else 1.0, i / 40) for i in range(41)]]
    draw_strokes(draw_page, zigzag + [[(i / 40, 0.0 if i % 2 == 0 else 1.0) for i in range(41)]],
                 steps_per_segment=10)
    # Either a prediction (it is some picture) or a message; never nothing at all.
    wait_until(lambda: shown_prediction(draw_page) is not None or any(PROMPT not in a for a in alerts(draw_page)),
               60, "a prediction or a message")
    wait_idle(draw_page)
    screenshot(draw_page, "draw-scribble-everywhere")
    assert exceptions_on(draw_page) == [] and console.errors == []


def test_drawing_after_a_bad_scribble_still_works(draw_page):
    rerun(draw_page, lambda: draw_strokes(draw_page, [[(0.05, 0.05), (0.95, 0.95)], [(0.95, 0.05), (0.05, 0.95)]] * 3))
    clear_canvas(draw_page)
    assert draw_and_predict(draw_page, DIGITS[1]) == 1
