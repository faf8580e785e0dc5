"""The Draw page's network picture in Chromium: one connected figure, and a click on a map opens that map."""
from __future__ import annotations

import pytest

from livetest.drawing import DIGITS, draw_and_predict
from e2e_helpers import exceptions_on, open_page, screenshot, wait_until

pytestmark = pytest.mark.browser

UNIT_JS = """() => { const u = document.querySelector('.cnnviz-unit');
  return u ? [u.dataset.layer, u.dataset.unit] : null; }"""

# The network picture (inside the st-key-network box): what it outlines, and each map's clickable square.
NETWORK_JS = """() => { const svg = document.querySelector('.st-key-network svg.cnnviz-network');
  return svg ? {selected: svg.dataset.selected, digest: svg.dataset.digest} : null; }"""


def _click(page, layer: str, index: int) -> None:
    spot = page.locator(f'.st-key-network [data-spot="{layer} {index}"]')
    spot.scroll_into_view_if_needed()
    box = spot.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_the_network_is_one_picture_from_input_to_probabilities(page, base_url):
    open_page(page, base_url, "draw")
    meta = wait_until(lambda: page.evaluate(NETWORK_JS), 60, "the network picture")
    joined = page.locator(".st-key-network svg.cnnviz-network").text_content()
    for name in ("input", "conv1 + relu1", "pool1", "conv2 + relu2", "pool2", "logits", "probabilities"):
        assert name in joined, (name, joined)
    assert meta["selected"]
    picture = page.locator(".st-key-network svg.cnnviz-network").bounding_box()
    assert picture["width"] > 600 and picture["height"] > 150            # drawn, across the page
    assert exceptions_on(page) == []


def test_clicking_a_map_opens_it_in_the_inspector(page, base_url, console):
    open_page(page, base_url, "draw")
    page.locator("canvas.upper-canvas").first.wait_for(state="visible")
    assert draw_and_predict(page, DIGITS[7]) == 7
    wait_until(lambda: page.evaluate(NETWORK_JS), 60, "the network picture")
    _click(page, "pool2", 21)
    layer, unit = wait_until(lambda: (u := page.evaluate(UNIT_JS)) and u[0] == "pool2" and u, 60,
                             "the inspector on pool2")
    assert unit.split(",")[0] == "21"
    assert page.get_by_label("Layer", exact=True).input_value() == "pool2"
    wait_until(lambda: (page.evaluate(NETWORK_JS) or {}).get("selected") == "pool2 21", 30,
               "pool2 map 21 outlined on the picture")
    screenshot(page, "draw-network-clicked")
    # a second click, on another layer's map, moves the inspector again
    _click(page, "relu1", 3)
    wait_until(lambda: (u := page.evaluate(UNIT_JS)) and u[0] == "relu1" and u[1].startswith("3,") and u, 60,
               "the inspector on relu1 map 3")
    assert exceptions_on(page) == [] and console.errors == []


def test_clicking_a_logit_opens_that_digit(page, base_url):
    open_page(page, base_url, "draw")
    wait_until(lambda: page.evaluate(NETWORK_JS), 60, "the network picture")
    _click(page, "logits", 3)
    wait_until(lambda: (u := page.evaluate(UNIT_JS)) and u == ["logits", "3"], 60, "the inspector on logit 3")
