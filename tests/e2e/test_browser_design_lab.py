"""The Design lab in Chromium: a student builds a design of their own, trains it briefly, uses it, and opens a
conv unit of its last block in the Draw page's inspector."""
from __future__ import annotations

import pytest

from e2e_helpers import (
    choose, choose_layer, exceptions_on, go_to_page_in_session, main_text, open_page, rerun, screenshot, wait_idle,
    wait_until,
)

pytestmark = pytest.mark.browser

NAME = "three blocks"
UNIT_JS = """() => { const u = document.querySelector('.cnnviz-unit');
  return u ? [u.dataset.layer, u.dataset.unit, u.innerText] : null; }"""


def _progress_text(page) -> str:
    bar = page.locator('.st-key-dl_live [data-testid="stProgress"]')
    return bar.first.inner_text() if bar.count() else ""


def test_a_design_built_trained_and_used_opens_its_last_conv_block_in_the_inspector(page, console, base_url):
    open_page(page, base_url, "design_lab")
    choose(page, "Start from a preset", "Tiny (under 5,000 parameters)")
    wait_idle(page)
    rerun(page, page.locator(".st-key-dl_blocks").get_by_role("radio", name="3", exact=True).click)
    page.get_by_text("Block 3", exact=True).wait_for()            # a third conv block: 28 -> 14 -> 7 -> 3
    name_box = page.get_by_label("Name of this design", exact=True)
    name_box.fill(NAME)
    rerun(page, lambda: name_box.press("Enter"))
    # the default budget (60 s) is more than this small design needs for the fast recipe's three epochs
    screenshot(page, "design-lab-built")

    rerun(page, page.get_by_role("button", name="Train it").click)
    wait_until(lambda: NAME in _progress_text(page), 90, "the run's progress")
    wait_until(lambda: page.locator(".st-key-dl_live .js-plotly-plot").count() == 1, 90, "the live curves")
    wait_until(lambda: any(s in _progress_text(page) for s in (": Finished", ": Stopped")), 180, "the end of the run")
    table = page.locator('[data-testid="stTable"]').filter(has_text="Test accuracy")
    wait_until(lambda: NAME in table.inner_text(), 60, "the run in the comparison table")
    screenshot(page, "design-lab-trained")

    rerun(page, page.get_by_role("button", name="Use this design on the other pages").click)
    page.get_by_text(f"The other pages now show your design '{NAME}'").wait_for()

    go_to_page_in_session(page, "Draw a digit")
    wait_until(lambda: f"your design '{NAME}'" in main_text(page), 30, "the draw page naming the design it shows")
    page.locator(".cnnviz-unit").wait_for()
    choose_layer(page, "conv3 + relu3")
    layer, unit, text = wait_until(lambda: (u := page.evaluate(UNIT_JS)) and u[0] == "relu3" and u, 60,
                                   "a unit of the last block's conv layer")
    assert len(unit.split(",")) == 3                                # map, row, column: a unit of a feature map
    assert "+ bias" in text and "The network's own forward pass gives" in text
    screenshot(page, "design-lab-inspector")
    assert exceptions_on(page) == [] and console.errors == []
