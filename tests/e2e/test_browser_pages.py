"""Every page, opened in a real Chromium against a live server: no exception, no console error, its figure.

Screenshots of every page (normal and lecture mode) land in artifacts/screenshots/.
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

from e2e_helpers import (PAGES, address, exceptions_on, go_to_page_in_session, main_text, open_page, rerun, screenshot,
                         wait_until)

pytestmark = pytest.mark.browser

# The element that proves each page drew its main figure (a CSS selector Playwright waits for).
MAIN_FIGURE = {
    "": ".st-key-pipeline [data-testid='stPageLink']",     # the conv -> ReLU -> pool ... pipeline
    "convolution": "[data-testid='stPlotlyChart']",        # the input grid under the kernel
    "pooling": "[data-testid='stPlotlyChart']",
    "activation_functions": "[data-testid='stPlotlyChart']",
    "architecture": "[data-testid='stTable']",              # the layer table
    "receptive_field": "[data-testid='stPlotlyChart']",     # the field drawn on a digit
    "training": "[data-testid='stPlotlyChart']",          # the curves (the form folds away in lecture mode)
    "draw": "canvas.upper-canvas",
    "filters": "[data-testid='stImage']",
    "gap_cam": "[data-testid='stPlotlyChart']",
    "evaluation": "[data-testid='stPlotlyChart']",          # the confusion matrix
    "design_lab": ".st-key-lesson [data-testid='stPlotlyChart']",  # the design drawn as blocks
    "why": "figure.cnnviz-attribution",                     # the four maps
    "class_session": ".st-key-class_start button",          # no seat yet: start or join a class
}

# A number each page must show, computed live (from the chapter).
MAIN_TEXT = {
    "convolution": "Step 1/16",
    "pooling": "max(1, 3, 5, 6) = 6",
    "architecture": "206,922",
    "receptive_field": "10×10",
    "design_lab": "206,922",
}

IDS = [p or "home" for p in PAGES]


def _switch_on_lecture_mode(page) -> None:
    rerun(page, page.locator("[data-testid='stSidebar']").get_by_text("Lecture mode", exact=True).click)
    wait_until(page.get_by_role("switch", name="Lecture mode").is_checked, 30, "lecture mode to be on")


def _sideways_overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("path", list(PAGES), ids=IDS)
def test_page_renders_its_figure_without_errors(page, console, base_url, path):
    open_page(page, base_url, path)
    page.locator(MAIN_FIGURE[path]).first.wait_for(state="visible", timeout=30_000)
    screenshot(page, f"page-{path or 'home'}")
    assert exceptions_on(page) == []
    assert console.errors == []
    if path in MAIN_TEXT:
        wait_until(lambda: MAIN_TEXT[path] in main_text(page), 30, f"{MAIN_TEXT[path]!r} on the page")


@pytest.mark.parametrize("path", list(PAGES), ids=IDS)
def test_page_in_lecture_mode_fits_a_1280_projector_without_errors(page, console, base_url, path):
    open_page(page, base_url, path)
    _switch_on_lecture_mode(page)
    page.locator(MAIN_FIGURE[path]).first.wait_for(state="visible", timeout=30_000)
    screenshot(page, f"lecture-{path or 'home'}")
    assert exceptions_on(page) == []
    assert console.errors == []
    wait_until(lambda: _sideways_overflow(page) <= 0, 30, "the page to fit 1280 px without a sideways scroll")


def test_lecture_mode_is_kept_across_pages(page, base_url):
    open_page(page, base_url, "")
    _switch_on_lecture_mode(page)
    # Lecture mode folds the sidebar: the instructor opens it with its arrow to change page.
    wait_until(lambda: page.locator('[data-testid="stSidebar"]').bounding_box()["x"] < 0, 30, "the sidebar to fold")
    page.locator('[data-testid="stExpandSidebarButton"]').click()
    go_to_page_in_session(page, "Pooling")
    page.locator(MAIN_FIGURE["pooling"]).first.wait_for(state="visible")
    wait_until(page.get_by_role("switch", name="Lecture mode").is_checked, 30, "lecture mode still on")


def test_a_pipeline_stage_on_the_home_page_opens_its_page(page, base_url):
    open_page(page, base_url, "")
    page.locator(".st-key-pipeline").get_by_role("link", name="Pool").first.click()
    wait_until(lambda: urlparse(address(page)).path.rstrip("/").endswith("/pooling"), 30,
               "the URL to name the pooling page")  # its query may carry the page's view (pool_shift=...)
    page.locator(MAIN_FIGURE["pooling"]).first.wait_for(state="visible")
