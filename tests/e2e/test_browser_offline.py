"""An offline machine without MNIST: the pages that need it explain how to get it; the rest works."""
from __future__ import annotations

import pytest

from e2e_helpers import PAGES, exceptions_on, open_page, screenshot, wait_until
from livetest import streamlit_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def offline_url(tmp_path_factory):
    empty = tmp_path_factory.mktemp("no-mnist")
    with streamlit_server(env={"CNNVIZ_DATA": str(empty)}, name="e2e-offline") as srv:
        yield srv.url


@pytest.fixture(scope="module")
def offline_page(browser, offline_url):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    open_page(page, offline_url, "")
    yield page
    ctx.close()


def test_training_page_explains_how_to_get_mnist(offline_page, offline_url):
    open_page(offline_page, offline_url, "training")
    alerts = wait_until(lambda: (text := " ".join(offline_page.locator('[data-testid="stAlert"]').all_inner_texts()))
                        and "MNIST is not available" in text and text, 30, "the missing-MNIST message")
    screenshot(offline_page, "offline-training")
    # How to get it: a download button; commands and paths only in the folded administrator's details.
    assert "/" not in alerts and "CNNVIZ_DATA" not in alerts, alerts
    offline_page.get_by_role("button", name="Download MNIST (about 11 MB)").wait_for(state="visible")
    wait_until(lambda: offline_page.get_by_role("button", name="Start training").is_disabled(), 30,
               "Start training to be disabled")
    assert exceptions_on(offline_page) == []


@pytest.mark.parametrize("path", list(PAGES), ids=[p or "home" for p in PAGES])
def test_every_page_opens_without_an_exception(offline_page, offline_url, path):
    open_page(offline_page, offline_url, path)
    screenshot(offline_page, f"offline-{path or 'home'}")
    assert exceptions_on(offline_page) == []
