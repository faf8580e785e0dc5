"""Cold start: from `streamlit run app.py` to the first page rendered in a real browser (target: 3 s).

Each run starts a fresh server process on a free port, while a headless Chromium (started beforehand, so
its own start-up is not counted) waits for the server's health endpoint, opens "/" and waits for the home
page's main content: its title and the pipeline diagram. The clock starts just before the server process
is spawned. It also reports when the model summary appears (that loads PyTorch and the checkpoint, after
the rest of the page is on screen), the server's CPU time, and the machine's load average (the numbers
are only meaningful on an otherwise idle machine).

    python -m bench.cold_start               # 3 runs
    python -m bench.cold_start --runs 5 --port 8611
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from playwright.sync_api import sync_playwright

from livetest import launch_browser, process_stats, start_server

TARGET_S = 3.0
FIRST_CONTENT = '[data-testid="stMain"] h1 >> text=How a CNN reads'
PIPELINE = ".st-key-pipeline a"
MODEL_LINE = '[data-testid="stMain"] [data-testid="stAlert"] >> text=Model in use'


def one_run(browser, port: int | None) -> dict:
    t0 = time.perf_counter()
    server = start_server(port, {"PYTHONUNBUFFERED": "1"}, name="bench-cold", timeout=60.0, log=False)
    url = server.url
    try:
        healthy = time.perf_counter() - t0
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(FIRST_CONTENT, timeout=60_000)
        page.wait_for_selector(PIPELINE, timeout=60_000)
        first = time.perf_counter() - t0
        server_cpu = process_stats(server.proc.pid)["cpu_s"]
        page.wait_for_selector(MODEL_LINE, timeout=60_000)
        model = time.perf_counter() - t0
        context.close()
        return {"healthy": healthy, "first_page": first, "model_line": model, "server_cpu": server_cpu,
                "load": os.getloadavg()[0]}
    finally:
        server.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    args = parser.parse_args(argv)
    print(f"cold start of `streamlit run app.py` ({os.cpu_count()} CPUs), target {TARGET_S:.1f} s to the first page")
    print(f"{'run':>3}  {'server healthy':>14}  {'first page':>10}  {'model shown':>11}  {'server CPU':>10}  "
          f"{'load':>4}  target")
    results = []
    with sync_playwright() as p:
        browser = launch_browser(p)
        try:
            for i in range(1, args.runs + 1):
                r = one_run(browser, args.port)
                results.append(r)
                verdict = "ok" if r["first_page"] <= TARGET_S else "OVER"
                print(f"{i:>3}  {r['healthy']:>12.2f} s  {r['first_page']:>8.2f} s  {r['model_line']:>9.2f} s  "
                      f"{r['server_cpu']:>8.2f} s  {r['load']:>4.1f}  {TARGET_S:.1f} s {verdict}", flush=True)
        finally:
            browser.close()
    firsts = [r["first_page"] for r in results]
    print(f"first page: median {statistics.median(firsts):.2f} s, worst {max(firsts):.2f} s "
          f"(target {TARGET_S:.1f} s). 'server CPU' is what the server process had used by then; 'load' is the "
          f"1-minute load average: above the CPU count, other work was competing for the cores.")
    return 0 if max(firsts) <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
