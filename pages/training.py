"""Train the network live (in the background, one job per user), or replay the shipped model's run."""
import streamlit as st

from cnnviz import checkpoint
from cnnviz.jobs import FINISHED_STATES
from cnnviz.recipes import shipped_run
from cnnviz.train import TrainConfig, replay
from cnnviz_ui.mnist_gate import require_mnist
from cnnviz_ui.models import LoadedModel, active_model, load_upload, set_active_model, shipped_model
from cnnviz_ui.shell import lecture_mode, prose
from cnnviz_ui.training_form import new_run_form
from cnnviz_ui.training_view import (curves, eta_text, job_manager, owner_id, recipe_summary, run_details,
                                    training_data_missing, warm_for_start)

st.title("Training")
prose("Training shows the network batches of digits, measures how wrong it is (the loss), and nudges every "
      "weight a little downhill. Start a run below and watch the loss fall and the accuracy climb; the first-"
      "layer filters change from random noise into stroke detectors. The run keeps going on the server while "
      "you look at other pages.")

big = lecture_mode()  # on a projector the curves come first, and the form folds away below them
manager = job_manager()
owner = owner_id()
job = manager.get(owner)
missing = training_data_missing()

if missing:
    require_mnist("training", "Live training is off until then; the recorded runs below still work.")
else:
    warm_for_start(manager)   # a worker with torch imported and MNIST loaded waits for Start
if not big:
    new_run_form(manager, owner, job, missing)

if job is not None:
    live = job.active

    @st.fragment(run_every=1.0 if live else None)
    def live_view():
        snap = job.snapshot()
        if snap.state in FINISHED_STATES and live:
            st.rerun()  # the whole page: finished-run buttons appear
        with st.container(key="lesson"):
            buttons = st.columns([1, 1, 4])
            if snap.state in ("running", "starting") and buttons[0].button("Pause", key="tr_pause"):
                job.pause()
                st.rerun(scope="fragment")
            if snap.state == "paused" and buttons[0].button("Resume", key="tr_resume"):
                job.resume()
                st.rerun(scope="fragment")
            if job.active and buttons[1].button("Stop", key="tr_stop",
                                                help="End the run now; the model so far is kept"):
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
            curves(snap.records, snap.total_steps, "live")
        run_details(snap.epochs, snap.first_filters, "live", job.config)

    if not big:
        st.subheader("Your run")
    live_view()
    if job.state in ("done", "stopped"):
        meta_col, dl_col, _ = st.columns([1.6, 1, 1.4])
        if meta_col.button("Use this model on the other pages", key="tr_make_active", type="primary"):
            set_active_model(LoadedModel(job.copy_model(), f"your training run ({job.config.head.upper()} head, "
                                         f"{len(job.snapshot().records)} steps)", job.metadata(),
                                         snapshots=job.snapshots()))
            st.success("Done: the draw, filters, GAP and evaluation pages now use your model.")
        try:
            data = st.session_state.get("_tr_ckpt")
            if data is None or data[0] is not job:
                data = (job, checkpoint.to_bytes(job.copy_model(), job.metadata()))
                st.session_state["_tr_ckpt"] = data
            with dl_col:
                st.download_button("Download checkpoint", data[1], file_name="cnnviz-run.safetensors",
                                   mime="application/octet-stream", key="tr_download")
        except Exception as exc:  # the checkpoint module reports what went wrong; never a traceback
            dl_col.error(f"Could not write the checkpoint: {exc}")
else:
    runs = {"chapter": "The chapter's recipe", "fast": "The fast recipe", "shipped": "The shipped model's run"}
    frames = 20
    if not big:
        st.subheader("Recorded runs")

    @st.fragment(run_every=0.5 if 0 < st.session_state.get("tr_replay_frame", 0) < frames else None)
    def replay_view():
        with st.container(key="lesson"):
            pick, press = st.columns([4, 1], vertical_alignment="center")
            which = pick.radio("Recorded run", list(runs), format_func=runs.get, horizontal=True, key="tr_recorded",
                               label_visibility="collapsed")
            if press.button("Replay", key="tr_replay", icon=":material/replay:"):
                st.session_state["tr_replay_frame"] = 1
                st.session_state["tr_replay_running"] = True
                st.rerun()  # the whole page: the replay's timer starts
            try:
                run = shipped_model("fc").metadata if which == "shipped" else shipped_run(which)
            except ValueError as exc:  # the recorded run's file is missing or damaged: said, the page goes on
                run = {"error": str(exc)}
            recorded = replay(run) if run.get("curve") else []
            if not recorded:
                st.info(f"No recorded run to replay ({run.get('error', 'no curve in its metadata')}). "
                        "Start a run of your own instead.")
                return
            total = recorded[-1].step
            frame = st.session_state.get("tr_replay_frame", frames)
            upto = total * frame / frames
            shown = [r for r in recorded if r.step <= upto]
            st.progress(frame / frames, text=f"Replaying: step {shown[-1].step if shown else 0} of {total}")
            curves(shown, total, "replay")
        run_config = TrainConfig.from_dict(run["config"])
        prose("Nothing is training for you right now, so here are three runs recorded when they were trained: the "
              "chapter's recipe, the fast recipe, and the run that produced the model the other pages use. Press "
              "*Replay* to watch one unfold again.")
        st.caption(f"{recipe_summary(run_config)}. Reproduce it with `{run.get('command', 'python -m cnnviz.train')}`.")
        run_details([e for e in run.get("history", []) if e.get("steps", 0) <= upto], None, "replay", run_config)
        if 0 < frame < frames:
            st.session_state["tr_replay_frame"] = frame + 1
        elif frame == frames and st.session_state.pop("tr_replay_running", False):
            st.rerun()  # stop the timer

    replay_view()

if big:
    with st.expander("A new run: recipe and settings", icon=":material/tune:"):
        new_run_form(manager, owner, job, missing)

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
