"""The frame every page shares: lecture mode, prose that folds away, charts sized for the room."""
from __future__ import annotations

import gc
import sys
import threading

import streamlit as st

from cnnviz_ui import links, streamlit_internals

# Every page imports this module: the first one to run on a fresh server makes sure every URL runs through
# app.py (its navigation, sections and lecture switch): see streamlit_internals.leave_pages_folder_mode.
streamlit_internals.leave_pages_folder_mode()

LECTURE_KEY = "lecture_mode"

# Always on: keep wide content inside the page (no sideways scrolling on a 1280x720 projector), and let
# text wrap rather than be cut: headings, widget labels, table cells, a table's last column.
_BASE_CSS = """
<style>
.stMainBlockContainer { padding-top: 2.5rem; padding-bottom: 2rem; }
.stMainBlockContainer pre, .stMainBlockContainer code { white-space: pre-wrap; word-break: break-word; }
.stMainBlockContainer h1, .stMainBlockContainer h2, .stMainBlockContainer h3 {
  overflow-wrap: break-word; white-space: normal; }
[data-testid="stWidgetLabel"], [data-testid="stWidgetLabel"] p, [data-testid="stWidgetLabel"] label {
  white-space: normal !important; overflow-wrap: break-word; text-overflow: clip; }
[data-testid="stTable"] { max-width: 100%; overflow-x: auto; }
[data-testid="stTable"] table { width: 100%; table-layout: auto; }
[data-testid="stTable"] th, [data-testid="stTable"] td { white-space: normal; overflow-wrap: break-word; }
[data-testid="stDataFrame"], [data-testid="stTable"] { width: 100% !important; }
</style>
"""

# Lecture mode: everything measured in rem grows with the root font; a short header, tight margins and
# a modest title leave a 1280x720 projector ~600 px for the lesson. The sidebar is collapsed (app.py), and
# the lecture switch with the link for students sits in a thin fixed bar at the top (`lecture_bar`).
_LECTURE_CSS = """
<style>
html { font-size: clamp(20px, calc(1vw + 7.2px), 27px); }  /* 20 px at 1280 wide, 26 px at 1920 */
header[data-testid="stHeader"] { height: 2.2rem; min-height: 2.2rem; }
[data-testid="stToolbar"] { top: 0; }
.stMainBlockContainer { padding: 1.3rem 1.2rem 1.5rem 1.2rem; max-width: 100%; }
.stMainBlockContainer h1 { font-size: 1.6rem; padding: 0 0 0.3rem 0; line-height: 1.2; }
.stMainBlockContainer h2 { font-size: 1.35rem; padding: 0.3rem 0 0.2rem 0; }
.stMainBlockContainer h3 { font-size: 1.15rem; padding: 0.2rem 0 0.1rem 0; }
.st-key-lecture_bar { position: fixed; top: 0.2rem; left: 3.4rem; z-index: 999991; width: auto !important;
  flex-direction: row !important; align-items: center; gap: 0.8rem; }
.st-key-lecture_bar > div { width: auto !important; }
.st-key-lecture_bar [data-testid="stWidgetLabel"] p, .st-key-lecture_bar button p { font-size: 0.8rem; }
.st-key-lecture_bar button { min-height: 1.6rem; padding: 0 0.6rem; }
</style>
"""

CHART_FONT = {False: 14, True: 20}


_FREEZE_AFTER_NEW_MODULES = 300  # torch-sized imports only: smaller lazy imports are not worth pinning sessions
_freeze_lock = threading.Lock()
_modules_when_frozen = 0


def freeze_new_imports() -> bool:
    """gc.freeze() once more modules are loaded than at the last freeze; True when it froze.

    Freezing moves every live object into the collector's permanent generation. After torch is imported,
    full collections walking its objects slow every rerun (bench/NOTES.md), and freezing fixes that. But a freeze also
    pins whatever the sessions hold at that moment, forever, so freezing on every rerun leaked each
    visitor's state (bench/classroom.py --churn). Hence: only when a large batch of modules (the first
    run's Streamlit and page imports, then torch with ~1,000 modules) has arrived since the last freeze.
    That happens once or twice per server process; the small lazy imports that trickle in later (PIL
    plugins, torch submodules) are left to the collector.
    """
    global _modules_when_frozen
    with _freeze_lock:
        if len(sys.modules) < _modules_when_frozen + _FREEZE_AFTER_NEW_MODULES:
            return False
        gc.collect()
        gc.freeze()
        _modules_when_frozen = len(sys.modules)
        return True


def lecture_mode_asked() -> bool:
    """Lecture mode as asked before the switch is drawn: the switch's state, or on a first visit the link's."""
    if LECTURE_KEY in st.session_state:
        return bool(st.session_state[LECTURE_KEY])
    return st.query_params.get(LECTURE_KEY) == "true"


def lecture_bar():
    """The thin bar at the top of the page that holds the lecture switch while the sidebar is folded."""
    return st.container(key="lecture_bar", horizontal=True)


def lecture_toggle() -> bool:
    """The lecture switch (one widget, in the sidebar or the lecture bar; its state lives in the URL too)."""
    return st.toggle("Lecture mode", key=LECTURE_KEY, bind=links.BIND,
                     help="Larger type, prose folded away, the sidebar folded: for a projector.")


def lecture_mode() -> bool:
    """True when the instructor has switched on lecture mode (kept across pages in the session)."""
    return bool(st.session_state.get(LECTURE_KEY, False))


def apply_style() -> None:
    """Inject the page CSS (called once per run by app.py, before the page runs)."""
    st.html(_BASE_CSS + (_LECTURE_CSS if lecture_mode() else ""))


def prose(markdown: str) -> None:
    """Explanatory text: shown normally, folded into an expander in lecture mode."""
    if lecture_mode():
        with st.expander("Explanation", expanded=False):
            st.markdown(markdown)
    else:
        st.markdown(markdown)


def show_chart(fig, key: str, height: int | None = None, name: str | None = None, scale_text: bool = True,
               **kwargs) -> None:
    """Draw a Plotly figure full width, with larger type and a taller frame in lecture mode.

    Its camera button (top right, on hover) saves it as a PNG named after `name` (default: `key`);
    scale_text=False keeps the numbers written in cells at their size (a 10x10 matrix of 4-digit counts has
    no room for larger ones). The other keyword arguments go to st.plotly_chart (on_select, ...).
    """
    from cnnviz_ui.export import chart_config  # here: NumPy and PIL stay off the home page's cold start

    big = lecture_mode()
    if big:
        _enlarge(fig, CHART_FONT[True] / CHART_FONT[False], scale_text)
    if height is not None:
        fig.update_layout(height=int(height * (1.1 if big else 1.0)))
    st.plotly_chart(fig, key=key, config=chart_config(name or key), **kwargs)


def _enlarge(fig, scale: float, scale_text: bool = True) -> None:
    """Scale every font of a figure. (Streamlit's chart theme replaces layout.font, so each part is set.)"""
    size = round(CHART_FONT[False] * scale)
    fig.update_layout(font_size=size, title_font_size=size + 2, legend_font_size=size)
    fig.update_xaxes(tickfont_size=size, title_font_size=size)
    fig.update_yaxes(tickfont_size=size, title_font_size=size)
    for trace in fig.data if scale_text else ():
        if "textfont" in trace:
            own = trace.textfont.size
            trace.textfont.size = own * scale if own else size
    for note in fig.layout.annotations:
        note.font.size = note.font.size * scale if note.font.size else size
    legend = fig.layout.legend
    if legend.orientation == "h" and legend.y is not None and legend.y < 0:  # below the plot: clear the larger
        legend.y = legend.y * scale                                           # tick labels and axis title


def error_box(exc: Exception) -> None:
    """A user-facing explanation of a ValueError from the core (never a traceback)."""
    st.error(f"**This configuration does not work:** {exc}", icon=":material/warning:")
