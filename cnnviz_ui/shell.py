"""The frame every page shares: lecture mode, prose that folds away, page headers."""
from __future__ import annotations

import streamlit as st

LECTURE_KEY = "lecture_mode"


def lecture_mode() -> bool:
    """True when the instructor has switched on lecture mode (kept across pages in the session)."""
    return bool(st.session_state.get(LECTURE_KEY, False))


def prose(markdown: str) -> None:
    """Explanatory text: shown normally, folded into an expander in lecture mode."""
    if lecture_mode():
        with st.expander("Explanation", expanded=False):
            st.markdown(markdown)
    else:
        st.markdown(markdown)
