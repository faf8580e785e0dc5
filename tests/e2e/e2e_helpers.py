"""Browser-test helpers for pages: opening one, waiting for its script, reading its charts and errors.

The server and Chromium come from the shared `livetest` package (also used by bench/).
Named e2e_helpers (not helpers) so it cannot shadow another tests/ folder's helpers module.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz_ui.pages_list import TITLES
from livetest import ARTIFACTS, console_text, is_benign, wait_idle

SCREENSHOTS = ARTIFACTS / "screenshots"

# url path -> title in app.py's navigation. Home is the default page at "/".
PAGES = TITLES


# ---------------------------------------------------------------- pages

@dataclass
class ConsoleLog:
    errors: list[str] = field(default_factory=list)

    def attach(self, page) -> "ConsoleLog":
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        return self

    def _on_console(self, msg) -> None:
        if msg.type == "error" and not is_benign(msg):
            self.errors.append(console_text(msg))


def script_state(page) -> str | None:
    return page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state")


def _count_runs(page) -> None:
    """Count the script runs (whole or fragment) the server reports finished to this page, read from the
    websocket itself: on a busy machine the browser may handle a whole short run in one task, so the page's
    "running" state is never drawn and watching the DOM misses the run."""
    from livetest.streamlit_session import ForwardMsg  # the harness's one door to Streamlit's wire protocol

    page._e2e_runs = 0

    def on_frame(payload) -> None:
        if isinstance(payload, bytes):
            msg = ForwardMsg()
            try:
                msg.ParseFromString(payload)
            except Exception:  # noqa: BLE001 - not a ForwardMsg: nothing to count
                return
            if msg.WhichOneof("type") == "script_finished":
                page._e2e_runs += 1

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))


def wait_until(condition, timeout: float = 60.0, what: str = "the condition", interval: float = 0.1):
    """Poll `condition()` until it returns something truthy and return that; TimeoutError after `timeout` s.
    An exception inside `condition` (an element re-created mid-read) counts as "not yet"."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = condition()
            if value:
                return value
            last = value
        except Exception as exc:  # noqa: BLE001 - Playwright raises its own error types while the DOM changes
            last = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}; last seen: {last!r}")
        time.sleep(interval)


def eventually(read, expected, timeout: float = 30.0) -> None:
    """Poll `read()` until it equals `expected`; fail with the last value seen after `timeout` seconds."""
    try:
        wait_until(lambda: read() == expected, timeout, f"{expected!r}")
    except TimeoutError:
        value = read()
        assert value == expected, f"after {timeout:.0f} s: {value!r} != expected {expected!r}"


def runs(page) -> int:
    """Script runs the server has finished for this page (needs open_page's counter)."""
    page.evaluate("() => 0")  # let Playwright deliver the websocket frames received meanwhile
    return page._e2e_runs


def rerun(page, action, timeout: float = 60.0) -> None:
    """Do `action()` (a click, a key press) and wait until the script run it causes has started and ended."""
    before = runs(page)
    action()
    wait_until(lambda: runs(page) > before, timeout, "the script run the action causes")
    wait_idle(page, timeout)


def address(page) -> str:
    """The address bar as the browser has it now. Playwright's `page.url` is a copy that the sync API updates
    only while it handles events, so a loop that polls it with sleeps in between can read a stale path."""
    return page.evaluate("() => location.href")


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def alerts(page) -> list[str]:
    return page.locator('[data-testid="stAlert"]').all_inner_texts()


def open_page(page, base_url: str, path: str, timeout: float = 90.0) -> None:
    """Go to /path and wait until the page's first run has started and finished."""
    if not hasattr(page, "_e2e_runs"):
        _count_runs(page)
    before = page._e2e_runs
    page.goto(f"{base_url}/{path}", wait_until="domcontentloaded")
    page.locator('[data-testid="stApp"]').wait_for(timeout=timeout * 1000)
    wait_until(lambda: runs(page) > before, timeout, "the page's first script run")
    wait_idle(page, timeout)


def exceptions_on(page) -> list[str]:
    """Texts of the exception blocks Streamlit shows (there should be none)."""
    return page.locator('[data-testid="stException"]').all_inner_texts()


def plotly_figures(page) -> list[dict]:
    """Every Plotly chart on the page as {title, shapes: [[x0, x1, y0, y1]], z: first trace's z or None,
    points: number of x values of each trace}."""
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
        const t = gd.layout && gd.layout.title, z = gd.data && gd.data[0] && gd.data[0].z;
        const len = a => !a ? 0 : (a._inputArray ? a._inputArray.length : (a.length || 0));
        return {title: ((t && t.text) || '').replace(/<[^>]*>/g, ''),
                shapes: ((gd.layout && gd.layout.shapes) || []).map(s => [s.x0, s.x1, s.y0, s.y1]),
                z: z ? (z._inputArray || (Array.isArray(z) ? z : null)) : null,
                points: (gd.data || []).map(tr => len(tr.x))};
    })""")


def wait_for_plotly(page, timeout: float = 30.0) -> None:
    """Plotly draws after the script has finished (its library loads lazily): wait until every chart has."""
    page.wait_for_function("""() => {
        const frames = document.querySelectorAll('[data-testid="stPlotlyChart"]');
        const drawn = [...document.querySelectorAll('.js-plotly-plot')].filter(gd => gd.layout);
        return frames.length > 0 && drawn.length >= frames.length;
    }""", timeout=timeout * 1000, polling=100)


def plotly_figure(page, title: str) -> dict:
    """The one Plotly chart whose title is `title` (once the charts are drawn)."""
    wait_for_plotly(page)
    # A chart being re-created after a rerun is briefly absent: wait until the titled one is drawn.
    page.wait_for_function("""title => [...document.querySelectorAll('.js-plotly-plot')].some(gd =>
        gd.layout && gd.layout.title && (gd.layout.title.text || '').replace(/<[^>]*>/g, '') === title)""",
                           arg=title, timeout=30_000, polling=100)
    found = [f for f in plotly_figures(page) if f["title"] == title]
    assert len(found) == 1, f"expected one chart titled {title!r}, found {[f['title'] for f in plotly_figures(page)]}"
    return found[0]


def go_to_page_in_session(page, title: str) -> None:
    """Click a sidebar link (same Streamlit session, unlike page.goto, which starts a new one)."""
    rerun(page, page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the st.selectbox labelled `label`."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def choose_layer(page, name: str) -> None:
    """Pick a layer in the unit inspector's "Layer" dropdown; open it again if a rerun closed it before the pick."""
    option = page.get_by_role("option", name=name, exact=True)

    def picked() -> bool:
        if not option.is_visible():
            page.get_by_label("Layer", exact=True).click(timeout=5000)
            option.wait_for(state="visible", timeout=5000)
        option.click(timeout=5000)
        return True

    wait_until(picked, 60, f"the {name} option to be picked")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------- a served class (deploy/serve_class.py)

def stop_class(served, logs: str) -> None:
    """Stop a class started with keep_logs=True, keep its logs in artifacts/logs/<logs>/ (the last run's only)
    and remove its folder."""
    served.stop()
    kept = ARTIFACTS / "logs" / logs
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(served.prefix, kept, ignore=shutil.ignore_patterns("client_body", "proxy", "*cgi", "uwsgi"))
    shutil.rmtree(served.prefix, ignore_errors=True)
