"""Train the network live (in the background, one job per user), or replay the shipped model's run."""
import streamlit as st

from cnnviz import checkpoint
from cnnviz.jobs import FINISHED_STATES, DataFiles, JobLimitError
from cnnviz.recipes import RECIPE_TITLES, loss_floor, recipe, shipped_run
from cnnviz.train import TrainConfig, replay
from cnnviz_ui import model_charts
from cnnviz_ui.export import image_download
from cnnviz_ui.images import feature_grid
from cnnviz_ui.mnist_gate import require_mnist
from cnnviz_ui.models import LoadedModel, active_model, load_upload, set_active_model, shipped_model
from cnnviz_ui.shell import lecture_mode, prose, show_chart
from cnnviz_ui.training_view import (SCHEDULE_TITLES, changed_from, chapter_rows,
                                     controls_config, curve_arrays, epoch_rows, eta_text, fill_controls,
                                     first_filters, job_manager, owner_id, recipe_summary, splits)

st.title("Training")
prose("Training shows the network batches of digits, measures how wrong it is (the loss), and nudges every "
      "weight a little downhill. Start a run below and watch the loss fall and the accuracy climb; the first-"
      "layer filters change from random noise into stroke detectors. The run keeps going on the server while "
      "you look at other pages.")

manager = job_manager()
owner = owner_id()
job = manager.get(owner)
train, test, missing = splits()
chart_height = 380 if lecture_mode() else 320


def _draw_run(records, epochs, total_steps, filters, key: str, config: TrainConfig) -> None:
    data = curve_arrays(records)
    fig = model_charts.training_curves(data["steps"], data["batch_loss"], data["train_acc"], data["test_steps"],
                                       data["test_acc"], total_steps=total_steps, height=chart_height)
    show_chart(fig, key=f"curves_{key}", name=f"training curves {key}")
    table, chapter = st.columns([1.4, 1])
    with table:
        st.markdown("**Per epoch: this run**")
        rows = epoch_rows(epochs)
        if rows:
            st.dataframe(rows, hide_index=True, width="stretch", key=f"epochs_{key}")
            sizes = {e.get("images") for e in epochs if e.get("fraction", 1.0) >= 0.999}
            if len(sizes) > 1:
                st.caption("Epochs after the first trained only on the images the model found hardest "
                           "(the images column), so the batch loss steps up where they begin, and their "
                           "training loss and accuracy are measured on harder digits than a full pass. The "
                           "test accuracy is always measured on all 10,000 test digits.")
        else:
            st.caption("The first epoch is under way.")
    with chapter:
        st.markdown("**Per epoch: the chapter's run, as published**")
        st.dataframe(chapter_rows(), hide_index=True, width="stretch", key=f"chapter_{key}")
        floor = loss_floor(config.label_smoothing)
        if floor > 0:
            st.caption(f"This run smooths its labels ({config.label_smoothing:g}), so its loss cannot go below "
                       f"{floor:.2f}: compare its accuracies with the chapter's, not its losses.")
    shown, questions = st.columns([1, 1.4]) if filters is not None else (None, st.container())
    if shown is not None:
        with shown:
            st.markdown("**conv1 filters now**")
            grid = feature_grid(first_filters(filters), cols=8, cell=36, gap=3)
            st.image(grid, width="stretch")
            image_download(grid, f"conv1 filters {key}", key=f"filters_png_{key}")
    with questions:
        with st.expander("Why is the test accuracy higher than the train accuracy in epoch 1?"):
            st.markdown(
                "Because the two numbers are measured differently. The **train accuracy** is an average over "
                "every batch of the epoch, and the early batches were answered by a network that had only just "
                "started to learn: they pull the average down. The **test accuracy** is measured once, at the "
                "end of the epoch, by the network as it is by then. And while training, **dropout** switches "
                "off a random quarter of the FC1 outputs for every image, so each training answer comes from a "
                "weakened network; for the test, the model switches to evaluation mode and uses all of them. "
                "In later epochs the network changes little within an epoch and the two numbers draw closer.")
        with st.expander("What does label smoothing do to the loss?"):
            st.markdown(
                "Plain cross-entropy asks for probability 1 on the right digit, so its loss can shrink towards 0 "
                "(the chapter's run reaches 0.04). With label smoothing ε the target is softened: 1 − ε + ε/10 on "
                "the right digit and ε/10 on each of the nine others (0.91 and 0.01 for ε = 0.1). Even a model "
                "that answers exactly that target pays the target's own entropy, "
                f"**{loss_floor(0.1):.2f} for ε = 0.1**, so a smoothed run's loss levels off near that floor "
                "however well it classifies, and cannot be compared with the chapter's. What smoothing buys is "
                "a model that is less over-confident, which often helps its test accuracy a little.")


if missing:
    require_mnist("training", "Live training is off until then; the recorded runs below still work.")


def _fill_from_recipe() -> None:
    fill_controls(st.session_state, recipe(st.session_state["tr_recipe"]))


chosen = st.radio("Recipe", list(RECIPE_TITLES), format_func=RECIPE_TITLES.get, horizontal=True, key="tr_recipe",
                  on_change=_fill_from_recipe,
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
if started:
    try:
        config = controls_config(st.session_state, device="cpu", max_steps=int(max_steps) or None)
        job = manager.start(owner, config, DataFiles("train"), DataFiles("test"))  # the worker reads MNIST
        st.rerun()  # draw the form again, now with Start disabled while the run is live
    except JobLimitError as exc:
        st.error(f"Training is busy: {exc}")
    except ValueError as exc:
        st.error(f"These settings do not work: {exc}")

if job is not None:
    live = job.active

    @st.fragment(run_every=1.0 if live else None)
    def live_view():
        snap = job.snapshot()
        if snap.state in FINISHED_STATES and live:
            st.rerun()  # the whole page: finished-run buttons appear
        buttons = st.columns([1, 1, 1, 3])
        if snap.state in ("running", "starting") and buttons[0].button("Pause", key="tr_pause"):
            job.pause()
            st.rerun(scope="fragment")
        if snap.state == "paused" and buttons[0].button("Resume", key="tr_resume"):
            job.resume()
            st.rerun(scope="fragment")
        if job.active and buttons[1].button("Stop", key="tr_stop", help="End the run now; the model so far is kept"):
            job.stop()
            job.join(timeout=5)
            st.rerun()
        label = {"starting": "Starting...", "running": "Training", "paused": "Paused", "done": "Finished",
                 "stopped": "Stopped early", "failed": "Failed"}[snap.state]
        last = snap.records[-1] if snap.records else None
        detail = (f" · step {snap.step}/{snap.total_steps} · epoch {last.epoch} · "
                  f"{last.images_per_sec:,.0f} images/s" if last else "")
        eta = f" · {eta_text(snap.eta_seconds)}" if job.active else ""
        st.progress(snap.progress, text=f"{label}{detail}{eta}")
        if snap.error:
            st.error(f"The run failed: {snap.error}")
        _draw_run(snap.records, snap.epochs, snap.total_steps, snap.first_filters, "live", job.config)

    st.subheader("Your run")
    live_view()
    if job.state in ("done", "stopped"):
        meta_col, dl_col, _ = st.columns([1.6, 1, 1.4])
        if meta_col.button("Use this model on the other pages", key="tr_make_active", type="primary"):
            set_active_model(LoadedModel(job.copy_model(), f"your training run ({job.config.head.upper()} head, "
                                         f"{len(job.snapshot().records)} steps)", job.metadata()))
            st.success("Done: the draw, filters, GAP and evaluation pages now use your model.")
        try:
            data = st.session_state.get("_tr_ckpt")
            if data is None or data[0] is not job:
                data = (job, checkpoint.to_bytes(job.copy_model(), job.metadata()))
                st.session_state["_tr_ckpt"] = data
            dl_col.download_button("Download checkpoint", data[1], file_name="cnnviz-run.safetensors",
                                   mime="application/octet-stream", key="tr_download")
        except Exception as exc:  # the checkpoint module reports what went wrong; never a traceback
            dl_col.error(f"Could not write the checkpoint: {exc}")
else:
    runs = {"chapter": "The chapter's recipe", "fast": "The fast recipe", "shipped": "The shipped model's run"}
    st.subheader("Recorded runs")
    which = st.radio("Recorded run", list(runs), format_func=runs.get, horizontal=True, key="tr_recorded",
                     label_visibility="collapsed")
    try:
        run = shipped_model("fc").metadata if which == "shipped" else shipped_run(which)
    except ValueError as exc:  # the recorded run's file is missing or damaged: said, the page goes on
        run = {"error": str(exc)}
    recorded = replay(run) if run.get("curve") else []
    if not recorded:
        st.info(f"No recorded run to replay ({run.get('error', 'no curve in its metadata')}). Train one above.")
    else:
        run_config = TrainConfig.from_dict(run["config"])
        prose("Nothing is training for you right now, so here are three runs recorded when they were trained: the "
              "chapter's recipe, the fast recipe, and the run that produced the model the other pages use. Press "
              "*Replay* to watch one unfold again.")
        st.caption(f"{recipe_summary(run_config)}. Reproduce it with `{run.get('command', 'python -m cnnviz.train')}`.")
        total = recorded[-1].step
        frames = 20
        if st.button("Replay", key="tr_replay"):
            st.session_state["tr_replay_frame"] = 1
            st.session_state["tr_replay_running"] = True

        @st.fragment(run_every=0.5 if 0 < st.session_state.get("tr_replay_frame", 0) < frames else None)
        def replay_view():
            frame = st.session_state.get("tr_replay_frame", frames)
            upto = total * frame / frames
            shown = [r for r in recorded if r.step <= upto]
            history = [e for e in run.get("history", []) if e.get("steps", 0) <= upto]
            st.progress(frame / frames, text=f"Replaying: step {shown[-1].step if shown else 0} of {total}")
            _draw_run(shown, history, total, None, "replay", run_config)
            if 0 < frame < frames:
                st.session_state["tr_replay_frame"] = frame + 1
            elif frame == frames and st.session_state.pop("tr_replay_running", False):
                st.rerun()  # stop the timer

        replay_view()

st.subheader("Use a checkpoint trained elsewhere")
prose("A run trained with `python -m cnnviz.train` (for example on a GPU machine) writes a `.safetensors` "
      "checkpoint. Upload it here to use it on the other pages of this session.")
up, info = st.columns([1.2, 1])
with up:
    upload = st.file_uploader("Checkpoint file", type=["safetensors"], key="tr_upload")
    if upload is not None and st.session_state.get("_tr_uploaded") != upload.file_id:
        try:
            set_active_model(load_upload(upload.getvalue(), upload.name))
            st.session_state["_tr_uploaded"] = upload.file_id
            st.success(f"{upload.name} is now your active model.")
        except Exception as exc:  # CheckpointError or a damaged file: the previous model stays active
            st.error(f"Cannot use {upload.name}: {exc}. Your previous model stays active.")
with info:
    current = active_model()
    acc = current.test_accuracy
    st.markdown(f"**Active model:** {current.source}" + (f" · test accuracy {acc:.2%}" if acc is not None else ""))
    if current is not shipped_model("fc") and st.button("Back to the shipped model", key="tr_reset"):
        set_active_model(None)
        st.rerun()
