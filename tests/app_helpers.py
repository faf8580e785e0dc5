"""Shared AppTest helper: open a page of the app the way a user gets there (app.py first, then the page)."""
from streamlit.testing.v1 import AppTest

APP = "../app.py"   # relative to this folder, as AppTest.from_file resolves it
PAGES_DIR = "pages"


def open_app_page(page: str, **state) -> AppTest:
    """Run app.py, set session state (e.g. a stubbed canvas), switch to pages/<page>.py, and check no exception."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(f"{PAGES_DIR}/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at
