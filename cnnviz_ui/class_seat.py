"""This browser's seat in a class: who it is (an anonymous id, the instructor key where it leads), kept in the
session and in a cookie that survives a reload and a restarted app process; the class store it talks to; `act`,
one class action whose refusal is shown as its message."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

import streamlit as st

SEAT = "_class_seat"          # session: this browser's Seat in a class (None: in no class)
COOKIE = "cnnviz_class"       # the same seat in a cookie: it survives a reload and an app process restarted
_COOKIE_READ = "_class_cookie_read"
_PUBLISHED = "_class_published"  # the instructor's last published (page, params)


@dataclass
class Seat:
    code: str
    role: str                  # "instructor" or "student"
    student_id: str            # this browser's anonymous id (no names)
    key: str | None = None     # the instructor key (instructor only; kept in this session and its cookie)
    following: bool = True     # student: the page follows the instructor
    lead: bool = True          # instructor: publish my view (students follow me)
    seen_version: int = -1     # student: the last view version acted on
    synced: int = -1           # student: the view version whose link was last written again (see _sync_link)

    @property
    def instructor(self) -> bool:
        return self.role == "instructor"


# ---------------------------------------------------------------- the store

@st.cache_resource(show_spinner=False)
def _open_store(url: str | None):
    from cnnviz.class_store import open_store
    return open_store(url)  # per-thread connections inside: one store shared by every session is safe


def store():
    """The class store ($CNNVIZ_CLASS_STORE or the default SQLite file); StoreUnavailable when it cannot be
    reached (not cached: the next call tries again)."""
    return _open_store(os.environ.get("CNNVIZ_CLASS_STORE") or None)


# ---------------------------------------------------------------- this browser's seat

def new_student_id() -> str:
    return secrets.token_urlsafe(9)


def cookie_value(seat: Seat) -> str:
    return "~".join([seat.code, seat.role, seat.student_id, seat.key or ""])


def parse_cookie(text: str | None) -> Seat | None:
    """A seat as written by `cookie_value`, or None for anything else."""
    parts = (text or "").split("~")
    if len(parts) != 4 or parts[1] not in ("instructor", "student") or not parts[0] or not parts[2]:
        return None
    if parts[1] == "instructor" and not parts[3]:
        return None
    return Seat(parts[0], parts[1], parts[2], parts[3] or None)


def cookie_script(seat: Seat | None) -> str:
    """The script that writes (or, for None, removes) the seat cookie in this browser."""
    if seat is None:
        return f"<script>document.cookie = '{COOKIE}=; path=/; max-age=0; SameSite=Lax';</script>"
    return (f"<script>document.cookie = '{COOKIE}={cookie_value(seat)}; path=/; max-age=86400; "
            f"SameSite=Lax';</script>")


def seat() -> Seat | None:
    """This browser's seat: from the session, or once per session from the cookie (checked with the store)."""
    current = st.session_state.get(SEAT)
    if current is not None or st.session_state.get(_COOKIE_READ):
        return current
    st.session_state[_COOKIE_READ] = True
    remembered = parse_cookie(_cookie())
    if remembered is None:
        return None
    from cnnviz import classroom
    try:
        if remembered.instructor:
            classroom.check_instructor(store(), remembered.code, remembered.key)
        else:
            classroom.join(store(), remembered.code, remembered.student_id)
    except ValueError:  # ClassError: the class ended or the key no longer holds; the seat is forgotten
        return None
    st.session_state[SEAT] = remembered
    return remembered


def _cookie() -> str | None:
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser request (a test runner): no cookie
        return None


def take_seat(new: Seat | None) -> None:
    """Sit this session in a class (None: leave it); the page writes the cookie with `cookie_script`."""
    if new is None:
        st.session_state.pop(SEAT, None)
    else:
        st.session_state[SEAT] = new
    st.session_state.pop(_PUBLISHED, None)


def act(action) -> bool:
    """Run one class action; a refusal is shown as its message (the class is unaffected)."""
    try:
        action()
        return True
    except ValueError as exc:  # ClassError: refused, with a sentence for the user
        st.error(str(exc))
        return False
