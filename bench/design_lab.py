"""Benchmark: what "Train it" on the Design lab page costs, for the tiny design and the chapter's design.

The page starts a run through the server's JobManager (handing it to the standby worker that every rerun of the
lab keeps ready, torch imported and MNIST read; --new-worker starts a fresh one instead) with the lab's recipe
(cnnviz.presets.lab_recipe: the fast recipe, a test every 250 steps). This does the same and times, from the
start call: the first curve point (the first step record the page can draw), the first test accuracy
at or above 99%, and the end of the run. The page polls the job every 0.5 s, so on screen each figure can be up
to 0.5 s later (--browser measures the page itself in Chromium).

The issue's targets: the first point under 2 s; the chapter's design to 99% in under 1/8 of the chapter's recipe
(its 3-epoch wall time, measured as bench/train_speed.py does; --reference-seconds reuses a figure measured there).

    CNNVIZ_DATA=path/to/data python -m bench.design_lab [--threads auto] [--reference-seconds 55] [--browser]
Not a test: timings depend on the machine and on what else runs on it (the load average is printed).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch


from cnnviz import presets
from cnnviz.cpu_share import threads_setting
from cnnviz.data import data_root
from cnnviz.jobs import FINISHED_STATES, DataFiles, JobManager

DESIGNS = ("tiny", "chapter")


def load_average() -> str:
    return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def through_job_manager(key: str, threads, root: str, target: float, standby: bool) -> dict:
    """Start the preset's design as the page does and time what the page would see.

    standby: as on the page, a standby worker (JobManager.warm(), called by every rerun of the lab) has started
    and loaded MNIST while the student chose the design; otherwise the job starts a new worker.
    """
    manager = JobManager(max_jobs=2, threads=threads, data_root=root)
    if standby:
        manager.warm()
        deadline = time.monotonic() + 120
        while not manager.standby_ready():
            if time.monotonic() > deadline:
                raise RuntimeError("the standby worker was not ready after 120 s")
            time.sleep(0.05)
    config = presets.lab_recipe(presets.preset(key).config, device="cpu")
    started = time.perf_counter()
    job = manager.start(f"bench-{key}", config, DataFiles("train"), DataFiles("test"))
    ready = first = reached = None
    while True:
        snap = job.snapshot()
        now = time.perf_counter() - started
        if ready is None and snap.state != "starting":
            ready = now  # the worker has started Python, imported torch, read MNIST and built the model
        if first is None and snap.records:
            first = now
        if reached is None and any(r.test_acc is not None and r.test_acc >= target for r in snap.records):
            reached = now
        if snap.state in FINISHED_STATES:
            break
        time.sleep(0.02)
    end = time.perf_counter() - started
    job.join(10)
    manager.shutdown()
    final = next((r.test_acc for r in reversed(snap.records) if r.test_acc is not None), None)
    speeds = presets.epoch_speeds([r.to_dict() for r in snap.records])
    return {"ready": ready, "first": first, "reached": reached, "end": end, "final": final, "state": snap.state,
            "steps": snap.step, "images_per_sec": sum(speeds) / len(speeds) if speeds else None}


def through_browser(key: str, root: str) -> dict:
    """The page itself in Chromium: pick the preset, press Train it, wait for the first curve and the end."""
    from playwright.sync_api import sync_playwright

    from livetest import REPO, launch_browser, load_script, streamlit_server

    helpers = load_script(REPO / "tests" / "e2e" / "e2e_helpers.py", "e2e_helpers")   # the browser tests' own
    choose, open_page, rerun, wait_until = helpers.choose, helpers.open_page, helpers.rerun, helpers.wait_until

    points_js = """() => { const gd = document.querySelector('.st-key-dl_live .js-plotly-plot');
        const len = a => !a ? 0 : (a._inputArray ? a._inputArray.length : (a.length || 0));
        return gd && gd.data ? Math.max(0, ...gd.data.map(t => len(t.x))) : 0; }"""
    with streamlit_server(env={"CNNVIZ_DATA": root}, name="bench-design-lab") as server, sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        open_page(page, server.url, "")
        open_page(page, server.url, "design_lab")
        choose(page, "Start from a preset", presets.preset(key).title)
        page.wait_for_timeout(1000)
        button = page.get_by_role("button", name="Train it")
        started = time.perf_counter()
        rerun(page, button.click)
        wait_until(lambda: page.evaluate(points_js) > 0, 120, "the first curve point")
        first = time.perf_counter() - started
        bar = page.locator('.st-key-dl_live [data-testid="stProgress"]')
        wait_until(lambda: any(s in bar.inner_text() for s in (": Finished", ": Stopped")), 600,
                   "the end of the run", interval=0.05)
        end = time.perf_counter() - started
        browser.close()
    return {"first": first, "end": end}


def reference_seconds(root: str) -> float:
    """The chapter's recipe, as the chapter writes it: its 3-epoch wall time (bench/train_speed.py)."""
    from bench.train_speed import reference
    return reference(Path(root), 3, None, 0.99, seed=0)["wall"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="data root holding MNIST/raw")
    p.add_argument("--threads", type=threads_setting, default="auto",
                   help="torch threads of the worker: a number, or auto (the server's default)")
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--reference-seconds", type=float, default=None,
                   help="the chapter's recipe's 3-epoch wall time measured elsewhere (skips measuring it here)")
    p.add_argument("--browser", action="store_true", help="also time the page itself in Chromium")
    p.add_argument("--new-worker", action="store_true",
                   help="start each run in a new worker (no standby): the page's path before the standby worker")
    args = p.parse_args(argv)
    root = str(data_root(args.data).resolve())
    print(f"torch {torch.__version__}, worker threads {args.threads}, {os.cpu_count()} CPUs, "
          f"{'a new worker per run' if args.new_worker else 'a standby worker, as on the page'}; {load_average()}")
    results = {}
    for key in DESIGNS:
        results[key] = through_job_manager(key, args.threads, root, args.target, standby=not args.new_worker)
        r = results[key]
        when = "not reached" if r["reached"] is None else f"{r['reached']:.1f} s"
        print(f"{key}: worker ready {r['ready']:.2f} s, first point {r['first']:.2f} s, "
              f"{100 * args.target:.0f}% at {when}, end {r['end']:.1f} s "
              f"({r['state']}, {r['steps']} steps, {r['images_per_sec']:,.0f} img/s, final "
              f"{100 * (r['final'] or 0):.2f}%)  ({load_average()})", flush=True)
    if args.browser:
        for key in DESIGNS:
            results[key]["browser"] = through_browser(key, root)
            print(f"{key} in the browser: first point {results[key]['browser']['first']:.2f} s, end "
                  f"{results[key]['browser']['end']:.1f} s  ({load_average()})", flush=True)
    reference = args.reference_seconds
    if reference is None:
        print("the chapter's recipe (reference, 3 epochs)...", flush=True)
        reference = reference_seconds(root)
    print(f"\n{'':24}{'tiny':>12}{'chapter':>12}   target")
    def row(label, values, target):
        print(f"{label:24}" + "".join(f"{'–' if v is None else format(v, '.2f') + ' s':>12}" for v in values)
              + f"   {target}")

    row("worker ready", [results[k]["ready"] for k in DESIGNS], "(process, torch, MNIST, model)")
    row("first curve point", [results[k]["first"] for k in DESIGNS], "< 2 s")
    if args.browser:
        row("first point on screen", [results[k]["browser"]["first"] for k in DESIGNS], "< 2 s")
    row(f"{100 * args.target:.0f}% test accuracy", [results[k]["reached"] for k in DESIGNS],
        f"chapter < {reference / 8:.1f} s (1/8 of {reference:.1f} s)")
    row("end of the run", [results[k]["end"] for k in DESIGNS], "")
    if args.browser:
        row("end on screen", [results[k]["browser"]["end"] for k in DESIGNS], "")
    reached = results["chapter"]["reached"]
    ratio = "not reached" if reached is None else f"{reference / reached:.1f}x"
    print(f"chapter's design: {ratio} faster to "
          f"{100 * args.target:.0f}% than the chapter's recipe's {reference:.1f} s (target: 8x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
