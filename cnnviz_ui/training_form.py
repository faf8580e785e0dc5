"""The training page's form for a new run: a recipe fills every control, the student may change any of them."""
from __future__ import annotations

import streamlit as st

from cnnviz.jobs import DataFiles, JobLimitError
from cnnviz.recipes import RECIPE_TITLES, recipe
from cnnviz_ui.training_view import SCHEDULE_TITLES, changed_from, controls_config, fill_controls, recipe_summary


def _fill_from_recipe() -> None:
    fill_controls(st.session_state, recipe(st.session_state["tr_recipe"]))


def new_run_form(manager, owner: str, job, missing) -> None:
    """The recipe picker and the form; Start launches the run in a worker process and redraws the page."""
    chosen = st.radio("Recipe", list(RECIPE_TITLES), format_func=RECIPE_TITLES.get, horizontal=True,
                      key="tr_recipe", on_change=_fill_from_recipe,
                      help="Fills in every setting below; you can still change any of them before you start.")
    if "tr_epochs" not in st.session_state:  # the first visit: the controls start from the chosen recipe
        _fill_from_recipe()
    st.caption(recipe_summary(recipe(chosen)) + ("." if chosen == "fast" else
               ": the loop the chapter runs, three full passes over the 60,000 digits."))
    with st.form("train_form", border=True):
        st.markdown("**A new run**")
        a, b, c, d, m = st.columns(5)
        a.number_input("Epochs", 1, 10, key="tr_epochs")
        b.selectbox("Batch size", [32, 64, 128, 256, 512], key="tr_batch")
        c.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 4e-3, 1e-2, 3e-2, 1e-1], key="tr_lr",
                        format_func=lambda v: f"{v:g}", help="The constant rate, or the peak of one-cycle")
        d.selectbox("Schedule", list(SCHEDULE_TITLES), key="tr_schedule", format_func=SCHEDULE_TITLES.get,
                    help="Constant: the same rate for every step (the chapter). One-cycle: rise to the rate, then "
                         "fall towards zero by the last step.")
        m.select_slider("Label smoothing", [0.0, 0.05, 0.1, 0.2], key="tr_smoothing",
                        format_func=lambda v: "0 (plain)" if v == 0 else f"{v:g}",
                        help="0 is plain cross-entropy (the chapter). Above 0 the targets are softened, and the "
                             "loss can no longer fall towards 0 (see the question below the run).")
        e, f, g, h, k = st.columns(5)
        e.selectbox("Optimizer", ["adam", "sgd"], key="tr_opt")
        f.select_slider("Momentum (SGD)", [0.0, 0.5, 0.9, 0.95], key="tr_momentum",
                        help="Used by SGD only; Adam keeps its own running averages.")
        g.select_slider("Weight decay", [0.0, 1e-5, 1e-4, 1e-3], key="tr_wd", format_func=lambda v: f"{v:g}")
        h.slider("Dropout", 0.0, 0.75, step=0.05, key="tr_dropout")
        k.select_slider(
            "Later epochs show", [0.3, 0.5, 1.0], key="tr_hard",
            format_func=lambda v: "every image" if v == 1 else f"the hardest {v:.0%}",
            help="After the first epoch, train only on the images the model got most wrong when it last saw "
                 "them (highest loss). Easy digits teach it little, so this reaches 99% sooner.")
        p, q, r, s, _ = st.columns(5)
        p.selectbox("Activation", ["relu", "tanh", "sigmoid"], key="tr_act")
        q.selectbox("Head", ["fc", "gap"], key="tr_head", format_func=str.upper,
                    help="FC: flatten + FC1 + FC2 (the chapter's model); GAP: global average pooling "
                         "+ one linear layer")
        r.number_input("Seed", 0, 10_000, key="tr_seed")
        max_steps = s.number_input("Stop after steps", 0, 100_000, 0, step=50, key="tr_max_steps",
                                   help="A budget for a quick demo; 0 = train all epochs")
        edits = changed_from(st.session_state, recipe(chosen))
        if edits:
            st.caption(f"Your changes to this recipe: {', '.join(edits)}.")
        busy = job is not None and job.active
        started = st.form_submit_button("Start training", type="primary", disabled=bool(missing) or busy)
    design_run = manager.get(f"{owner}-design")   # one run per student: the Design lab's counts too
    if started and design_run is not None and design_run.active:
        st.error("Your run in the Design lab is still going: stop it there first, then start this one.")
    elif started:
        try:
            config = controls_config(st.session_state, device="cpu", max_steps=int(max_steps) or None)
            manager.start(owner, config, DataFiles("train"), DataFiles("test"))  # the worker reads MNIST
            st.rerun()  # draw the page again, now with the live run and Start disabled
        except JobLimitError as exc:
            st.error(f"Training is busy: {exc}")
        except ValueError as exc:
            st.error(f"These settings do not work: {exc}")
