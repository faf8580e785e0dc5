"""Predict, then reveal: the instructor opens a question (a quick check, "what will the network answer for this
digit?", "what will max pooling give for this window?"); each student answers once; the class's answers show as a
histogram only after the reveal, beside the network or the pooling run live."""
from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import classroom
from cnnviz.pooling import pool_steps, pooled_shape, random_feature_map
from cnnviz_ui import architecture_view as arch, charts, class_view as view, model_charts
from cnnviz_ui.class_board import SHOWN_ASK
from cnnviz_ui.class_follow import Seat, act, store
from cnnviz_ui.images import digit_image, figure_html
from cnnviz_ui.models import active_model
from cnnviz_ui.shell import show_chart

QUESTION_POLL_S = 1.5   # the question (and, for a student, a new digit asked for)
KINDS = {"quick_check": "A quick check", "predict_digit": "What will the network answer for this digit?",
         "pool_window": "What will max pooling give for this window?"}


def quick_checks() -> dict[str, tuple[list[str], str]]:
    """The chapter's quick checks (from the Architecture page): question -> (options, the right one)."""
    right = str(list(pooled_shape((8, 32, 14, 14), 2, 2, 0)))
    softmax = next(option for option, ok in arch.SOFTMAX_OPTIONS.items() if ok)
    return {arch.POOL_QUESTION: ([str([8, 32, 14, 14]), str([4, 16, 7, 7]), right, str([8, 16, 7, 7])], right),
            arch.SOFTMAX_QUESTION: (list(arch.SOFTMAX_OPTIONS), softmax)}


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
