"""A class session in real Chromium, served by two app processes behind nginx (deploy/serve_class.py) with one
SQLite class store: an instructor and six students (a browser context each).

The students join by code, follow the instructor to Pooling with kernel 3 and stride 1, answer a question whose
histogram appears only after the reveal, and each draw a 7 for the wall; the wall shows six drawings and a
confusion matrix whose counts add up to six. One app process is restarted while the answers are in: its
browsers reconnect to a new session, which finds its seat again (the cookie) and loses nothing (the store).
"""
from __future__ import annotations

import re
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from e2e_helpers import address, exceptions_on, go_to_page_in_session, open_page, screenshot, stop_class, wait_until
from cnnviz_ui.class_follow import BLANK_ERROR
from livetest import REPO, load_script, wait_idle
from livetest.drawing import DIGITS, draw_strokes

pytestmark = pytest.mark.browser

STUDENTS = 6
FOLLOWED = re.compile(r"/pooling\?")
OPTIONS = ["[8, 32, 14, 14]", "[4, 16, 7, 7]", "[8, 32, 7, 7]", "[8, 16, 7, 7]"]  # the quick check's

# The counts the class's histogram shows (its bars' heights), or null while no such chart is drawn.
HISTOGRAM_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.layout && g.layout.title &&
      (g.layout.title.text || '').replace(/<[^>]*>/g, '').startsWith("The class's answers"));
  if (!gd) return null;
  const y = gd.data[0].y;
  return Array.from(y._inputArray || y);
}"""
# The counts written in the wall's confusion matrix (the heatmap's cell texts), or null.
CONFUSION_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.data && g.data[0] &&
      g.data[0].type === 'heatmap' && g.layout && g.layout.yaxis && (g.layout.yaxis.title.text || '') === 'true digit');
  if (!gd) return null;
  return gd.data[0].text.flat().map(t => parseInt(t, 10));
}"""
WALL_JS = """() => { const w = document.querySelector('.cnnviz-wall'); return w ? +w.dataset.count : null; }"""


@pytest.fixture
def served(data_root, tmp_path, monkeypatch):
    """Two app processes and nginx sharing one class store; stopped (logs kept in artifacts/logs/) at the end."""
    secret = secrets.token_hex(32)
    monkeypatch.setenv("STREAMLIT_SERVER_COOKIE_SECRET", secret)   # so a restarted process accepts the cookies
    env = {"CNNVIZ_DATA": str(data_root), "CNNVIZ_CLASS_STORE": f"sqlite://{tmp_path / 'classes.sqlite3'}"}
    module = load_script(REPO / "deploy" / "serve_class.py", "serve_class")
    served = module.start_class(2, env=env, keep_logs=True)
    env["CNNVIZ_CLASS_STORE"] = getattr(served, "store_url", None) or env["CNNVIZ_CLASS_STORE"]  # the one it checked
    served.restart_env, served.secret, served.module = env, secret, module
    try:
        yield served
    finally:
        stop_class(served, "class-session")


def restart_one(served) -> str:
    """Stop the first app process and start a new one on its port (same store, same cookie secret)."""
    where, proc = served.apps[0]
    served.module.stop_process(proc)
    port = int(where.rsplit(":", 1)[1])
    new = served.module.start_apps(1, served.prefix, "127.0.0.1", port, served.secret, served.restart_env)
    served.apps[0] = new[0]
    served.module.wait_healthy(new)
    return where


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(address(page)).query).items()}


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def watch_errors(page):
    """`page`, keeping the JavaScript errors it reports in `page._errors`."""
    page._errors = []
    page.on("pageerror", lambda exc: page._errors.append(str(exc)))
    return page


def join(context, url: str, code: str):
    page = watch_errors(context.new_page())
    open_page(page, url, "class_session")
    page.get_by_label("Class code (on the projector)").fill(code)
    page.get_by_label("Class code (on the projector)").press("Enter")
    click(page, "Join")
    page.get_by_text(f"You are in class {code}").first.wait_for(timeout=60_000)
    return page


def choose(radio, option: str) -> None:
    """Pick `option` in `radio`; click again where a re-render swallowed the click, until the radio shows it chosen
    (a lost click leaves "Answer" disabled)."""
    choice = radio.get_by_role("radio", name=option, exact=True)

    def chosen() -> bool:
        radio.get_by_text(option, exact=True).click()
        try:
            return wait_until(choice.is_checked, 3, f"{option!r} to show as chosen")
        except TimeoutError:
            return False
    wait_until(chosen, 60, f"the answer {option!r} to show as chosen")


def set_number(page, label: str, value: int, tries: int = 3) -> None:
    """Type `value` into a number input and press Enter; typed again while the widget, once the page is idle, does
    not hold it. A script run still going when the text is typed (the run of the setting before, started late on
    a busy machine) draws the widget again with the value it had, and the typed text is gone."""
    box = page.get_by_label(label, exact=True)
    for _ in range(tries):
        wait_idle(page)
        box.fill(str(value))
        box.press("Enter")
        wait_idle(page)
        if box.input_value() == str(value):
            return
    raise AssertionError(f"{label!r} shows {box.input_value()!r} after {tries} tries to set {value}")


def test_a_class_follows_answers_and_draws_across_two_processes_and_a_restart(served, browser):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(STUDENTS + 1)]
    for ctx in contexts:
        ctx.set_default_timeout(60_000)
    try:
        teacher = watch_errors(contexts[0].new_page())
        open_page(teacher, served.url, "class_session")
        click(teacher, "Start a class")
        code = teacher.locator(".cnnviz-join").get_attribute("data-code", timeout=60_000)
        assert re.fullmatch(r"[A-Z2-9]{6}", code)
        assert teacher.locator(".cnnviz-join img.cnnviz-qr").count() == 1                     # the QR code
        students = [join(ctx, served.url, code) for ctx in contexts[1:]]

        # ---- follow me: the instructor opens Pooling and sets kernel 3, stride 1
        go_to_page_in_session(teacher, "Pooling")
        set_number(teacher, "Kernel size", 3)
        set_number(teacher, "Stride", 1)
        wait_until(lambda: query(teacher).get("pool_kernel") == "3" and query(teacher).get("pool_stride") == "1", 30,
                   "the instructor's own link to hold kernel 3, stride 1")   # the address bar updates after the run
        changed = time.monotonic()
        landed = []
        for page in students:   # what the student sees: the page, and its widgets holding the instructor's values
            wait_until(lambda: FOLLOWED.search(address(page))
                       and page.get_by_label("Kernel size", exact=True).input_value() == "3"
                       and page.get_by_label("Stride", exact=True).input_value() == "1", 30,
                       "the student's page to follow")
            landed.append(time.monotonic() - changed)
        print(f"followed within {max(landed):.2f} s (each student: {[round(t, 2) for t in landed]})")
        for page in students:   # and the link in its address bar says so
            try:
                wait_until(lambda: query(page).get("pool_kernel") == "3" and query(page).get("pool_stride") == "1",
                           30, "the student's link to hold kernel 3, stride 1")
            except TimeoutError as exc:
                raise AssertionError(f"{exc}; the student's address: {address(page)}") from None

        # ---- predict, then reveal: the instructor goes back to the Class page (the class follows) and asks
        open_page(teacher, served.url, "class_session")   # typed in: a new session, the seat from the cookie
        for page in students:
            wait_until(lambda: address(page).split("?")[0].endswith("/class_session"), 30, "the class page")
        click(teacher, "Open the question")
        for n, page in enumerate(students):
            radio = page.locator('[data-testid="stRadio"]').filter(has_text="Your answer")
            radio.wait_for(timeout=60_000)
            choose(radio, OPTIONS[2 if n % 3 else 1])
            click(page, "Answer")
            page.get_by_text("Your answer:").first.wait_for(timeout=60_000)
        wait_until(lambda: "6 answered so far" in teacher.inner_text("body"), 30, "six answers")
        for page in [teacher, *students]:
            assert page.evaluate(HISTOGRAM_JS) is None                                # hidden before the reveal

        restarted = restart_one(served)                                             # nothing may be lost
        print(f"restarted the app process on {restarted}")
        for n, page in enumerate([teacher, *students]):   # 0 is the instructor
            wait_until(lambda: "answered so far" in page.inner_text("body") or
                       "Your answer:" in page.inner_text("body"), 90, f"browser {n}'s class page after the restart")
        wait_until(lambda: "6 answered so far" in teacher.inner_text("body"), 60, "six answers after the restart")

        click(teacher, "Reveal the answers")
        for page in [teacher, *students]:
            counts = wait_until(lambda: page.evaluate(HISTOGRAM_JS), 30, "the histogram after the reveal")
            assert sum(counts) == STUDENTS and counts[1] == 2 and counts[2] == 4, counts

        # ---- the digit wall: everyone draws a 7
        teacher.get_by_role("tab", name="Digit wall").click()
        click(teacher, "Everyone draw a 7")
        for page in students:
            page.locator("canvas.upper-canvas").first.wait_for(timeout=60_000)
            draw_strokes(page, DIGITS[7])
            page.get_by_text("The model reads").first.wait_for(timeout=60_000)
            click(page, "Send to the wall")
            page.get_by_text("On the wall").first.wait_for(timeout=60_000)
        wait_until(lambda: teacher.evaluate(WALL_JS) == STUDENTS, 30, "six drawings on the wall")
        def confusion_total():   # the chart is drawn after the wall's HTML: it may still show the last poll's
            cells = teacher.evaluate(CONFUSION_JS)
            return cells is not None and sum(cells) == STUDENTS
        wait_until(confusion_total, 30, "a confusion matrix whose counts add up to six")
        assert sum(teacher.evaluate(CONFUSION_JS)) == STUDENTS
        for page in [teacher, *students]:
            assert exceptions_on(page) == []
        # Streamlit's app can still leave a following student's page blank ("Bad delta path index", bench/NOTES.md
        # section 23; in 2 of 10 runs in a session): the page reloads itself (class_follow.BLANK_GUARD_JS, whose own
        # test raises it) and the student went on with the class above. Any other page error fails the test.
        errors = [e for page in students for e in page._errors]
        if blank := [e for e in errors if e.startswith(BLANK_ERROR)]:
            print(f"pages left blank by Streamlit and reloaded: {blank}")
        assert [e for e in errors if not e.startswith(BLANK_ERROR)] == []
    except BaseException:
        for n, ctx in enumerate(contexts):   # what each browser showed when it failed, and what its page reported
            for page in ctx.pages:
                screenshot(page, f"class-session-fail-{n}")
                print(f"browser {n}: {address(page)}; page errors: {getattr(page, '_errors', None)}")
        raise
    finally:
        for ctx in contexts:
            ctx.close()


BLANK_ERROR_JS = """() => { window.__beforeReload = true;
  setTimeout(() => { throw new Error('%s 15 (should be between [0, 13])'); }, 0); }""" % BLANK_ERROR


def test_a_following_students_page_left_blank_reloads_itself_once(base_url, browser):
    """Streamlit's app leaves a page blank when a fragment's output lands in a page it has replaced ("Bad delta path
    index", seen under heavy load after a follow): a student's page reloads itself and is back in the class, but
    at most once in 30 s (a second such error leaves the page alone: never a loop)."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(2)]
    for ctx in contexts:
        ctx.set_default_timeout(60_000)
    try:
        teacher = watch_errors(contexts[0].new_page())
        open_page(teacher, base_url, "class_session")
        click(teacher, "Start a class")
        code = teacher.locator(".cnnviz-join").get_attribute("data-code", timeout=60_000)
        student = join(contexts[1], base_url, code)
        wait_until(lambda: student.evaluate("() => window.top.__cnnvizBlankGuard === true"), 30, "the guard")
        screenshot(student, "class-student-bar")
        assert teacher.evaluate("() => window.top.__cnnvizBlankGuard === true") is False   # a student's only

        student.evaluate(BLANK_ERROR_JS)
        wait_until(lambda: student.evaluate("() => window.__beforeReload === undefined"), 30, "the page to reload")
        student.get_by_text(f"You are in class {code}").first.wait_for(timeout=60_000)   # the seat, from the cookie
        wait_until(lambda: student.evaluate("() => window.top.__cnnvizBlankGuard === true"), 30, "the guard again")

        student.evaluate(BLANK_ERROR_JS)   # within 30 s of the reload: left alone
        student.wait_for_timeout(2_000)
        assert student.evaluate("() => window.__beforeReload") is True
        assert [e for e in student._errors if not e.startswith(BLANK_ERROR)] == []
    finally:
        for ctx in contexts:
            ctx.close()
