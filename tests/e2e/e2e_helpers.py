"""Browser-test helpers: a live Streamlit server, Debian's Chromium, and drawing with a real mouse.

Shared by the e2e tests (tests/e2e/) and the classroom benchmark (bench/classroom.py).
Named e2e_helpers (not helpers) so it cannot shadow another tests/ folder's helpers module.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

# url path -> (title in app.py's navigation). Home is the default page at "/".
PAGES = {
    "": "Home",
    "pooling": "Pooling",
    "activation_functions": "Activation functions",
    "architecture": "Architecture",
    "receptive_field": "Receptive field",
    "training": "Training",
    "draw": "Draw a digit",
    "filters": "Learned filters",
    "gap_cam": "GAP and CAM",
    "evaluation": "Evaluation",
}


# ---------------------------------------------------------------- server

def free_port() -> int:
    """A TCP port the OS says is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_for_health(url: str, proc: subprocess.Popen | None = None, timeout: float = 90.0) -> None:
    """Poll /_stcore/health until it answers "ok"; fail fast if the server process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        time.sleep(0.25)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f} s")


@contextlib.contextmanager
def streamlit_server(port: int | None = None, env: dict | None = None, name: str = "server",
                     timeout: float = 90.0):
    """Run `streamlit run app.py` from the repo root on a free port; yield a Server; stop it after."""
    port = port or free_port()
    log_dir = ARTIFACTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{port}.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1"]
    full_env = {**os.environ, **(env or {})}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        wait_for_health(server.url, proc, timeout)
        yield server
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the server (its own process group, nothing else), then SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace)


def process_stats(pid: int) -> dict:
    """CPU seconds (user+system) and resident memory in MB of one process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu_s = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if line.startswith("VmRSS:"))
    return {"cpu_s": cpu_s, "rss_mb": rss_kb / 1024}


# ---------------------------------------------------------------- browser

def launch_chromium(playwright):
    exe = shutil.which("chromium")
    if exe is None:
        raise RuntimeError("Debian's chromium is not installed: run `bash scripts/test.sh`, which installs it")
    return playwright.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)


# Console messages that are not the app's fault, matched against "text [url]". Each filter is precise.
BENIGN_CONSOLE = [
    # Opened at a page's own URL (/pooling), Streamlit's frontend first probes for a server mounted under
    # that path (/pooling/_stcore/health and /host-config), gets a 404, then uses the root: its own probe.
    re.compile(r"^Failed to load resource: the server responded with a status of 404 \(Not Found\) "
               r"\[https?://[^/]+/[a-z_]+/_stcore/(health|host-config)\]$"),
]


@dataclass
class ConsoleLog:
    errors: list[str] = field(default_factory=list)

    def attach(self, page) -> "ConsoleLog":
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        return self

    def _on_console(self, msg) -> None:
        if msg.type != "error":
            return
        text = console_text(msg)
        if not any(rx.search(text) for rx in BENIGN_CONSOLE):
            self.errors.append(text)


def console_text(msg) -> str:
    """A console message as "text [url]" (the url says which resource failed)."""
    url = (msg.location or {}).get("url") or ""
    return f"{msg.text} [{url}]" if url else msg.text


def script_state(page) -> str | None:
    return page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state")


def wait_idle(page, timeout: float = 60.0, settle: float = 0.3) -> None:
    """Wait until the Streamlit script is not running (and stays so for `settle` seconds)."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        state = page.evaluate(
            "() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
            " return a ? a.getAttribute('data-test-script-state') : null; }")
        if state == "notRunning":
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(50)
    raise TimeoutError(f"script still running after {timeout:.0f} s")


# Counts script runs as the page sees them start (installed before the page loads).
RUN_COUNTER_JS = """
window.__e2eRuns = 0;
new MutationObserver(ms => { for (const m of ms)
  if (m.target.getAttribute('data-test-script-state') === 'running') window.__e2eRuns++; })
  .observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""


def open_page(page, base_url: str, path: str, timeout: float = 90.0) -> None:
    """Go to /path and wait until the page's first run has started and finished."""
    if not getattr(page, "_e2e_counter", False):
        page.add_init_script(RUN_COUNTER_JS)
        page._e2e_counter = True
    page.goto(f"{base_url}/{path}", wait_until="domcontentloaded")
    page.locator('[data-testid="stApp"]').wait_for(timeout=timeout * 1000)
    page.wait_for_function("() => window.__e2eRuns > 0", timeout=timeout * 1000, polling=50)
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
    found = [f for f in plotly_figures(page) if f["title"] == title]
    assert len(found) == 1, f"expected one chart titled {title!r}, found {[f['title'] for f in plotly_figures(page)]}"
    return found[0]


def go_to_page_in_session(page, title: str) -> None:
    """Click a sidebar link (same Streamlit session, unlike page.goto, which starts a new one)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.wait_for_timeout(200)
    wait_idle(page)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the st.selectbox labelled `label`."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------- drawing

# The digit the Draw page predicts (its st.metric labelled "Prediction"), or null when none is shown.
PREDICTION_JS = """() => {
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const label = m.querySelector('[data-testid="stMetricLabel"]');
    const value = m.querySelector('[data-testid="stMetricValue"]');
    if (label && value && label.innerText.trim() === 'Prediction') {
      const d = parseInt(value.innerText.trim(), 10);
      return Number.isNaN(d) ? null : d;
    }
  }
  return null;
}"""


# Everything that changes on screen when a new prediction lands: the input's digest (the Draw page tags its
# 28x28 preview with it), the predicted digit and its confidence.
SIGNATURE_JS = """() => {
  const tag = document.querySelector('.cnnviz-prediction');
  const value = document.querySelector('[data-testid="stMetricValue"]');
  const delta = document.querySelector('[data-testid="stMetricDelta"]');
  return [tag ? tag.dataset.digest : '', value ? value.innerText : '', delta ? delta.innerText : ''].join('|');
}"""


def shown_prediction(page) -> int | None:
    return page.evaluate(PREDICTION_JS)


def signature(page) -> str:
    return page.evaluate(SIGNATURE_JS)


def wait_for_prediction(page, before: str | None = None, timeout: float = 60.0, settle: float = 0.8) -> int:
    """Wait for a prediction that differs from the screen `before` (a signature) and stays put for `settle`
    seconds with no script running (so a two-stroke digit is judged whole); return the digit shown."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now_sig, state, shown = page.evaluate(
            f"() => [({SIGNATURE_JS})(), document.querySelector('[data-testid=\"stApp\"]')"
            f"?.getAttribute('data-test-script-state'), ({PREDICTION_JS})()]")
        if now_sig != last:
            last, since = now_sig, time.monotonic()
        ready = shown is not None and state == "notRunning" and (before is None or now_sig != before)
        if ready and time.monotonic() - since >= settle:
            return shown
        page.wait_for_timeout(50)
    raise TimeoutError(f"no new prediction within {timeout:.0f} s")


def draw_and_predict(page, strokes, **kwargs) -> int:
    """Draw `strokes` and return the digit the page predicts for the whole drawing."""
    before = signature(page)
    draw_strokes(page, strokes, **kwargs)
    return wait_for_prediction(page, before)


def clear_canvas(page) -> None:
    """The Draw page's Clear button; waits until the prediction is gone and a fresh canvas is up."""
    page.locator("canvas.upper-canvas").evaluate_all("els => els.forEach(e => e.dataset.e2eOld = '1')")
    page.get_by_role("button", name="Clear", exact=True).click()
    page.wait_for_function(f"() => ({PREDICTION_JS})() === null")
    page.locator(CANVAS).first.wait_for(state="visible")
    wait_idle(page)


CANVAS = "canvas.upper-canvas:not([data-e2e-old])"   # fabric's mouse layer; not one a Clear replaced

# True when the element under (x, y), looking into shadow roots, is a live canvas: the pointer will land on it.
HIT_JS = """([x, y]) => {
  let el = document.elementFromPoint(x, y);
  while (el && el.shadowRoot) {
    const inner = el.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === el) break;
    el = inner;
  }
  return !!el && el.classList.contains('upper-canvas') && !el.dataset.e2eOld;
}"""


def canvas_box(page, index: int = 0, timeout: float = 30.0) -> dict:
    """Bounding box of the drawable canvas, once it has stopped moving (the layout settles after a rerun)."""
    canvas = page.locator(CANVAS).nth(index)
    canvas.wait_for(state="visible", timeout=timeout * 1000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for _ in range(20):
        page.wait_for_timeout(50)
        again = canvas.bounding_box()
        if again == box:
            break
        box = again
    return box


def draw_strokes(page, strokes, index: int = 0, steps_per_segment: int = 6) -> float:
    """Draw polylines given in unit-square coordinates (0..1, y down) with real mouse drags.

    Returns the time.monotonic() of the last mouse-up (the start of the latency clock).
    """
    last_up = time.monotonic()
    for stroke in strokes:
        box = canvas_box(page, index)      # per stroke: a rerun after the last one may have moved it
        px = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*px[0])
        page.wait_for_function(HIT_JS, arg=list(px[0]), polling=50)
        page.mouse.down()
        for point in px[1:]:
            page.mouse.move(*point, steps=steps_per_segment)
        page.mouse.up()
        last_up = time.monotonic()
    return last_up


def place(strokes, scale: float = 1.0, dx: float = 0.0, dy: float = 0.0):
    """The same strokes scaled about the centre of the box and shifted (to draw small, in a corner...)."""
    return [[(0.5 + (x - 0.5) * scale + dx, 0.5 + (y - 0.5) * scale + dy) for x, y in s] for s in strokes]


def _arc(cx, cy, rx, ry, a0, a1, n=24):
    import math
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


# Digits drawn the way a person draws them, in a unit box (y down). Angles in degrees, 0 = right, 90 = down.
DIGITS = {
    0: [_arc(0.5, 0.5, 0.22, 0.32, -90, 270, 36)],
    1: [[(0.45, 0.24), (0.53, 0.17), (0.53, 0.83)]],
    2: [_arc(0.5, 0.34, 0.2, 0.16, 200, 380, 18)[:-4] + [(0.66, 0.43), (0.3, 0.8), (0.72, 0.8)]],
    3: [_arc(0.48, 0.33, 0.19, 0.15, 210, 450, 20), _arc(0.48, 0.64, 0.21, 0.18, -90, 150, 20)],
    4: [[(0.58, 0.18), (0.3, 0.6), (0.74, 0.6)], [(0.6, 0.36), (0.6, 0.84)]],
    5: [[(0.68, 0.2), (0.36, 0.2), (0.33, 0.47)] + _arc(0.48, 0.62, 0.2, 0.18, -120, 150, 20)],
    6: [[(0.64, 0.18), (0.45, 0.35), (0.33, 0.6)] + _arc(0.5, 0.64, 0.17, 0.16, 180, 540, 28)],
    7: [[(0.3, 0.22), (0.7, 0.22), (0.45, 0.82)]],
    8: [_arc(0.5, 0.33, 0.15, 0.14, 90, 450, 24), _arc(0.5, 0.65, 0.19, 0.17, -90, 270, 28)],
    9: [_arc(0.5, 0.36, 0.17, 0.15, 0, 360, 28) + [(0.66, 0.5), (0.6, 0.84)]],
}
