"""Links that restore a view: each page's main settings live in the URL's query parameters.

One mechanism for every page. A widget is bound with Streamlit's own `bind=links.BIND` (its key is the
parameter's name); Streamlit drops or corrects a value it cannot use. A setting that is not one widget
(a layer stack, a step, a seed) is read with `restore` and written back with `write`. `LinkCheck` looks at
what a newly opened link asked for and, where the page could not use part of it, says so in one short line.
"""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

import streamlit as st

from cnnviz_ui import streamlit_internals

BIND = "query-params"
LECTURE = "lecture_mode"      # the one parameter a link for students leaves out
_SEEN = "_link_seen"          # the query string as it stood at the end of the last run
_WRITTEN = "_link_written"    # custom parameters this session wrote (or restored): key -> text
_USED = "_link_used"          # custom parameters used this run
_REJECTED = "_link_rejected"  # custom parameters whose value a page could not use this run
_LABELS = "_link_labels"      # bound widgets shown through labels: key -> {value: label}


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


def _params() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params}


class LinkCheck:
    """What a newly opened link asked for, checked against what the page ended up showing."""

    def __init__(self) -> None:
        seen = st.session_state.get(_SEEN, {})
        self.asked = {k: v for k, v in _params().items() if seen.get(k) != v}  # only what is new in the URL
        self.placeholder = st.empty()
        st.session_state[_USED], st.session_state[_REJECTED] = set(), set()
        st.session_state.setdefault(_WRITTEN, {})

    def unused(self) -> list[str]:
        """`key=value` of each parameter the page could not use (unknown key or a value that was replaced)."""
        used, rejected = st.session_state.get(_USED, set()), st.session_state.get(_REJECTED, set())
        now = _params()
        bad = []
        for key, raw in self.asked.items():
            if key in rejected:
                bad.append(f"{key}={raw}")
            elif key in used or (key in st.session_state and now.get(key) == raw):  # restored, or a widget kept it
                continue
            elif key not in st.session_state or not _same(self._shown(key), raw):
                bad.append(f"{key}={raw}")
        return bad

    @staticmethod
    def _shown(key: str):
        """A bound widget's value as the URL writes it (a labelled option by its label)."""
        value = st.session_state[key]
        return st.session_state.get(_LABELS, {}).get(key, {}).get(value, value)

    def report(self) -> None:
        """One short note above the page when part of the link could not be used; stale custom settings leave
        the URL."""
        streamlit_internals.restore_lost_bound_params()   # a widget's value the link lost on a busy server
        used, written = st.session_state.get(_USED, set()), st.session_state.get(_WRITTEN, {})
        bad = self.unused()
        for key in [k for k in written if k not in used]:  # a setting this page no longer shows
            written.pop(key)
            st.query_params.pop(key, None)
        for item in bad:
            key = item.split("=", 1)[0]
            if key not in st.session_state and key not in used:  # unknown to every widget: out of the URL too
                st.query_params.pop(key, None)
        if bad:
            self.placeholder.info(f"Part of this link could not be used ({', '.join(bad)}): "
                                  "those settings are back at their defaults.", icon=":material/link_off:")
        st.session_state[_SEEN] = _params()


def labelled(key: str, labels: dict) -> Callable:
    """`format_func` for a bound selectbox whose options are shown by label (the URL then holds the label)."""
    st.session_state.setdefault(_LABELS, {})[key] = labels
    return labels.get


def read(key: str):
    """A custom parameter's raw text from the URL (None when absent)."""
    return st.query_params.get(key)


def labels_of(key: str) -> dict | None:
    """The {value: label} of a bound widget shown through labels (`labelled`), or None."""
    return st.session_state.get(_LABELS, {}).get(key)


def held_by_widget(key: str) -> bool:
    """Whether the link parameter `key` is held by a bound widget's state: not a custom setting this session keeps
    in the URL itself (restore/write; the pooling window's shift is a tuple in session state, "dy,dx" in the URL),
    whose URL text is what counts."""
    if key not in st.session_state or key in st.session_state.get(_WRITTEN, {}):
        return False
    return labels_of(key) is not None or isinstance(st.session_state[key], (bool, int, float, str))


def accept(key: str) -> None:
    """Mark a custom parameter as used, so the link check does not report it."""
    st.session_state.setdefault(_USED, set()).add(key)


def reject(key: str) -> None:
    """Mark a custom parameter as unusable: the link check reports it even when the page writes a default."""
    st.session_state.setdefault(_REJECTED, set()).add(key)


def restore(key: str, parse: Callable[[str], object]):
    """The value a newly opened link gives the custom setting `key`, or None (nothing new, or unusable).

    `parse` turns the text into the value and raises ValueError where it cannot; the page then keeps its
    default and the link check says so."""
    raw = st.query_params.get(key)
    written = st.session_state.setdefault(_WRITTEN, {})
    if raw is None or written.get(key) == raw:
        return None
    try:
        value = parse(raw)
    except (ValueError, TypeError, KeyError, IndexError):
        reject(key)
        return None
    written[key] = raw
    accept(key)
    return value


def write(key: str, text: str | None) -> None:
    """Put a custom setting in the URL (None removes it)."""
    written = st.session_state.setdefault(_WRITTEN, {})
    if text is None:
        if key in st.query_params:  # touching the URL at all re-sends it, which would undo a page switch
            st.query_params.pop(key)
        written.pop(key, None)
    else:
        if st.query_params.get(key) != text:
            st.query_params[key] = text
        written[key] = text
    accept(key)


def integer(low: int, high: int) -> Callable[[str], int]:
    """A parser for `restore`: a whole number from low to high."""
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value
    return parse


def student_url(base: str, url_path: str, params: dict[str, str]) -> str:
    """The same view for students: `base` + page path + every parameter except lecture mode."""
    query = urlencode({k: v for k, v in params.items() if k != LECTURE})
    return f"{base.rstrip('/')}/{url_path}" + (f"?{query}" if query else "")


def _base_url() -> str:
    """This server's address as the browser reached it (scheme, host and any base path)."""
    parts = urlsplit(st.context.url or "")
    root = st.get_option("server.baseUrlPath").strip("/")
    return f"{parts.scheme}://{parts.netloc}" + (f"/{root}" if root else "") if parts.netloc else ""


def student_link(url_path: str) -> None:
    """A compact "Link for students" button (beside the lecture switch): this view, opened in normal mode."""
    url = student_url(_base_url(), url_path, _params())
    with st.popover("Link for students", icon=":material/link:"):
        st.caption("This view in normal mode (explanations open, sidebar shown). "
                   "The address bar keeps the lecture link.")
        st.code(url, language=None, wrap_lines=True)
