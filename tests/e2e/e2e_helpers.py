"""Browser-test helpers: a live Streamlit server, Debian's Chromium, pages and their charts.

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
                     timeout: float = 90.0, options: tuple = ()):
    """Run `streamlit run app.py [options]` from the repo root on a free port; yield a Server; stop it after."""
    port = port or free_port()
    log_dir = ARTIFACTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{port}.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1", *options]
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
    # A chart being re-created after a rerun is briefly absent: wait until the titled one is drawn.
    page.wait_for_function("""title => [...document.querySelectorAll('.js-plotly-plot')].some(gd =>
        gd.layout && gd.layout.title && (gd.layout.title.text || '').replace(/<[^>]*>/g, '') === title)""",
                           arg=title, timeout=30_000, polling=100)
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
