"""Fixtures for the real-browser tests: one live Streamlit server and one Chromium for the whole run.

The server is `streamlit run app.py` on a port the OS picks, started from the repo root and stopped at
the end; the browser is Debian's Chromium driven by Playwright. Screenshots land in artifacts/screenshots/
(gitignored), server logs in artifacts/logs/.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from e2e_helpers import ConsoleLog, open_page
from livetest import launch_browser, streamlit_server


@pytest.fixture(scope="session")
def server(data_root):
    """A live server for the whole session, with MNIST where tests/conftest.py found it."""
    with streamlit_server(env={"CNNVIZ_DATA": str(data_root)}, name="e2e") as srv:
        yield srv


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        chromium = launch_browser(p)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def base_url(server, browser) -> str:
    """The server's URL, after the instructor has opened the home page once (as in a lecture).

    Until app.py has run once, Streamlit serves a deep link such as /draw from the pages/ folder
    without app.py's navigation; test_browser_deep_link.py checks that case on a fresh server.
    """
    ctx = browser.new_context()
    open_page(ctx.new_page(), server.url, "")
    ctx.close()
    return server.url


@pytest.fixture
def context(browser):
    """A fresh browser context (own cookies, so its own Streamlit session) at a 1280x720 projector size."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture
def console():
    return ConsoleLog()


@pytest.fixture
def page(context, console):
    """A page whose browser-console errors are collected in `console.errors`."""
    pg = context.new_page()
    console.attach(pg)
    yield pg
