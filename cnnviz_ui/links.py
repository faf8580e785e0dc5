"""Links that restore a view: each page's main settings live in the URL's query parameters.

Widgets are bound with Streamlit's own `bind="query-params"` (the widget key is the parameter name).
Streamlit drops a value it cannot use; `LinkCheck` notices that and tells the user in one short line.
Settings that are not a single widget (a layer stack, a chosen cell) are read and written with `read`/`write`.
"""
from __future__ import annotations

import streamlit as st

BIND = "query-params"


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same(value, raw: str) -> bool:
    text = _as_text(value)
    if text == raw:
        return True
    try:
        return float(text) == float(raw)
    except (TypeError, ValueError):
        return False


class LinkCheck:
    """What the opening link asked for, checked against what the page ended up showing."""

    def __init__(self) -> None:
        self.asked = {k: st.query_params.get(k) for k in st.query_params}
        self.placeholder = st.empty()
        st.session_state.setdefault("_link_used", set())

    def unused(self) -> list[str]:
        """`key=value` of each parameter the page could not use (unknown key or a value that was replaced)."""
        used = st.session_state.get("_link_used", set())
        bad = []
        for key, raw in self.asked.items():
            if key in used:
                continue
            if key not in st.session_state or not _same(st.session_state[key], raw):
                bad.append(f"{key}={raw}")
        return bad

    def report(self) -> None:
        """One short note above the page when part of the link could not be used."""
        bad = self.unused()
        for item in bad:
            key = item.split("=", 1)[0]
            if key not in st.session_state:  # unknown to every widget: take it out of the URL too
                st.query_params.pop(key, None)
        if bad:
            self.placeholder.info(f"Part of this link could not be used ({', '.join(bad)}): "
                                  "those settings are back at their defaults.", icon=":material/link_off:")
        st.session_state["_link_used"] = set()


def read(key: str):
    """A custom parameter's raw text from the URL (None when absent)."""
    return st.query_params.get(key)


def accept(key: str) -> None:
    """Mark a custom parameter as used, so the link check does not report it."""
    st.session_state.setdefault("_link_used", set()).add(key)


def write(key: str, text: str | None) -> None:
    """Put a custom setting in the URL (None removes it)."""
    if text is None:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != text:
        st.query_params[key] = text
    accept(key)
