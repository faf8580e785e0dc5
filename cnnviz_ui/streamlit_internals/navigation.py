"""Pages: the app's navigation on every URL (`leave_pages_folder_mode`, and `apptest_runs_app_py` for tests), and
the page icon without the emoji catalog (`known_emoji_icon`)."""
from __future__ import annotations

import contextlib
import threading

import streamlit as st


# ---------------------------------------------------------------- pages: the app's navigation on every URL

def leave_pages_folder_mode() -> None:
    """Switch off Streamlit's pages-folder mode and rerun through app.py, if it is on.

    Works around: Streamlit (1.67 and earlier) sees our `pages/` folder and, until some session has run
    st.navigation in this server process, serves a URL such as /pooling in its old multipage mode: the page
    file runs alone (no app.py: no sections, no lecture switch), for every session, while nobody opens "/".
    That happens to every student who reloads a page after a server restart. Every page imports
    cnnviz_ui.shell, which calls this once per process. Relies on `PagesManager.uses_pages_directory` (a
    class attribute read by the script runner). Check: tests/e2e/test_browser_deep_link.py's fresh-server
    test without this call; or rename `pages/` (st.Page takes any path) and delete this.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


@contextlib.contextmanager
def apptest_runs_app_py():
    """For tests: while open, AppTest runs app.py on every page (as a server does once st.navigation ran).

    AppTest resets `PagesManager.uses_pages_directory` before each run and, seeing our `pages/` folder, runs a
    switched-to page alone; cnnviz_ui.shell's switch runs only at its first import in the process. Same
    reliance and check as `leave_pages_folder_mode`.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    try:
        yield
    finally:
        PagesManager.__init__ = original


# ---------------------------------------------------------------- the page icon without the emoji catalog

_known_emoji_lock = threading.Lock()
_known_emojis: set[str] = set()


def known_emoji_icon(icon: str) -> str:
    """Let st.set_page_config take `icon`, an emoji, without loading Streamlit's emoji catalog; returns `icon`.

    Works around: Streamlit 1.67 checks a page icon against its emoji catalog (`string_util.is_emoji`), and the
    catalog's import compiles one regular expression of every emoji: about 0.15 s of CPU on a fresh server, the
    largest single cost of the home page's cold start beyond a bare app (bench/cold_start.py). For our own icon the
    answer is fixed, so the check answers it from a set and asks the catalog about anything else; the favicon
    Streamlit sends is the same (`emoji:<icon>`). Relies on `streamlit.commands.page_config.is_emoji`, a module-level
    name. Check: tests/test_streamlit_internals.py (the icon is in the catalog; a fresh process sets it without
    importing `streamlit.emojis`).
    """
    from streamlit.commands import page_config

    with _known_emoji_lock:
        if not _known_emojis:
            catalog_check = page_config.is_emoji

            def is_emoji(text: str) -> bool:
                return text in _known_emojis or catalog_check(text)

            page_config.is_emoji = is_emoji
        _known_emojis.add(icon)
    return icon
