"""A class: following the instructor's link (the browser's query string, bound widgets released and restored)."""
from __future__ import annotations

from urllib.parse import parse_qsl

import streamlit as st


def browser_query_params() -> dict[str, str]:
    """The query parameters the browser sent with this rerun (its address bar), as text.

    Works around: st.query_params reports what the session holds, which a widget's own URL sync may already have
    changed; a following student's page (cnnviz_ui/class_follow.py) must see what the address bar really shows.
    Relies on `ScriptRunContext.query_string` (Streamlit 1.67). Check: tests/test_streamlit_internals.py."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return link_of(ctx.query_string) if ctx is not None else {}


def link_of(query_string: str) -> dict[str, str]:
    """A query string's parameters as text (the last value where one repeats; a blank value is kept)."""
    return dict(parse_qsl(query_string, keep_blank_values=True))


def unbind_link_params(keys) -> None:
    """Release the link parameters `keys` bound to widgets (each binds again when its widget runs next).

    Works around: Streamlit 1.67 refuses to set a query parameter a widget is bound to (bind="query-params"), so a
    following student's page could not take the instructor's link on the same page. st.switch_page holds this same
    lock on the session's query parameters. Relies on `SessionState.query_params()`,
    `QueryParams.get_binding_for_param` and `QueryParams.unbind_widget`. Check: tests/test_streamlit_internals.py;
    delete it if a later Streamlit lets st.query_params or st.switch_page write a bound parameter."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    with ctx.session_state.query_params() as qp:
        for key in keys:
            binding = qp.get_binding_for_param(key)
            if binding is not None:
                qp.unbind_widget(binding.widget_id)


def write_link(params: dict[str, str]) -> None:
    """Write the whole link (query parameters) at once, under the session's query-parameter lock.
    Relies on what `unbind_link_params` relies on, and `QueryParams.update`."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    with ctx.session_state.query_params() as qp:
        qp.update(params)


def restore_lost_bound_params() -> list[str]:
    """Write back into the link every widget-bound parameter it lost while its widget still holds a value other
    than its default; returns the keys written.

    Works around: Streamlit 1.67 rebuilds a session's query parameters from the query string each rerun request
    carries. Seen in Chromium on a busy server: the instructor's Pooling page showed kernel 3 while its link, and
    so the view the class followed, had lost `pool_kernel` (a request sent before the address bar took the new
    value). Streamlit puts such a parameter back only for a key set through st.session_state. Relies on
    `QueryParams._bindings_by_param` / `has_param` / `set_corrected_value` and the session's widget metadata
    (`SessionState._new_widget_state.widget_metadata`, each with `serializer`, `deserializer`, `value_type`) and
    `ScriptRunContext.shared.widget_ids_this_run` (a widget this run did not show keeps out of the link).
    Check: tests/test_streamlit_internals.py; delete it if Streamlit restores the parameter itself."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None:
        return []
    widgets, shown = ctx.session_state._state._new_widget_state.widget_metadata, ctx.shared.widget_ids_this_run
    written = []
    with ctx.session_state.query_params() as qp:
        for key, binding in list(qp._bindings_by_param.items()):
            meta = widgets.get(binding.widget_id)
            if meta is None or binding.widget_id not in shown or qp.has_param(key) or key not in st.session_state:
                continue
            value = st.session_state[key]
            if value != meta.deserializer(None):
                qp.set_corrected_value(key, meta.serializer(value), meta.value_type)
                written.append(key)
    return written
