"""The window-by-window stepper the pooling and convolution pages share: Previous / Next / a scrubber, and
Play, which moves one window per rerun of the page's fragment. The step lives in st.session_state[f"{prefix}_step"]."""
from __future__ import annotations

import streamlit as st

SPEEDS = {"slow": 2.0, "medium": 1.0, "fast": 0.4}  # seconds per window while playing


def play_controls(container, prefix: str) -> tuple[bool, float | None]:
    """The ▶ Play toggle and its speed in `container`: (playing, seconds per window or None)."""
    playing = container.toggle("▶ Play", key=f"{prefix}_playing")
    speed = container.select_slider("Speed", list(SPEEDS), value="medium", key=f"{prefix}_speed",
                                    label_visibility="collapsed")
    return playing, SPEEDS[speed] if playing else None


def start(prefix: str, config: tuple, n_steps: int, first: int = 1) -> None:
    """Go to window `first` when the geometry `config` changed; keep the step within 1..n_steps."""
    key = f"{prefix}_step"
    if st.session_state.get(f"{prefix}_config") != config:
        st.session_state[f"{prefix}_config"], st.session_state[key] = config, first
    st.session_state[key] = min(max(st.session_state.get(key, 1), 1), n_steps)


def controls(prefix: str, n_steps: int, playing: bool, note=None) -> int:
    """Inside the page's fragment: advance one window per rerun while playing, draw the buttons and the
    scrubber, and return the current step (1-based). `note(step)`, when given, returns markdown written at
    the end of the same row (lecture mode: where the window is, without a line of its own)."""
    key = f"{prefix}_step"

    def move(delta: int) -> None:
        st.session_state[key] = min(max(st.session_state[key] + delta, 1), n_steps)

    if playing and st.session_state.get(f"{prefix}_tick") is not None:
        st.session_state[key] = st.session_state[key] % n_steps + 1
    st.session_state[f"{prefix}_tick"] = 1 if playing else None
    widths = [1.5, 1.2, 5] if note is None else [1.3, 1.1, 3.2, 3.4]
    b_prev, b_next, b_scrub, *b_note = st.columns(widths, vertical_alignment="center")
    b_prev.button("◀ Previous", on_click=move, args=(-1,), disabled=playing, width="stretch",
                  key=f"{prefix}_previous")
    b_next.button("Next ▶", on_click=move, args=(1,), disabled=playing, width="stretch", key=f"{prefix}_next")
    if n_steps > 1:
        b_scrub.slider("Window", 1, n_steps, key=key, disabled=playing, label_visibility="collapsed")
    if note is not None:
        b_note[0].markdown(note(st.session_state[key]))
    return st.session_state[key]
