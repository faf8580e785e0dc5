"""Every use of Streamlit's internals, or a component's, in one place: each one a workaround.

Each function says what it works around, for which versions, and how to check whether it is still needed.
Written against streamlit 1.67, streamlit-drawable-canvas 0.13 and plotly 6.9. tests/test_streamlit_internals.py
fails, naming the workaround, when an upgrade removes what one of them relies on. Nothing else in the app
imports a private Streamlit module or patches a library's attributes; the tests use `apptest_runs_app_py`.

Checked against the public API of Streamlit 1.67 (2026-12-06):
- `st.navigation` still serves a page file's URL (/pooling) alone, without app.py, on a server where no
  session has run app.py yet, because our pages live in a folder called `pages/`: `leave_pages_folder_mode`
  stays (seen in Chromium: without it a deep link on a fresh server gets no sections and no lecture switch).
- `st.components.v2.component` takes inline JavaScript, but then sends the whole 400 kB canvas bundle with
  every rerun; served as an asset it is fetched once, and only an installed package can declare an asset
  folder publicly (in its pyproject.toml), while our patched bundle is made at run time from whichever canvas
  version is installed, and the app also runs uninstalled: `register_asset_folder` stays.
- `st.set_page_config(page_icon=":shark:")` (an ASCII shortcode) skips the emoji catalog but loads PIL and NumPy
  instead (it tries the text as an image first): `known_emoji_icon` stays.
- `bind="query-params"` covers every widget setting in a link; cnnviz_ui/links.py uses only the public API,
  besides `restore_lost_bound_params` (a parameter a busy server's rerun can drop from the link).
"""
from __future__ import annotations

# One module per concern; the names below are the package's interface (app.py, pages and tests use them from here).
from cnnviz_ui.streamlit_internals.canvas import (  # noqa: F401
    EXPORT, PROPS, SENDER, STOCK_DELAY_MS, keep_drawings, patch_bundle, register_asset_folder, swap_canvas_component)
from cnnviz_ui.streamlit_internals.class_polls import (  # noqa: F401
    _MOVED, _SHOWN, MOVED_FOR_S, note_page, screen, stale_poll)
from cnnviz_ui.streamlit_internals.link_params import (  # noqa: F401
    browser_query_params, restore_lost_bound_params, unbind_link_params, write_link)
from cnnviz_ui.streamlit_internals.navigation import (  # noqa: F401
    apptest_runs_app_py, known_emoji_icon, leave_pages_folder_mode)
from cnnviz_ui.streamlit_internals.pandas_import import import_pandas_soon, import_pandas_whole  # noqa: F401
from cnnviz_ui.streamlit_internals.runner_handover import deliver_finished_runs  # noqa: F401
from cnnviz_ui.streamlit_internals.server import on_a_server  # noqa: F401
