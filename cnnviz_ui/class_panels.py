"""The Class page's panels: start or join, the instructor's view and controls, the student's side. Every action goes
through `cnnviz.classroom`, which checks the instructor key each time; a refused one (ClassError) is shown as its
message, and nothing is stored. The question lives in `class_question`, the wall and the runs board in
`class_board`."""
from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from cnnviz import classroom
from cnnviz_ui import class_view as view
from cnnviz_ui.class_board import SHOWN_ASK, ask_form, class_wall_panel, draw_for_wall, runs_board, share_panel, \
    wall_panel
from cnnviz_ui.class_follow import Seat, act, new_student_id, store, take_seat
from cnnviz_ui.class_question import open_question_form, question_panel

NEW_KEY = "_class_new_key"   # the instructor key, shown once after the class starts


def base_url() -> str:
    """This server's address as the browser reached it (for the join link and its QR code)."""
    parts = urlsplit(st.context.url or "")
    root = st.get_option("server.baseUrlPath").strip("/")
    return f"{parts.scheme}://{parts.netloc}" + (f"/{root}" if root else "") if parts.netloc else ""


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
    ask = classroom.current_ask(store(), seat.code)
    st.session_state[SHOWN_ASK] = None if ask is None else ask.id   # before the question's poller compares it
    st.subheader("Question")
    question_panel(seat)
    st.subheader("Digit wall")
    draw_for_wall(seat, ask)
    class_wall_panel(seat)
    st.subheader("Runs board")
    share_panel(seat)
    runs_board(seat)
