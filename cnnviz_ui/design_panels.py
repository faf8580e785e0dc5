"""The design lab's panels below the lesson: the preset's recorded run, Train it (live), the comparison of
kept designs with their actions, and checkpoint upload. Each draws from cnnviz_ui.design_runs and the core."""
from __future__ import annotations

import streamlit as st

from cnnviz import checkpoint, presets
from cnnviz.jobs import FINISHED_STATES
from cnnviz_ui import design_controls as controls, design_runs as runs, design_view as view, visual
from cnnviz_ui.export import table_download
from cnnviz_ui.mnist_gate import mnist_present, require_mnist
from cnnviz_ui.models import LoadedModel
from cnnviz_ui.shell import show_chart
from cnnviz_ui.training_view import warm_for_start

BUDGETS = (5, 10, 20, 30, 60, 120, 300)
STATE_TITLES = {"starting": "Starting...", "running": "Training", "paused": "Paused", "done": "Finished",
                "stopped": "Stopped", "failed": "Failed"}


def preset_run(key: str) -> None:
    """The picked preset's recorded run in one line, and what can be done with it."""
    p = presets.preset(key)
    try:
        numbers = presets.run_numbers(presets.recorded_run(key))
    except ValueError as exc:
        st.caption(f"No recorded run for {p.title}: {exc}")
        return
    shipped = presets.has_weights(key)
    note = "" if shipped else (f" Its weights are not shipped ({presets.parameter_count(p.config):,} parameters "
                               "would make the app's download too large): train it here to use it on the other pages.")
    st.caption(f"Recorded run of **{p.title}** (the fast recipe): test accuracy "
               f"**{visual.percent(numbers['test_acc'], 2)}** after {visual.number(numbers['seconds'], 1)} s of "
               f"training, {int(numbers['images_per_sec']):,} images/s.{note}")
    use_col, add_col, _ = st.columns([1.3, 1.2, 2.5])
    if shipped and use_col.button("Use it on the other pages", key="dl_use_preset"):
        runs.use(runs.KeptDesign(p.title, p.config, "recorded run", preset=key))
        st.success(f"The other pages now show the recorded {p.title}.")
    if add_col.button("Add to the comparison", key="dl_add_preset"):
        reason = runs.keep_preset(key)
        st.warning(reason) if reason else st.toast(f"{p.title} joins the comparison below.")


def train_panel(config, error) -> None:
    """Name, budget and Train it; then the run's live progress and curves."""
    if not mnist_present():
        require_mnist("design_lab", "Training is off until then; the presets' recorded runs still work.")
    else:
        warm_for_start(runs.job_manager())   # a worker with torch imported and MNIST loaded waits for Train it
    held = runs.current_job()
    busy = held is not None and held[0].active
    name_col, budget_col, go_col = st.columns([2, 1.4, 1], vertical_alignment="bottom")
    st.session_state.setdefault("dl_name", "my design")
    name = name_col.text_input("Name of this design", key="dl_name", max_chars=40,
                               help="Runs with a name you have used before get a number after it.")
    budget = budget_col.select_slider("Budget (seconds of training)", BUDGETS, value=60, key="dl_budget",
                                      help="The run stops when it has trained this long (or when the fast "
                                           "recipe's three epochs are done, if sooner).")
    if go_col.button("Train it", key="dl_train", type="primary", disabled=bool(error) or busy or not mnist_present()):
        try:
            runs.start(config, name.strip() or "my design", budget)
            st.rerun()
        except ValueError as exc:
            st.error(f"Cannot start: {exc}")
    if held is not None or runs.current_job() is not None:
        _live(*runs.current_job())


def _live(job, name: str, budget: float) -> None:
    live = job.active

    @st.fragment(run_every=0.5 if live else None)
    def progress():
        with st.container(key="dl_live"):
            _progress(job, name, budget, live)

    progress()
    if job.state in ("done", "stopped"):
        reason = runs.keep_finished(job, name)
        if reason:
            st.warning(reason)


def _progress(job, name: str, budget: float, live: bool) -> None:
    """One look at the run: stop it when its budget is spent, its progress, its curves so far."""
    snap = job.snapshot()
    if job.active and snap.active_seconds >= budget:
        job.stop()  # the budget is spent: the model so far is kept
    if snap.state in FINISHED_STATES and live:
        st.rerun()  # the whole page: the run joins the comparison
    last = snap.records[-1] if snap.records else None
    detail = (f" · step {snap.step}/{snap.total_steps} · {visual.number(snap.active_seconds, 0)} of "
              f"{visual.number(budget, 0)} s · {last.images_per_sec:,.0f} images/s" if last else "")
    bar, stop = st.columns([6, 1], vertical_alignment="bottom")
    bar.progress(min(1.0, max(snap.progress, snap.active_seconds / budget)),
                 text=f"{name}: {STATE_TITLES[snap.state]}{detail}")
    if job.active and stop.button("Stop", key="dl_stop", help="End the run now; the model so far is kept"):
        job.stop()
    if snap.error:
        st.error(f"The run failed: {snap.error}")
    if snap.records:
        show_chart(view.curves_figure(snap.records, snap.total_steps), key="dl_curves", name="design run")


def comparison_panel() -> None:
    """Every kept design beside the chapter's: the table, the overlaid accuracy, and one design's actions."""
    entries = runs.comparison_entries()
    if entries:
        records = view.comparison_records(entries)
        st.table(records, hide_index=True)
        table_download(records, "design comparison", key="dl_compare_csv")
        show_chart(view.accuracy_figure(entries), key="dl_accuracy", name="design accuracy")
    designs = runs.kept()
    if not designs:
        st.caption("Train a design, or add a preset's recorded run, and it joins this table and chart.")
        return
    pick, use_col, load_col, down_col, del_col = st.columns([2, 1.3, 1.2, 1.2, 0.9], vertical_alignment="bottom")
    name = pick.selectbox("Your design", list(designs), key="dl_pick")
    entry = designs[name]
    try:
        model, metadata = runs.model_of(entry)
    except ValueError as exc:
        model, metadata = None, {"error": str(exc)}
    if use_col.button("Use this design on the other pages", key="dl_use", disabled=model is None,
                      help=metadata.get("error")):
        runs.use(entry)
        st.success(f"The other pages now show your design '{name}'.")
    load_col.button("Open in the editor", key="dl_open", on_click=controls.load_design, args=(entry.config,))
    if model is not None:
        with down_col:
            st.download_button("Download checkpoint", lambda: checkpoint.to_bytes(model, metadata),
                               file_name=runs.download_name(entry), mime="application/octet-stream",
                               key="dl_download")
    if del_col.button("Delete", key="dl_delete", icon=":material/delete:"):
        runs.delete(name)
        st.rerun()
    if model is not None:
        share_with_class(name, LoadedModel(model, source=f"your design '{name}'", metadata=metadata))


def share_with_class(name: str, loaded: LoadedModel) -> None:
    """A student seated in a class puts a design on the class's runs board (the Class page shows the board)."""
    from cnnviz.class_store import StoreUnavailable
    from cnnviz_ui import class_seat, class_view

    seat = class_seat.seat()
    if seat is None or seat.instructor:
        return
    if st.button(f"Share '{name}' with class {seat.code}", key="dl_share", icon=":material/groups:"):
        try:
            st.success(class_view.share_model(loaded, name, "design"))
        except (ValueError, StoreUnavailable) as exc:   # ClassError: the class refused it, said for the student
            st.error(str(exc))


def upload_panel() -> None:
    """A checkpoint made elsewhere (or downloaded here) joins the designs and opens in the editor."""
    upload = st.file_uploader("Checkpoint file (.safetensors)", type=["safetensors"], key="dl_upload")
    if upload is not None and st.session_state.get("_dl_uploaded") != upload.file_id:
        st.session_state["_dl_uploaded"] = upload.file_id
        try:
            entry = runs.keep_upload(upload.getvalue(), upload.name)
        except ValueError as exc:  # CheckpointError or a full list: said, nothing changes
            st.error(f"Cannot use {upload.name}: {exc}")
            return
        st.success(f"{upload.name} joins your designs as '{entry.name}'; open it in the editor from the list.")

