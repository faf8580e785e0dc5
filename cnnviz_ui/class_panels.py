"""The Class page's panels: start or join, the instructor's controls, the student's side, the question, the wall,
the runs board. Every action goes through `cnnviz.classroom`, which checks the instructor key each time;
a refused one (ClassError) is shown as its message, and nothing is stored."""
from __future__ import annotations

import io
import zipfile
from urllib.parse import urlsplit

import numpy as np
import streamlit as st

from cnnviz import classroom
from cnnviz.pooling import pool_steps, pooled_shape, random_feature_map
from cnnviz_ui import architecture_view as arch, charts, class_view as view, model_charts
from cnnviz_ui.class_follow import Seat, new_student_id, store, take_seat
from cnnviz_ui.images import digit_image, figure_html
from cnnviz_ui.models import active_model
from cnnviz_ui.shell import show_chart

NEW_KEY = "_class_new_key"   # the instructor key, shown once after the class starts
SHOWN_ASK = "_class_shown_ask"  # the digit ask whose canvas the student's page shows
QUESTION_POLL_S = 1.5           # the question (and, for a student, a new digit asked for)
WALL_POLL_S = 1.0               # the instructor's wall: a drawing appears within about a second
CLASS_WALL_POLL_S = 5.0         # the students' copy of the wall
KINDS = {"quick_check": "A quick check", "predict_digit": "What will the network answer for this digit?",
         "pool_window": "What will max pooling give for this window?"}


def base_url() -> str:
    """This server's address as the browser reached it (for the join link and its QR code)."""
    parts = urlsplit(st.context.url or "")
    root = st.get_option("server.baseUrlPath").strip("/")
    return f"{parts.scheme}://{parts.netloc}" + (f"/{root}" if root else "") if parts.netloc else ""


def quick_checks() -> dict[str, tuple[list[str], str]]:
    """The chapter's quick checks (from the Architecture page): question -> (options, the right one)."""
    right = str(list(pooled_shape((8, 32, 14, 14), 2, 2, 0)))
    softmax = next(option for option, ok in arch.SOFTMAX_OPTIONS.items() if ok)
    return {arch.POOL_QUESTION: ([str([8, 32, 14, 14]), str([4, 16, 7, 7]), right, str([8, 16, 7, 7])], right),
            arch.SOFTMAX_QUESTION: (list(arch.SOFTMAX_OPTIONS), softmax)}


# ---------------------------------------------------------------- start or join

def start_or_join(joining: str | None) -> None:
    join_col, lead_col = st.columns(2, gap="large")
    with join_col:
        st.subheader("Join a class")
        code = st.text_input("Class code (on the projector)", value=joining or "", max_chars=12, key="class_join_code")
        if st.button("Join", type="primary", key="class_join", icon=":material/login:"):
            student_id = new_student_id()
            try:
                info = classroom.join(store(), code, student_id)
            except classroom.ClassError as exc:
                st.error(str(exc))
            else:
                take_seat(Seat(info.code, "student", student_id))
                st.rerun()
        st.caption("No name, no account: this browser gets an anonymous id.")
    with lead_col:
        st.subheader("Lead a class")
        if st.button("Start a class", key="class_start", icon=":material/co_present:"):
            code, key = classroom.start_class(store())
            take_seat(Seat(code, "instructor", new_student_id(), key))
            st.session_state[NEW_KEY] = key
            st.rerun()
        with st.expander("Lead a class you started in another browser"):
            code = st.text_input("Class code", key="class_resume_code")
            key = st.text_input("Instructor key", type="password", key="class_resume_key")
            if st.button("Lead it", key="class_resume"):
                try:
                    code = classroom.check_instructor(store(), code, key)
                except classroom.ClassError as exc:
                    st.error(str(exc))
                else:
                    take_seat(Seat(code, "instructor", new_student_id(), key))
                    st.rerun()


def leave_button(seat: Seat) -> None:
    if st.button("Leave the class", key="class_leave", icon=":material/logout:"):
        take_seat(None)
        st.rerun()


# ---------------------------------------------------------------- the instructor

def instructor(seat: Seat) -> None:
    """The projector's view and the instructor's controls: only for the class's instructor key (the core checks
    it here, and again on every action)."""
    try:
        classroom.check_instructor(store(), seat.code, seat.key)
    except classroom.ClassError as exc:
        st.error(str(exc))
        leave_button(seat)
        return
    code_col, side = st.columns([3, 1.3], gap="large")
    code_col.html(view.join_code_html(seat.code, view.join_url(base_url(), seat.code)))
    key = st.session_state.pop(NEW_KEY, None)
    with side:
        info = classroom.class_info(store(), seat.code)
        st.metric("Students joined", info.students)
        paused = classroom.current_view(store(), seat.code).paused
        if st.button("Resume the class" if paused else "Pause the class", key="class_pause",
                     icon=":material/play_circle:" if paused else ":material/pause_circle:"):
            if act(lambda: classroom.set_paused(store(), seat.code, seat.key, not paused)):
                st.rerun()
        leave_button(seat)
    if key:
        st.success("**Your instructor key, shown this once.** This browser keeps it; copy it (the copy icon on the "
                   "right of the box) to lead the class from another browser.", icon=":material/key:")
        st.code(key, language=None)
    ask_tab, wall_tab, runs_tab = st.tabs(["Question", "Digit wall", "Runs board"])
    with ask_tab:
        open_question_form(seat)
        question_panel(seat)
    with wall_tab:
        ask_form(seat)
        wall_panel(seat)
    with runs_tab:
        runs_board(seat)


def student(seat: Seat) -> None:
    info_col, leave_col = st.columns([3, 1], vertical_alignment="center")
    info_col.markdown(f"You are in class **{seat.code}** (anonymous). Your page follows the instructor's unless you "
                      "break away (the bar at the top).")
    with leave_col:
        leave_button(seat)
    st.subheader("Question")
    question_panel(seat)
    st.subheader("Digit wall")
    draw_for_wall(seat)
    class_wall_panel(seat)
    st.subheader("Runs board")
    share_panel(seat)
    runs_board(seat)


def act(action) -> bool:
    """Run one class action; a refusal is shown as its message (the class is unaffected)."""
    try:
        action()
        return True
    except classroom.ClassError as exc:
        st.error(str(exc))
        return False


def open_question_form(seat: Seat) -> None:
    kind = st.radio("Ask", list(KINDS), format_func=KINDS.get, horizontal=True, key="class_q_kind")
    payload, right = {}, None
    if kind == "quick_check":
        checks = quick_checks()
        prompt = st.selectbox("Quick check", list(checks), key="class_q_check")
        options, right = checks[prompt]
        payload = {"right": right}
    elif kind == "predict_digit":
        index = int(st.number_input("MNIST test digit #", 0, 9999, 0, key="class_q_digit"))
        prompt, options, payload = KINDS[kind], [str(d) for d in range(10)], {"index": index}
    else:
        left, right_col = st.columns(2)
        seed = int(left.number_input("Feature map (seed)", 0, 999, 1, key="class_q_seed"))
        size = int(right_col.number_input("Window size", 2, 3, 2, key="class_q_window"))
        window = random_feature_map(size, seed)
        prompt, options = KINDS[kind], view.window_options(window)
        payload = {"window": window.tolist(), "kernel_size": size}
    if st.button("Open the question", type="primary", key="class_q_open", icon=":material/quiz:"):
        act(lambda: classroom.open_question(store(), seat.code, seat.key, kind, prompt, options, payload))


@st.fragment(run_every=QUESTION_POLL_S)
def question_panel(seat: Seat) -> None:
    if not seat.instructor and SHOWN_ASK in st.session_state:
        ask = classroom.current_ask(store(), seat.code)
        if (None if ask is None else ask.id) != st.session_state[SHOWN_ASK]:
            st.rerun()  # a new digit asked for: the whole page, with a new canvas
    asked = classroom.question(store(), seat.code)
    if asked is None:
        st.caption("No question yet.")
        return
    show_prompt(asked)
    if seat.instructor and not asked.revealed:
        st.markdown(f"**{asked.answered}** answered so far; the answers stay hidden until you reveal them.")
        if st.button("Reveal the answers", type="primary", key="class_q_reveal", icon=":material/visibility:"):
            act(lambda: classroom.reveal(store(), seat.code, seat.key, asked.id))
            st.rerun()
    elif not seat.instructor and not asked.revealed:
        student_answer(seat, asked)
    if asked.revealed:
        reveal_panel(asked)


def show_prompt(asked) -> None:
    st.markdown(f"#### {asked.prompt}")
    if asked.kind == "predict_digit":
        from cnnviz_ui.digits import test_digit
        found = test_digit(asked.payload.get("index", 0))
        if found is not None:
            st.html(figure_html(digit_image(found[1] / 255.0, size=140), 160, f"MNIST test digit "
                                f"#{asked.payload.get('index', 0)}"))
    elif asked.kind == "pool_window":
        window = np.asarray(asked.payload["window"], dtype=float)
        show_chart(charts.grid(window, title="The window", colorscale="sequential"), key="class_q_window_grid",
                   height=240)


def student_answer(seat: Seat, asked) -> None:
    mine = classroom.my_answer(store(), seat.code, asked.id, seat.student_id)
    if mine is not None:
        st.info(f"Your answer: **{mine}**. The class's answers appear when the instructor reveals them.")
        return
    choice = st.radio("Your answer", asked.options, index=None, key=f"class_answer_{asked.id}")
    if st.button("Answer", type="primary", key=f"class_answer_send_{asked.id}", disabled=choice is None):
        if act(lambda: classroom.answer(store(), seat.code, asked.id, seat.student_id, choice)):
            st.rerun()


def reveal_panel(asked) -> None:
    """The class's answers beside what the network (or pooling) really gives, computed now, live."""
    chart_col, live_col = st.columns([1.3, 1], gap="large")
    right = asked.payload.get("right")
    with live_col:
        if asked.kind == "predict_digit":
            right = live_prediction(int(asked.payload.get("index", 0)))
        elif asked.kind == "pool_window":
            window = np.asarray(asked.payload["window"], dtype=float)
            k = int(asked.payload.get("kernel_size", window.shape[0]))
            step = pool_steps(window, k, k, 0, "max")[0]
            right = view.window_options(np.array([[step.result]]))[0]
            st.markdown("**Max pooling, run now:**")
            st.code(step.formula, language=None, wrap_lines=True)
            show_chart(charts.grid(window, title="Its largest value", colorscale="sequential",
                                   highlight=(step.argmax[0], step.argmax[0] + 1, step.argmax[1], step.argmax[1] + 1)),
                       key="class_q_pool_live", height=240)
        elif right is not None:
            st.success(f"The answer: {right}")
    with chart_col:
        show_chart(view.answers_figure(asked.options, asked.counts, right), key=f"class_answers_{asked.id}",
                   height=320)


def live_prediction(index: int) -> str | None:
    from cnnviz.evaluate import predict
    from cnnviz_ui.digits import test_digit
    found = test_digit(index)
    if found is None:
        st.info("MNIST is not on this server: the network cannot be run on the digit.")
        return None
    loaded = active_model()
    probabilities = predict(loaded.model, found[0][None]).numpy()[0]  # [10]
    best = int(probabilities.argmax())
    st.markdown(f"**The network, run now, answers {best}** (the digit is a {found[2]}).")
    st.html(model_charts.probability_bars_html(probabilities, f"class-{index}"))
    return str(best)


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
                                   mime="application/zip", key="class_wall_export", icon=":material/download:")


def wall_zip(drawings) -> bytes:
    files, table = classroom.wall_export(drawings)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("drawings.csv", table)
    return out.getvalue()


def draw_for_wall(seat: Seat) -> None:
    """The student's canvas for the digit asked for (a new ask reruns the page: `question_panel` watches)."""
    ask = classroom.current_ask(store(), seat.code)
    st.session_state[SHOWN_ASK] = None if ask is None else ask.id
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
