"""Cold start: from `streamlit run app.py` to the first page rendered in a real browser, against a bare
Streamlit app started the same way, in interleaved pairs (target, issue 22: at most 1.1x the bare app).

Each run starts a fresh server process on a free port, while a headless Chromium (started beforehand, so
its own start-up is not counted) waits for the server's health endpoint, opens "/" and waits for the page's
main content: for the app, the home page's title and its pipeline diagram; for the baseline, a one-line app
(`st.title`) in a temporary folder. The clock starts just before the server process is spawned. Pairs run
in alternating order so that drift in the machine's load hits both. It also reports when the app's model line
appears (that loads PyTorch and the checkpoint, after the rest of the page is on screen), the server's CPU
time by the first page (the app's includes the start of that PyTorch import), and the machine's load average
(the numbers are only meaningful on an otherwise idle machine).

    python -m bench.cold_start               # 6 pairs
    python -m bench.cold_start --runs 3
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from livetest import launch_browser, process_stats, start_server

TARGET_RATIO = 1.1
FIRST_CONTENT = '[data-testid="stMain"] h1 >> text=How a CNN reads'
PIPELINE = ".st-key-pipeline a"
MODEL_LINE = '[data-testid="stMain"] [data-testid="stAlert"] >> text=Model in use'
BARE_APP = 'import streamlit as st\n\nst.title("How a CNN reads digits")\n'


def one_run(browser, script: str | Path = "app.py") -> dict:
    """One cold start of `script`: seconds to healthy, to the first page, (the app only) to the model line."""
    bare = script != "app.py"
    t0 = time.perf_counter()
    server = start_server(None, {"PYTHONUNBUFFERED": "1"}, name="bench-cold", timeout=60.0, log=False,
                          script=script)
    try:
        healthy = time.perf_counter() - t0
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.goto(server.url, wait_until="commit")
        page.wait_for_selector(FIRST_CONTENT, timeout=60_000)
        if not bare:
            page.wait_for_selector(PIPELINE, timeout=60_000)
        first = time.perf_counter() - t0
        server_cpu = process_stats(server.proc.pid)["cpu_s"]
        if not bare:
            page.wait_for_selector(MODEL_LINE, timeout=60_000)
        model = time.perf_counter() - t0
        context.close()
        return {"healthy": healthy, "first_page": first, "model_line": None if bare else model,
                "server_cpu": server_cpu, "load": os.getloadavg()[0]}
    finally:
        server.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="pairs (app, bare app)")
    args = parser.parse_args(argv)
    print(f"cold start of `streamlit run app.py` against a bare app, {args.runs} interleaved pairs "
          f"({os.cpu_count()} CPUs); target: at most {TARGET_RATIO}x the bare app")
    print(f"{'pair':>4}  {'app':>5}  {'healthy':>8}  {'first page':>10}  {'model shown':>11}  {'server CPU':>10}  "
          f"{'load':>4}")
    pairs = []
    with tempfile.TemporaryDirectory(prefix="cnnviz-bare-") as folder, sync_playwright() as p:
        bare = Path(folder) / "bare_app.py"
        bare.write_text(BARE_APP)
        browser = launch_browser(p)
        try:
            for i in range(1, args.runs + 1):
                order = (("app", "app.py"), ("bare", bare)) if i % 2 else (("bare", bare), ("app", "app.py"))
                pair = {}
                for name, script in order:
                    r = pair[name] = one_run(browser, script)
                    model = f"{r['model_line']:>9.2f} s" if r["model_line"] is not None else f"{'':>11}"
                    print(f"{i:>4}  {name:>5}  {r['healthy']:>6.2f} s  {r['first_page']:>8.2f} s  {model}  "
                          f"{r['server_cpu']:>8.2f} s  {r['load']:>4.1f}", flush=True)
                pairs.append(pair)
        finally:
            browser.close()
    ratios = [pair["app"]["first_page"] / pair["bare"]["first_page"] for pair in pairs]
    ratio = statistics.median(ratios)
    loads = [run["load"] for pair in pairs for run in pair.values()]
    print(f"first page: app median {statistics.median(p['app']['first_page'] for p in pairs):.2f} s, bare app "
          f"median {statistics.median(p['bare']['first_page'] for p in pairs):.2f} s; app / bare per pair, median "
          f"{ratio:.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}x; target at most {TARGET_RATIO}x), load average "
          f"{min(loads):.1f}-{max(loads):.1f}; server CPU at the first page: app median "
          f"{statistics.median(p['app']['server_cpu'] for p in pairs):.2f} s, bare app median "
          f"{statistics.median(p['bare']['server_cpu'] for p in pairs):.2f} s. "
          "'server CPU' is what the server process had used by then; 'load' is the 1-minute load average: above "
          "the CPU count, other work was competing for the cores.")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
