"""The Class page in AppTest, with a class store of its own (a temporary SQLite file): start, join, a question
answered and revealed, the digit wall with stubbed drawings, and a forged instructor refused."""
import json
import re
import time

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_helpers import APP, PAGES_DIR, texts
from cnnviz import classroom
from cnnviz.class_store import open_store
from cnnviz.sketch import draw_digit
from cnnviz_ui.canvas import stub_key
from cnnviz_ui.class_follow import SEAT, Seat

PAGE = f"{PAGES_DIR}/class_session.py"


@pytest.fixture
def store_url(tmp_path, monkeypatch, online):
    url = f"sqlite://{tmp_path / 'classes.sqlite3'}"
    monkeypatch.setenv("CNNVIZ_CLASS_STORE", url)
    st.cache_resource.clear()   # the app's cached store belongs to another test's file
    yield url
    st.cache_resource.clear()


def class_page(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r} among {[b.label for b in at.button]}"
    return found[0]


def click(at: AppTest, label: str) -> AppTest:
    button(at, label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def seat(at: AppTest) -> Seat | None:
    return at.session_state[SEAT] if SEAT in at.session_state else None


def html(at: AppTest) -> str:
    return "\n".join(e.proto.body for e in at.get("html"))


def start(store_url) -> tuple[AppTest, Seat]:
    teacher = click(class_page(), "Start a class")
    me = seat(teacher)
    assert me is not None and me.instructor
    return teacher, me


def join(code: str) -> AppTest:
    pupil = class_page()
    pupil.text_input(key="class_join_code").input(code)
    return click(pupil, "Join")


def test_the_instructor_starts_a_class_and_sees_its_code_and_key_once(store_url):
    teacher, me = start(store_url)
    assert f"data-code='{me.code}'" in html(teacher)
    assert "data:image/svg+xml" in html(teacher)                                   # the QR code for the projector
    assert me.key in [c.value for c in teacher.code]                 # the key, shown once ...
    teacher.run()
    assert me.key not in [c.value for c in teacher.code]             # ... and not again
    classroom.check_instructor(open_store(store_url), me.code, me.key)  # the key is the class's


def test_a_wrong_code_is_refused_with_a_message_and_the_right_one_joins(store_url):
    _, me = start(store_url)
    wrong = "ZZZZZZ" if me.code != "ZZZZZZ" else "YYYYYY"
    pupil = join(wrong)
    assert seat(pupil) is None
    assert f"No class with the code {wrong}" in texts(pupil.error)
    pupil = join(me.code.lower())                                    # typed in lower case: the same code
    assert seat(pupil) is not None and seat(pupil).code == me.code and not seat(pupil).instructor
    assert classroom.class_info(open_store(store_url), me.code).students == 1


def test_a_question_is_answered_once_and_its_histogram_shows_only_after_the_reveal(store_url):
    teacher, me = start(store_url)
    pupil = join(me.code)
    click(teacher, "Open the question")                              # the default: a quick check
    pupil.run()
    radio = pupil.radio(key=next(k for k in (r.key for r in pupil.radio) if k.startswith("class_answer_")))
    radio.set_value(radio.options[2]).run()
    click(pupil, "Answer")
    assert "Your answer" in texts(pupil.info)
    charts = [c for c in pupil.get("plotly_chart") if "class_answers_" in c.proto.id]
    assert charts == []                                              # hidden until the reveal
    teacher.run()
    assert "**1** answered so far" in texts(teacher.markdown)
    assert not [c for c in teacher.get("plotly_chart") if "class_answers_" in c.proto.id]
    click(teacher, "Reveal the answers")
    pupil.run()
    for at in (teacher, pupil):
        chart = next(c for c in at.get("plotly_chart") if "class_answers_" in c.proto.id)
        counts = json.loads(chart.proto.spec)["data"][0]["y"]
        assert sum(counts) == 1 and counts[2] == 1


def test_the_wall_shows_the_drawings_and_the_statistics_from_five_up(store_url):
    teacher, me = start(store_url)
    teacher.selectbox(key="class_ask_digit").set_value(7).run()
    click(teacher, "Everyone draw a 7")
    pupil = join(me.code)
    ask = classroom.current_ask(open_store(store_url), me.code)
    pupil.session_state[stub_key(f"class_canvas_{ask.id}")] = draw_digit(7)
    pupil.run()
    assert "The model reads 7" in html(pupil)
    click(pupil, "Send to the wall")
    teacher.run()
    assert "data-count='1'" in html(teacher)
    assert not [c for c in teacher.get("plotly_chart") if "class_wall_confusion" in c.proto.id]
    store = open_store(store_url)
    for n, digit in enumerate((7, 7, 1, 7)):                         # four more students, drawn elsewhere
        classroom.join(store, me.code, f"other{n}")
        pixels = np.zeros((28, 28), np.uint8)
        pixels[4:24, 12:16] = 255
        probabilities = np.eye(10)[digit]
        classroom.submit_drawing(store, me.code, f"other{n}", pixels, digit, probabilities)
    teacher.run()
    assert "data-count='5'" in html(teacher)
    chart = next(c for c in teacher.get("plotly_chart") if "class_wall_confusion" in c.proto.id)
    cells = json.loads(chart.proto.spec)["data"][0]["text"]
    assert sum(int(v) for row in cells for v in row) == 5
    assert re.search(r"read \*\*80\.0%\*\* of the class's 5 drawings", texts(teacher.markdown))
    click(teacher, "Hide it")                                        # drawing #1 leaves the wall and the statistics
    assert "data-count='4'" in html(teacher)


def test_a_forged_instructor_key_is_refused_and_changes_nothing(store_url):
    _, me = start(store_url)
    forged = Seat(me.code, "instructor", "intruder", "not-the-key")
    intruder = class_page(**{SEAT: forged})
    assert "Only the instructor can do that" in texts(intruder.error)
    assert not [b for b in intruder.button if b.label in ("Pause the class", "Open the question", "Reveal the answers")]
    with pytest.raises(classroom.ClassError, match="Only the instructor"):
        classroom.set_paused(open_store(store_url), me.code, forged.key, True)
    assert not classroom.current_view(open_store(store_url), me.code).paused


def hooked_page():
    """Any page as app.py runs it for a seated session: the follow hook first, then the page."""
    from collections import namedtuple

    import streamlit as st

    from cnnviz_ui import class_follow
    class_follow.follow(namedtuple("Page", "url_path")("pooling"))
    st.title("A page")


def seated_page(seat_: Seat) -> AppTest:
    at = AppTest.from_function(hooked_page, default_timeout=60)
    at.session_state[SEAT] = seat_
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_paused_class_freezes_the_students_page_under_a_banner_and_break_away_is_one_click(store_url):
    teacher, me = start(store_url)
    classroom.join(open_store(store_url), me.code, "pupil")
    classroom.publish_view(open_store(store_url), me.code, me.key, "pooling", {})  # where the pupil is already
    pupil = seated_page(Seat(me.code, "student", "pupil"))
    assert "you follow the instructor's page" in texts(pupil.caption)
    click(pupil, "Break away")
    assert "you explore on your own" in texts(pupil.caption)
    click(pupil, "Follow again")
    assert "you follow the instructor's page" in texts(pupil.caption)
    click(teacher, "Pause the class")
    pupil.run()
    assert "paused by the instructor" in texts(pupil.warning)
    assert "pointer-events: none" in html(pupil)                     # the page's controls are frozen
    assert [t.value for t in pupil.title] == ["A page"]              # the page itself still runs
    click(teacher, "Resume the class")
    pupil.run()
    assert "paused by the instructor" not in texts(pupil.warning)
    assert "pointer-events: none" not in html(pupil)


def test_an_unreachable_store_says_so_on_the_class_page_and_every_other_page_works(tmp_path, monkeypatch, online):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("CNNVIZ_CLASS_STORE", f"sqlite://{blocked / 'classes.sqlite3'}")  # its folder is a file
    st.cache_resource.clear()
    at = class_page()
    assert "The class store cannot be reached" in texts(at.error)
    assert not [b for b in at.button if b.label in ("Start a class", "Join")]
    seated = seated_page(Seat("ABC234", "student", "someone"))        # in a class when the store went away
    assert [t.value for t in seated.title] == ["A page"]
    assert "not reachable just now" in texts(seated.caption)
    st.cache_resource.clear()


def test_a_student_shares_a_design_and_the_runs_board_shows_it(store_url):
    import copy

    from cnnviz_ui.models import ACTIVE_KEY, LoadedModel, shipped_model
    teacher, me = start(store_url)
    design = LoadedModel(copy.deepcopy(shipped_model("fc").model), "your design 'tiny'", {"final": {"test_acc": 0.97}})
    pupil = join(me.code)
    pupil.session_state[ACTIVE_KEY] = design
    pupil.run()
    pupil.text_input(key="class_share_name").input("tiny").run()
    click(pupil, "Share your design 'tiny'")
    assert "Shared with class" in texts(pupil.success)
    teacher.run()
    table = teacher.dataframe[0].value
    assert list(table["Run"]) == ["tiny"] and list(table["Kind"]) == ["design"]
    assert list(table["Test accuracy"]) == ["97.00%"]
    assert any("class_runs_chart" in c.proto.id for c in teacher.get("plotly_chart"))


def test_a_student_shares_a_design_straight_from_the_design_lab(store_url):
    """A seated student adds a preset's recorded run to their designs in the lab and shares it from there."""
    teacher, me = start(store_url)
    pupil = join(me.code)
    pupil.switch_page(f"{PAGES_DIR}/design_lab.py").run()
    pupil.selectbox(key="dl_preset").set_value("tiny").run()
    pupil.button(key="dl_add_preset").click().run()
    pupil.button(key="dl_share").click().run()
    assert not pupil.exception, [e.value for e in pupil.exception]
    assert f"Shared with class {me.code}" in texts(pupil.success), texts(pupil.error)
    shared = classroom.runs(open_store(store_url), me.code)
    assert [r["kind"] for r in shared] == ["design"] and shared[0]["parameters"] == 4266


def test_the_design_lab_offers_no_share_button_outside_a_class(store_url):
    pupil = class_page()
    pupil.switch_page(f"{PAGES_DIR}/design_lab.py").run()
    pupil.selectbox(key="dl_preset").set_value("tiny").run()
    pupil.button(key="dl_add_preset").click().run()
    assert "dl_share" not in [b.key for b in pupil.button]


def test_a_view_that_did_not_fully_land_is_applied_again_every_few_seconds_for_a_while(store_url):
    """The student's page already acted on the instructor's view, but its link still lacks a setting (the page ran
    with its old value): the poller applies the view again. A view that cannot land (here: a page this test's app
    does not have) is applied again at most every RETRY_EVERY_S, and not after RETRY_FOR_S, so a page can never
    loop. The clock is moved by moving the stored times back."""
    from cnnviz_ui.class_follow import _SEEN_AT, _TRIED_AT, _TRIES, RETRY_EVERY_S, RETRY_FOR_S

    teacher, me = start(store_url)
    store = open_store(store_url)
    classroom.join(store, me.code, "pupil")
    classroom.publish_view(store, me.code, me.key, "pooling", {"pool_kernel": "3"})
    version = classroom.current_view(store, me.code).version
    pupil = seated_page(Seat(me.code, "student", "pupil", seen_version=version))   # acted on, did not land
    assert pupil.session_state[_TRIES] == 1
    assert pupil.query_params.get("pool_kernel") in ("3", ["3"])                   # ... and now it has

    classroom.publish_view(store, me.code, me.key, "convolution", {})
    version = classroom.current_view(store, me.code).version
    lost = seated_page(Seat(me.code, "student", "other", seen_version=version))
    assert lost.session_state[_TRIES] == 1

    def run_as_if(tried_ago: float, seen_ago: float = 0.0):
        now = time.monotonic()
        lost.session_state[_TRIED_AT], lost.session_state[_SEEN_AT] = now - tried_ago, now - seen_ago
        lost.run()
        return lost.session_state[_TRIES]

    assert run_as_if(tried_ago=-60) == 1                       # tried "just now": not again before RETRY_EVERY_S
    assert run_as_if(tried_ago=RETRY_EVERY_S) == 2             # a slow run had its time: applied again
    assert run_as_if(tried_ago=RETRY_EVERY_S, seen_ago=RETRY_FOR_S / 2) == 3
    assert run_as_if(tried_ago=RETRY_EVERY_S, seen_ago=RETRY_FOR_S) == 3   # the window has passed: left as it is


def pupil_on_view(store_url: str, page, params: dict) -> tuple[AppTest, int]:
    """A student's page (`page`, not run yet) in a class whose instructor shows Pooling with `params`, a view the
    student's poller has already acted on; and that view's version."""
    teacher, me = start(store_url)
    store = open_store(store_url)
    classroom.join(store, me.code, "pupil")
    classroom.publish_view(store, me.code, me.key, "pooling", params)
    version = classroom.current_view(store, me.code).version
    pupil = AppTest.from_function(page, default_timeout=60)
    pupil.session_state[SEAT] = Seat(me.code, "student", "pupil", seen_version=version)
    return pupil, version


def page_with_a_custom_setting():
    """A page like Pooling: its window shift is a custom setting, a tuple in session state and "dy,dx" in the URL."""
    from collections import namedtuple

    import streamlit as st

    from cnnviz_ui import class_follow, links
    class_follow.follow(namedtuple("Page", "url_path")("pooling"))
    if (linked := links.restore("pool_shift", lambda t: tuple(int(v) for v in t.split(",")))) is not None:
        st.session_state.pool_shift = linked
    dy, dx = st.session_state.setdefault("pool_shift", (0, 0))
    links.write("pool_shift", f"{dy},{dx}")
    st.title(f"Shift {dy},{dx}")


def test_a_view_whose_custom_setting_landed_is_not_applied_again(store_url):
    """The poller reads a custom setting (the pooling shift, a tuple in session state) from the link: once the link
    holds the instructor's text the view has landed, and the page is not re-run every few seconds."""
    from cnnviz_ui.class_follow import _TRIED_AT, _TRIES, RETRY_EVERY_S

    pupil, version = pupil_on_view(store_url, page_with_a_custom_setting, {"pool_shift": "0,1"})
    pupil.query_params["pool_shift"] = "0,1"                                 # the switch brought the link
    pupil.run()
    assert [t.value for t in pupil.title] == ["Shift 0,1"]
    for _ in range(2):   # later polls, a retry's wait after any earlier try
        pupil.session_state[_TRIED_AT] = time.monotonic() - RETRY_EVERY_S
        pupil.run()
        assert not pupil.exception, [e.value for e in pupil.exception]
    assert pupil.session_state[SEAT].seen_version == version
    assert _TRIES not in pupil.session_state or pupil.session_state[_TRIES] == 0   # never applied again
    assert [t.value for t in pupil.title] == ["Shift 0,1"]


def page_with_a_bound_widget():
    """A page like Pooling: its kernel size is a number box bound to the link."""
    from collections import namedtuple

    import streamlit as st

    from cnnviz_ui import class_follow, links
    class_follow.follow(namedtuple("Page", "url_path")("pooling"))
    kernel = st.number_input("Kernel size", 1, 8, 2, key="pool_kernel", bind=links.BIND)
    st.title(f"Kernel {kernel}")


def test_a_widget_that_missed_the_view_is_corrected_even_when_the_link_already_holds_it(store_url):
    """Seen in the browser class test: the link said pool_kernel=3 but the number box kept 2 (its state had missed
    the view). Setting the link again changes nothing then; the retry must set the widget's own value."""
    from cnnviz_ui.class_follow import _TRIED_AT, RETRY_EVERY_S

    pupil, version = pupil_on_view(store_url, page_with_a_bound_widget, {"pool_kernel": "3"})
    pupil.session_state[_TRIED_AT] = time.monotonic()        # just tried: no retry on this run
    pupil.run()
    assert [t.value for t in pupil.title] == ["Kernel 2"]
    pupil.query_params["pool_kernel"] = "3"                   # the link holds the view, the widget does not
    pupil.session_state[_TRIED_AT] = time.monotonic()
    pupil.run()
    assert [t.value for t in pupil.title] == ["Kernel 2"], "the stuck state this test is about was not set up"
    pupil.session_state[_TRIED_AT] = time.monotonic() - RETRY_EVERY_S   # the retry's wait has passed
    pupil.run()
    assert not pupil.exception, [e.value for e in pupil.exception]
    assert [t.value for t in pupil.title] == ["Kernel 3"]
    assert pupil.number_input(key="pool_kernel").value == 3
