"""The class digit wall (the instructor asks for a digit, each student draws it, the wall shows every drawing with
the model's answer and, from 5 drawings up, the class's confusion matrix and accuracy) and the runs board."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import streamlit as st

from cnnviz import classroom
from cnnviz_ui import class_view as view, model_charts
from cnnviz_ui.class_follow import Seat, act, store
from cnnviz_ui.images import digit_image, figure_html
from cnnviz_ui.models import active_model
from cnnviz_ui.shell import show_chart

SHOWN_ASK = "_class_shown_ask"  # the digit ask whose canvas the student's page shows
WALL_POLL_S = 1.0               # the instructor's wall: a drawing appears within about a second
CLASS_WALL_POLL_S = 5.0         # the students' copy of the wall


# ---------------------------------------------------------------- the digit wall

def ask_form(seat: Seat) -> None:
    digit_col, button_col = st.columns([1, 2], vertical_alignment="bottom")
    label = digit_col.selectbox("Digit to draw", list(range(10)), index=7, key="class_ask_digit")
    if button_col.button(f"Everyone draw a {label}", type="primary", key="class_ask", icon=":material/draw:"):
        act(lambda: classroom.ask_digit(store(), seat.code, seat.key, int(label)))


@st.fragment(run_every=WALL_POLL_S)
def wall_panel(seat: Seat) -> None:
    wall_view(seat)


@st.fragment(run_every=CLASS_WALL_POLL_S)
def class_wall_panel(seat: Seat) -> None:
    wall_view(seat)


def wall_view(seat: Seat) -> None:
    drawings = classroom.wall(store(), seat.code, include_hidden=seat.instructor)
    shown = [d for d in drawings if not d.hidden]
    st.html(view.wall_html(shown, numbered=seat.instructor))
    stats = classroom.wall_stats(shown, min_count=5)
    if stats is None:
        st.caption(f"{len(shown)} drawing{'s' if len(shown) != 1 else ''} on the wall: the class's statistics "
                   "appear from 5 drawings up.")
    else:
        st.markdown(view.accuracy_line(stats.accuracy, stats.count, active_model().test_accuracy))
        show_chart(model_charts.confusion(stats.confusion, height=380), key="class_wall_confusion",
                   name="class confusion matrix", scale_text=False)
    if seat.instructor and shown:
        hide_col, button_col, export_col = st.columns([1, 1, 1.2], vertical_alignment="bottom")
        number = hide_col.selectbox("Drawing", range(1, len(shown) + 1), format_func=lambda n: f"#{n}",
                                    key="class_hide_number")
        if button_col.button("Hide it", key="class_hide", icon=":material/visibility_off:"):
            act(lambda: classroom.hide_drawing(store(), seat.code, seat.key, shown[number - 1].id))
            st.rerun()
        export_col.download_button("Export (PNGs + CSV)", data=lambda: wall_zip(shown), file_name="class-wall.zip",
                                   mime="application/zip", key="class_wall_export", icon=":material/download:",
                                   on_click="ignore")


def wall_zip(drawings) -> bytes:
    files, table = classroom.wall_export(drawings)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("drawings.csv", table)
    return out.getvalue()


def draw_for_wall(seat: Seat, ask) -> None:
    """The student's canvas for the digit asked for (a new ask reruns the page: `question_panel` watches)."""
    if ask is None:
        st.caption("When the instructor asks for a digit, you draw it here.")
    else:
        canvas_for(seat, ask)


@st.fragment  # drawing reruns only the canvas and its answer
def canvas_for(seat: Seat, ask) -> None:
    """Submit sends the drawing, as the model sees it (28x28), with the model's answer to the wall."""
    from cnnviz.evaluate import predict
    from cnnviz.preprocess import is_blank, preprocess
    from cnnviz_ui.canvas import draw_canvas

    st.markdown(f"#### Draw a {ask.label}")
    canvas_col, answer_col = st.columns([1, 1.2])
    with canvas_col:
        pixels = draw_canvas(f"class_canvas_{ask.id}", size=240)
    if is_blank(pixels):
        answer_col.caption("Draw on the black square, then send it to the wall.")
        return
    image28, x = preprocess(pixels)
    probabilities = predict(active_model().model, x).numpy()[0]  # [10]
    prediction = int(probabilities.argmax())
    answer_col.html(figure_html(digit_image(image28, size=84), 96, f"The model reads {prediction}"))
    if answer_col.button("Send to the wall", type="primary", key=f"class_send_{ask.id}", icon=":material/send:"):
        drawing = np.rint(image28 * 255).astype(np.uint8)  # [28, 28]
        if act(lambda: classroom.submit_drawing(store(), seat.code, seat.student_id, drawing, prediction,
                                                probabilities)):
            answer_col.success("On the wall (sending again replaces it).")


# ---------------------------------------------------------------- the runs board

@st.fragment(run_every=3.0)
def runs_board(seat: Seat) -> None:
    shared = classroom.runs(store(), seat.code)
    if not shared:
        st.caption("No runs shared yet: a student shares a finished training run or a design from this page.")
        return
    st.dataframe(view.runs_table(shared), hide_index=True, width="stretch")
    show_chart(view.runs_figure(shared), key="class_runs_chart", name="class runs")


def share_panel(seat: Seat) -> None:
    """A student shares the model their pages use (a design, a finished run made active) with the board."""
    from cnnviz_ui.training_view import job_manager, owner_id
    loaded = active_model()
    job = job_manager().get(owner_id())
    name = st.text_input("Name on the board", value="my run", max_chars=40, key="class_share_name")
    run_col, model_col = st.columns(2)
    if job is not None and job.state in ("done", "stopped"):
        if run_col.button("Share my training run", key="class_share_run", icon=":material/share:"):
            from cnnviz_ui.models import LoadedModel
            finished = LoadedModel(job.copy_model(), "your training run", job.metadata())
            act(lambda: st.success(view.share_model(finished, name, "training run")))
    if not loaded.shipped and model_col.button(f"Share {loaded.source}", key="class_share_model",
                                               icon=":material/share:"):
        act(lambda: st.success(view.share_model(loaded, name, "design")))
    if loaded.shipped and job is None:
        st.caption("Train a run (Training page) or make a design (Design lab) first: then share it here.")
