"""The Draw page's lesson on one projector screen: in lecture mode the canvas, its controls, the prediction
and (for a scribble) the caution lie wholly inside the first screen, at 1280x720 and at 1920x1080."""
from __future__ import annotations

import numpy as np
import pytest

from livetest.drawing import DIGITS, draw_and_predict
from e2e_helpers import alerts, exceptions_on, screenshot, wait_idle, wait_until

pytestmark = pytest.mark.browser

BOX_JS = """(sel) => { const e = document.querySelector(sel); if (!e) return null;
  const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, innerWidth, innerHeight]; }"""


def _scribble_strokes(seed: int = 13, points: int = 11) -> list:
    """tests/test_confidence.scribble's pen path, in the unit square the drawing helpers take."""
    rng = np.random.default_rng(seed)
    return [[tuple(float(v) / 280 for v in rng.uniform(20, 260, 2)) for _ in range(points)]]


def _inside_first_screen(page, selector: str) -> list:
    left, top, right, bottom, width, height = page.evaluate(BOX_JS, selector)
    assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop") in (0, None)
    assert 0 <= left and right <= width + 0.5, (selector, left, right, width)
    assert 0 <= top and bottom <= height + 0.5, (selector, top, bottom, height)
    return [left, top, right, bottom]


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_in_lecture_mode_the_drawing_and_its_answer_fit_the_first_screen(browser, base_url, size):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        page = ctx.new_page()
        page.goto(f"{base_url}/draw?lecture_mode=true", wait_until="domcontentloaded")
        page.locator(".st-key-lesson canvas.upper-canvas").first.wait_for(state="visible", timeout=90_000)
        wait_idle(page, 60)
        _inside_first_screen(page, ".st-key-lesson")
        assert draw_and_predict(page, DIGITS[7]) == 7
        page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
        _inside_first_screen(page, ".st-key-lesson")
        assert page.locator(".st-key-lesson .cnnviz-prediction").count() == 1
        assert page.locator(".st-key-lesson .cnnviz-probabilities").count() == 1
        screenshot(page, f"draw-lecture-{size[0]}x{size[1]}-seven")
        page.get_by_role("button", name="Clear", exact=True).click()
        page.get_by_text("Draw a digit on the black square").wait_for()
        page.locator("canvas.upper-canvas").first.wait_for(state="visible")
        wait_idle(page, 60)
        draw_and_predict(page, _scribble_strokes())
        wait_until(lambda: any("Take this answer with care" in a for a in alerts(page)), 30, "the caution")
        page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
        screenshot(page, f"draw-lecture-{size[0]}x{size[1]}-scribble")
        _inside_first_screen(page, ".st-key-lesson")
        assert exceptions_on(page) == []
    finally:
        ctx.close()
