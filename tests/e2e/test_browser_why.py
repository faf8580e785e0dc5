"""A student draws a digit, opens "Why this answer?", sees its four maps, attacks it and sees the flipped answer;
the attacked digit is on a canvas of its own, where painting changes what the network reads."""
from __future__ import annotations

import pytest

from livetest.drawing import DIGITS, draw_and_predict, draw_strokes
from e2e_helpers import exceptions_on, go_to_page_in_session, open_page, rerun, screenshot, wait_until

pytestmark = pytest.mark.browser

FLIP_JS = """() => { const f = document.querySelector('.cnnviz-flip');
  return f ? [f.dataset.before, f.dataset.after, f.innerText] : null; }"""
FIXED_JS = """() => { const f = document.querySelector('.cnnviz-fixed');
  const bars = f && f.parentElement.querySelector('.cnnviz-probabilities');
  return f ? [f.dataset.answer, bars ? bars.dataset.digest : ''] : null; }"""


def _open_in_session(page, title: str) -> None:
    """The sidebar link, after unfolding the sidebar's "View N more" (Explore is past the first ten pages)."""
    more = page.locator('[data-testid="stSidebarNav"]').get_by_role("button", name="View")
    if more.count():
        more.first.click()
    go_to_page_in_session(page, title)


def _maps(page) -> list[list[str]]:
    return page.evaluate("""() => [...document.querySelectorAll('figure.cnnviz-attribution')]
        .map(f => [f.dataset.method, f.dataset.target])""")


def test_a_drawn_digit_is_explained_attacked_and_flipped(page, base_url, console):
    open_page(page, base_url, "draw")
    page.locator("canvas.upper-canvas").first.wait_for(state="visible")
    assert draw_and_predict(page, DIGITS[7]) == 7

    _open_in_session(page, "Why this answer?")
    maps = wait_until(lambda: len(_maps(page)) == 4 and _maps(page), 60, "the four maps")
    assert [m[0] for m in maps] == ["saliency", "integrated_gradients", "grad_cam", "occlusion"]
    assert {m[1] for m in maps} == {"7"}                                      # the drawn digit's answer
    assert "Digit: your drawing" in page.locator('[data-testid="stMain"]').inner_text()

    rerun(page, page.get_by_role("button", name="Attack my digit").click)
    before, after, text = wait_until(lambda: page.evaluate(FLIP_JS), 60, "the flipped answer")
    assert before == "7" and after != "7"
    assert f"The network now answers {after}" in text
    assert page.locator(".cnnviz-flip").is_visible()
    screenshot(page, "why-attacked")

    # the attacked digit waits on its own canvas (the page's second one is none: the Draw page is not shown)
    fix = page.locator("canvas.upper-canvas").first
    fix.wait_for(state="visible")
    answer, digest = wait_until(lambda: page.evaluate(FIXED_JS), 30, "the canvas's answer")
    assert answer == after                                                    # untouched: still the attacked answer
    draw_strokes(page, [[(0.5, 0.1), (0.5, 0.9)]])                            # a bold stroke down the middle
    wait_until(lambda: page.evaluate(FIXED_JS)[1] != digest, 60, "the answer for the painted canvas")
    assert exceptions_on(page) == [] and console.errors == []
