"""A student's first visit is a link straight to a page (the instructor shared /draw) on a fresh server."""
from __future__ import annotations

import pytest

from e2e_helpers import open_page, screenshot
from livetest import streamlit_server

pytestmark = pytest.mark.browser


def test_a_deep_link_on_a_fresh_server_gets_the_apps_navigation_and_lecture_toggle(browser, data_root):
    with streamlit_server(env={"CNNVIZ_DATA": str(data_root)}, name="e2e-deep-link") as srv:
        ctx = browser.new_context(viewport={"width": 1280, "height": 720})
        page = ctx.new_page()
        open_page(page, srv.url, "draw")
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        screenshot(page, "deep-link-fresh-server")
        ctx.close()
    assert "Foundations" in sidebar and "Lecture mode" in sidebar, sidebar
