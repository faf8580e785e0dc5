"""Whether this process is a Streamlit server, not AppTest: the workarounds that act only on a server ask."""
from __future__ import annotations


def on_a_server() -> bool:
    """True under `streamlit run`; False under AppTest (whose runtime is a stand-in) or with no runtime at all.

    Only a server leaves the pages-folder mode for good (`leave_pages_folder_mode`), so that every page runs
    through app.py and waits for pandas there. AppTest goes back to that mode on every run and runs a switched-to
    page alone, without app.py: a background import there met the Draw page's figures half-way
    (tests/test_pages_model.py). Relies on `Runtime.exists()`/`Runtime.instance()` and AppTest's mock runtime."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime
