"""Every page, opened in a real Chromium against a live server: no exception, no console error, its figure."""
from __future__ import annotations

import pytest

from e2e_helpers import PAGES, exceptions_on, open_page, screenshot

pytestmark = pytest.mark.browser

# The element that proves each page drew its main figure (a CSS selector Playwright waits for).
MAIN_FIGURE = {
    "": '[data-testid="stMain"] h1',
    "pooling": '[data-testid="stPlotlyChart"]',
    "activation_functions": '[data-testid="stPlotlyChart"]',
    "architecture": '[data-testid="stDataFrame"], [data-testid="stTable"]',
    "receptive_field": '[data-testid="stDataFrame"], [data-testid="stTable"]',
    "training": '[data-testid="stPlotlyChart"]',
    "draw": "canvas.upper-canvas",
    "filters": '[data-testid="stPlotlyChart"], [data-testid="stImage"]',
    "gap_cam": '[data-testid="stPlotlyChart"], [data-testid="stImage"]',
    "evaluation": '[data-testid="stPlotlyChart"]',
}


@pytest.mark.parametrize("path", list(PAGES), ids=[p or "home" for p in PAGES])
def test_page_renders_its_figure_without_errors(page, console, base_url, path):
    open_page(page, base_url, path)
    page.locator(MAIN_FIGURE[path]).first.wait_for(state="visible", timeout=30_000)
    screenshot(page, f"page-{path or 'home'}")
    assert exceptions_on(page) == []
    assert console.errors == []


@pytest.mark.parametrize("path", list(PAGES), ids=[p or "home" for p in PAGES])
def test_page_renders_in_lecture_mode_without_errors(page, console, base_url, path):
    open_page(page, base_url, path)
    page.get_by_text("Lecture mode").click()
    page.wait_for_timeout(300)
    from e2e_helpers import wait_idle
    wait_idle(page)
    page.locator(MAIN_FIGURE[path]).first.wait_for(state="visible", timeout=30_000)
    screenshot(page, f"lecture-{path or 'home'}")
    assert exceptions_on(page) == []
    assert console.errors == []
