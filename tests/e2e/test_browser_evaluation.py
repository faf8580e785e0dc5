"""The evaluation page in a real browser: a click on a confusion-matrix cell picks it and puts it in the link,
and a digit's Inspect button opens it on the Draw page."""
from __future__ import annotations

import re

import pytest

from e2e_helpers import address, exceptions_on, main_text, open_page, rerun, wait_for_plotly, wait_until

pytestmark = pytest.mark.browser

CELL_JS = """([row, col]) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
      .find(g => g.data && g.data[0] && g.data[0].type === 'heatmap');
  const fl = gd._fullLayout, r = gd.getBoundingClientRect();
  return [r.left + fl._size.l + fl.xaxis.l2p(col), r.top + fl._size.t + fl.yaxis.l2p(row)];
}"""


def _click_cell(page, true: int, predicted: int) -> None:
    wait_for_plotly(page)
    page.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()  # the whole matrix on screen
    page.wait_for_timeout(300)
    x, y = page.evaluate(CELL_JS, [true, predicted])
    page.mouse.move(x, y)  # Plotly finds the point under the mouse on hover; the click then selects it
    page.wait_for_timeout(300)
    rerun(page, lambda: page.mouse.click(x, y))


def test_a_click_on_a_diagonal_cell_shows_its_hardest_correct_digits_and_goes_into_the_link(page, console,
                                                                                           base_url):
    open_page(page, base_url, "evaluation")
    _click_cell(page, 4, 4)  # the page opens on the shipped model's favourite confusion, 5 read as 3
    wait_until(lambda: "True 4, answered 4" in main_text(page), 30, "the chosen cell to be 4, 4")
    assert "least sure about" in main_text(page)
    wait_until(lambda: re.search(r"ev_true=4\b", address(page)) and re.search(r"ev_pred=4\b", address(page)),
               30, "the cell to be in the link")
    _click_cell(page, 7, 2)  # and an off-diagonal one: its mistakes
    wait_until(lambda: "True 7, answered 2" in main_text(page), 30, "the chosen cell to be 7, 2")
    assert exceptions_on(page) == [] and console.errors == []


def test_inspect_opens_the_digit_on_the_draw_page(page, console, base_url):
    open_page(page, base_url, "evaluation")
    first = page.get_by_role("button", name=re.compile("Inspect")).first
    rerun(page, first.click)
    wait_until(lambda: "/draw" in address(page), 30, "the Draw page")
    page.get_by_role("heading", name="Draw a digit").wait_for(timeout=30_000)
    assert exceptions_on(page) == [] and console.errors == []
