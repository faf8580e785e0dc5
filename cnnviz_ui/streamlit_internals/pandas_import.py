"""Pandas imported whole before any chart (`import_pandas_whole`, `import_pandas_soon`)."""
from __future__ import annotations

import sys
import threading

from cnnviz_ui.streamlit_internals.server import on_a_server


def import_pandas_whole() -> None:
    """Import pandas completely before this run builds a chart or a table (app.py calls this before every page
    but the home page); returns at once when pandas is already imported, waits when another thread is importing
    it (`import_pandas_soon`).

    Works around: Plotly 6 (`_plotly_utils.optional_imports.get_module(..., should_load=False)`) takes pandas
    from sys.modules without the import lock, so on a fresh server a chart drawn while another session was
    importing pandas (for a table) met a half-made module (AttributeError: partially initialized module
    'pandas'). Check: whether get_module still reads sys.modules directly (tests/test_streamlit_internals.py).
    """
    import pandas  # noqa: F401


_pandas_thread: threading.Thread | None = None
_pandas_lock = threading.Lock()
SOON_S = 3.0   # after the first page: its browser is still fetching the page's code from this server meanwhile




def import_pandas_soon() -> None:
    """Start importing pandas in a background thread, once per server process (app.py calls this after the page
    ran; elsewhere, see `server.on_a_server`, pandas is imported where it is first used).

    The home page draws no chart and no table, so a cold start shows it without paying for pandas (about 0.4 s
    of CPU, a third of what the app adds to a bare Streamlit app's start); every other page waits for the import
    to finish through `import_pandas_whole` before it runs, so no chart can meet a half-imported pandas. The
    import starts SOON_S seconds after the call: started at once, it held the interpreter lock for most of ~0.8 s
    while the server was still sending the first page's code and messages to the browser (bench/cold_start.py).
    """
    global _pandas_thread
    if not on_a_server():
        return
    with _pandas_lock:
        if _pandas_thread is None and "pandas" not in sys.modules:
            _pandas_thread = threading.Timer(SOON_S, import_pandas_whole)
            _pandas_thread.name, _pandas_thread.daemon = "cnnviz-import-pandas", True
            _pandas_thread.start()
