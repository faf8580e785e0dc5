"""The draw page in Chromium: the built-in example at first, any unit opened by a click, a drawing that stays."""
from __future__ import annotations

import pytest

from livetest.drawing import DIGITS, draw_and_predict, shown_prediction
from e2e_helpers import choose_layer, exceptions_on, go_to_page_in_session, open_page, screenshot, wait_until

pytestmark = pytest.mark.browser

UNIT_JS = """() => { const u = document.querySelector('.cnnviz-unit');
  return u ? [u.dataset.layer, u.dataset.unit, u.innerText] : null; }"""

# Page coordinates of the centre of square (row, col) of the clickable map (the inspector's grid picture).
CELL_JS = """([row, col]) => {
  const grid = document.querySelector('.st-key-inspector .cnnviz-map-picker [data-grid]');
  if (!grid) return null;
  const [rows, cols] = grid.dataset.grid.split(' ').map(Number), box = grid.getBoundingClientRect();
  return [box.left + (col + 0.5) * box.width / cols, box.top + (row + 0.5) * box.height / rows];
}"""
READOUT_JS = """() => document.querySelector('.st-key-inspector [data-readout]')?.textContent"""

# White pixels on the fabric canvas that holds the strokes (the drawing layer under the mouse layer).
INK_JS = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++; return n; }"""


def _unit(page):
    return page.evaluate(UNIT_JS)


def _ink(page) -> int:
    """How many pixels of the canvas (inside the component's shadow root) are ink."""
    return max(c.evaluate(INK_JS) for c in page.locator("canvas.lower-canvas").all())  # strokes or background


def _wait_for_ink(page, at_least: int, timeout: float = 30.0) -> int:
    return wait_until(lambda: (ink := _ink(page)) >= at_least and ink, timeout, f"{at_least} ink pixels")


def test_the_page_opens_on_the_built_in_example(page, base_url):
    open_page(page, base_url, "draw")
    page.get_by_text("The built-in example 7, not your drawing").wait_for()
    wait_until(lambda: page.locator(".cnnviz-example").get_attribute("data-prediction") == "7", 30,
               "the example's prediction, below, labelled as the example")
    assert page.locator(".cnnviz-prediction").count() == 0      # nothing beside the empty canvas
    wait_until(lambda: page.locator(".st-key-network svg.cnnviz-network").count() == 1, 30, "the network picture")
    assert exceptions_on(page) == []


def test_clicking_a_square_of_the_map_opens_that_unit(page, base_url, console):
    open_page(page, base_url, "draw")
    page.locator(".cnnviz-unit").wait_for()
    layer, unit, _ = _unit(page)
    channel = unit.split(",")[0]
    page.wait_for_function(f"() => ({CELL_JS})([0, 0]) !== null", timeout=30_000, polling=100)
    page.locator(".st-key-inspector .cnnviz-map-picker").scroll_into_view_if_needed()
    x, y = page.evaluate(CELL_JS, [9, 11])
    page.mouse.move(x, y)                    # pointing at a square reads its value under the map
    wait_until(lambda: (page.evaluate(READOUT_JS) or "").startswith("row 9, column 11: "), 10, "the value read out")
    page.mouse.click(x, y)
    layer, unit, text = wait_until(lambda: (u := _unit(page)) and u[1] == f"{channel},9,11"
                                   and "The network's own forward pass gives" in u[2] and u, 30, "the clicked unit")
    assert layer == "relu1" and unit == f"{channel},9,11"
    assert "Sum of the 9 products" in text and "+ bias" in text and "max(0, " in text
    assert "The network's own forward pass gives" in text
    screenshot(page, "draw-inspector-clicked")
    assert exceptions_on(page) == [] and console.errors == []


def test_picking_a_pool_unit_shows_its_window_and_winner(page, base_url):
    open_page(page, base_url, "draw")
    page.locator(".cnnviz-unit").wait_for()
    choose_layer(page, "pool1")
    page.wait_for_function(f"() => {{ const u = ({UNIT_JS})(); return u && u[0] === 'pool1'; }}",
                           timeout=30_000, polling=100)
    assert "The largest of the 4 values wins" in _unit(page)[2]


def test_a_drawing_stays_after_a_visit_to_another_page(page, base_url):
    """Draw a 1, look at Learned filters (which use the drawing), come back: strokes and prediction are still there."""
    open_page(page, base_url, "draw")
    page.locator("canvas.upper-canvas").first.wait_for(state="visible")
    assert draw_and_predict(page, DIGITS[1]) == 1
    ink = _ink(page)
    assert ink > 500
    go_to_page_in_session(page, "Learned filters")
    page.get_by_text("input: your drawing").wait_for()
    go_to_page_in_session(page, "Draw a digit")
    page.locator("canvas.lower-canvas").first.wait_for(state="visible")
    _wait_for_ink(page, ink // 2)  # the canvas mounted again, with the strokes it had
    wait_until(lambda: shown_prediction(page) == 1, 30, "the drawing's prediction, 1")
    screenshot(page, "draw-after-page-change")


def test_a_students_design_is_shown_and_a_conv_unit_of_its_last_block_opens(page, base_url, console, tmp_path):
    """Upload a design (3 blocks, batch norm, leaky ReLU, 5x5 valid first kernel) on the Training page, then on the
    Draw page: the page names it, and a unit of its last conv block opens with the model's own forward pass."""
    import torch

    from cnnviz.checkpoint import save
    from cnnviz.model import ConvBlock, DigitCNN, ModelConfig
    from cnnviz.preprocess import preprocess
    from cnnviz.sketch import draw_digit
    from cnnviz.trace import trace

    torch.manual_seed(1)
    config = ModelConfig(blocks=(ConvBlock(8, 5, "valid", 1, "leaky_relu", True), ConvBlock(16, batch_norm=True,
                                 pool="avg"), ConvBlock(24, pool="none")), hidden=(32,))
    model = DigitCNN(config).eval()
    path = save(tmp_path / "mine.safetensors", model, {})
    open_page(page, base_url, "training")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    page.get_by_text("mine.safetensors is now your active model").wait_for(timeout=60_000)
    go_to_page_in_session(page, "Draw a digit")
    page.get_by_text("Showing: uploaded mine.safetensors (3 conv blocks, FC head").wait_for()
    page.locator(".cnnviz-unit").wait_for()
    choose_layer(page, "conv3 + relu3")
    page.wait_for_function(f"() => {{ const u = ({UNIT_JS})(); return u && u[0] === 'relu3'; }}",
                           timeout=30_000, polling=100)
    unit = tuple(int(u) for u in _unit(page)[1].split(","))
    shown = float(page.locator(".cnnviz-unit").get_attribute("data-value"))
    _, x = preprocess(draw_digit(7))                           # the built-in example the page reads
    with torch.no_grad():
        assert shown == pytest.approx(float(trace(model, x)["relu3"][0][unit]), abs=1e-5)
    assert "Sum of all 16 partial sums" in _unit(page)[2]
    screenshot(page, "draw-inspector-design")
    assert exceptions_on(page) == [] and console.errors == []
