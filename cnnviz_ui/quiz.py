"""A quick check that lets a student try again: a wrong answer gets a hint, never the answer; the answer and its
explanation show once the student picks it, or asks for it."""
from __future__ import annotations

import streamlit as st


def quick_check(question: str, options: list[str], right: str, explanation: str, hint: str, key: str) -> None:
    """A multiple-choice question. Wrong: "Not quite" and a hint, the radio stays open for another try, and a
    "Show the answer" button appears. Right (or asked for): the answer with its explanation."""
    shown = f"{key}_shown"
    answer = st.radio(question, options, index=None, key=key)
    if answer == right:
        st.success(f"Right: {right}. {explanation}")
    elif st.session_state.get(shown):
        st.info(f"The answer: {right}. {explanation}")
    elif answer is not None:
        st.error(f"Not quite. {hint} Try another answer.")
        if st.button("Show the answer", key=f"{key}_reveal"):
            st.session_state[shown] = True
            st.rerun()
