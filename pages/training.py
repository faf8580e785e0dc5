"""Train the network live (in the background, one job per user), or replay the shipped model's run."""
import streamlit as st

from cnnviz.jobs import JobLimitError
from cnnviz.train import TrainConfig, replay
from cnnviz_ui import model_charts
from cnnviz_ui.images import feature_grid
from cnnviz_ui.models import LoadedModel, active_model, load_upload, set_active_model, shipped_model
from cnnviz_ui.shell import lecture_mode, prose
from cnnviz_ui.training_view import (checkpoint_bytes, curve_arrays, epoch_rows, eta_text, first_filters,
                                     job_manager, owner_id, splits)

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


def _draw_run(records, epochs, total_steps, filters, key: str) -> None:
    data = curve_arrays(records)
    fig = model_charts.training_curves(data["steps"], data["batch_loss"], data["train_acc"], data["test_steps"],
                                       data["test_acc"], total_steps=total_steps, height=chart_height)
    st.plotly_chart(fig, key=f"curves_{key}", config={"displayModeBar": False})
    table, shown = st.columns([1.4, 1])
    with table:
        st.markdown("**Per epoch**")
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
    with shown:
        if filters is not None:
            st.markdown("**conv1 filters now**")
            st.image(feature_grid(first_filters(filters), cols=8, cell=36, gap=3), width="stretch")


if missing:
    st.warning("MNIST is not available here, so live training is off (the recorded run below still works). "
               "To get it: `python -m cnnviz.data --download`, or set CNNVIZ_DATA to a folder holding MNIST/raw. "
               f"Details: {missing}")

with st.form("train_form", border=True):
    st.markdown("**A new run**")
    a, b, c, d, m = st.columns(5)
    epochs = a.number_input("Epochs", 1, 10, 1, key="tr_epochs")
    batch_size = b.selectbox("Batch size", [32, 64, 128, 256, 512], index=3, key="tr_batch")
    lr = c.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 2e-3, 4e-3, 1e-2, 3e-2, 1e-1], value=4e-3,
                         key="tr_lr", format_func=lambda v: f"{v:g}")
    optimizer = d.selectbox("Optimizer", ["adam", "sgd"], key="tr_opt")
    max_steps = m.number_input("Stop after steps", 0, 100_000, 0, step=50, key="tr_max_steps",
                               help="A budget for a quick demo; 0 = train all epochs")
    e, f, g, h, k = st.columns(5)
    dropout = e.slider("Dropout", 0.0, 0.75, 0.25, 0.05, key="tr_dropout")
    activation = f.selectbox("Activation", ["relu", "tanh", "sigmoid"], key="tr_act")
    head = g.selectbox("Head", ["fc", "gap"], key="tr_head", format_func=str.upper,
                       help="FC: flatten + FC1 + FC2 (the chapter's model); GAP: global average pooling "
                            "+ one linear layer")
    seed = h.number_input("Seed", 0, 10_000, 0, key="tr_seed")
    hard_fraction = k.select_slider(
        "Later epochs show", [0.3, 0.5, 1.0], value=TrainConfig.hard_fraction, key="tr_hard",
        format_func=lambda v: "every image" if v == 1 else f"the hardest {v:.0%}",
        help="After the first epoch, train only on the images the model got most wrong when it last saw "
             "them (highest loss). Easy digits teach it little, so this reaches 99% sooner.")
    busy = job is not None and job.active
    started = st.form_submit_button("Start training", type="primary", disabled=bool(missing) or busy)
if started:
    try:
        config = TrainConfig(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), optimizer=optimizer,
                             dropout=float(dropout), activation=activation, head=head, seed=int(seed),
                             hard_fraction=float(hard_fraction),
                             device="cpu", max_steps=int(max_steps) or None)
        job = manager.start(owner, config, train, test)
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
        if snap.state in ("done", "stopped", "failed") and live:
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
        _draw_run(snap.records, snap.epochs, snap.total_steps, snap.first_filters, "live")

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
                data = (job, checkpoint_bytes(job.copy_model(), job.metadata()))
                st.session_state["_tr_ckpt"] = data
            dl_col.download_button("Download checkpoint", data[1], file_name="cnnviz-run.safetensors",
                                   mime="application/octet-stream", key="tr_download")
        except Exception as exc:  # the checkpoint module reports what went wrong; never a traceback
            dl_col.error(f"Could not write the checkpoint: {exc}")
else:
    shipped = shipped_model("fc")
    recorded = replay(shipped.metadata) if shipped.metadata.get("curve") else []
    st.subheader("The recorded run of the shipped model")
    if not recorded:
        st.info(f"No recorded run to replay ({shipped.source}). Train one above.")
    else:
        prose("Nothing is training for you right now, so here is the run that produced the shipped model, "
              "recorded when it was trained. Press *Replay* to watch it unfold again.")
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
            history = [e for e in shipped.metadata.get("history", []) if e.get("steps", 0) <= upto]
            st.progress(frame / frames, text=f"Replaying: step {shown[-1].step if shown else 0} of {total}")
            _draw_run(shown, history, total, None, "replay")
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
