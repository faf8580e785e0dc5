"""Benchmark: a run started from the Training page, with and without a standby worker, against the chapter's recipe.

What the page does when a student presses "Start training" with the fast recipe: JobManager.start(owner, the
fast recipe on the CPU, DataFiles("train"), DataFiles("test")), with the page's manager settings (torch threads
"auto": the cores the rest of the machine leaves idle; niceness 10). Timed from start() to the first test point
>= the target in job.snapshot() (what the live view draws; the page polls it once a second, so a browser sees it
up to ~1 s later), and to the first step.
"cold": the worker is spawned by start() (torch's import, MNIST's loading and the first slow steps counted);
"warm": JobManager.warm() ran first and its standby was ready (what a student gets when the page has been open
a few seconds). Interleaved round by round, medians printed; the chapter's recipe runs as its own process
(bench.train_start.time_chapter_recipe) in the same run.

    python -m bench.page_training --rounds 3
    python -m bench.page_training --rounds 1 --skip-reference     # the two page timings only
Not a test: timings depend on the machine and on what else runs on it (the load average is printed).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace

from bench.train_start import load_average, time_chapter_recipe
from cnnviz.cpu_share import threads_setting
from cnnviz.data import data_root
from cnnviz.jobs import DataFiles, JobManager
from cnnviz.recipes import recipe

PAGE_THREADS, PAGE_NICE = "auto", 10   # the Training page's defaults (CNNVIZ_JOB_THREADS, CNNVIZ_JOB_NICE)


def one_run(warm: bool, root, target: float, threads, nice: int, timeout: float = 1800) -> dict:
    """One page start: seconds from start() to the first step and to the first test point >= target."""
    manager = JobManager(threads=threads, nice=nice, data_root=root)
    try:
        standby_s = standby_pid = None
        if warm:
            begun = time.perf_counter()
            manager.warm()
            while not manager.standby_ready():
                time.sleep(0.02)
            standby_s, standby_pid = time.perf_counter() - begun, manager.standby_pid
        config = replace(recipe("fast"), device="cpu")
        started = time.perf_counter()
        job = manager.start("bench", config, DataFiles("train"), DataFiles("test"))
        first_step = reached = None
        tests = []
        while reached is None and time.perf_counter() - started < timeout:
            snap = job.snapshot()
            if first_step is None and snap.step:
                first_step = time.perf_counter() - started
            tests = [r.test_acc for r in snap.records if r.test_acc is not None]
            if any(acc >= target for acc in tests):
                reached = time.perf_counter() - started
            elif snap.state in ("done", "stopped", "failed"):
                break
            time.sleep(0.02)
        if warm and job.pid != standby_pid:
            raise RuntimeError("the job did not run in the standby worker: the warm timing would be a cold one")
        return {"first_step": first_step, "reached": reached, "tests": tests, "standby": standby_s,
                "error": snap.error}
    finally:
        manager.shutdown()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="data root holding MNIST/raw (default: $CNNVIZ_DATA)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--threads", type=threads_setting, default=PAGE_THREADS,
                   help="a number, or auto (the page's default)")
    p.add_argument("--nice", type=int, default=PAGE_NICE)
    p.add_argument("--skip-reference", action="store_true")
    args = p.parse_args(argv)
    root = data_root(args.data).resolve()
    print(f"{os.cpu_count()} CPUs; workers with {args.threads} thread(s) at niceness {args.nice}; {load_average()}")
    runs = {"cold": [], "warm": []}
    reference = None
    for round_ in range(args.rounds):
        for kind in (("cold", "warm") if round_ % 2 == 0 else ("warm", "cold")):
            r = one_run(kind == "warm", root, args.target, args.threads, args.nice)
            runs[kind].append(r)
            ready = "" if r["standby"] is None else f"; standby ready {r['standby']:.1f}s before Start (not counted)"
            when = "not reached" if r["reached"] is None else f"{r['reached']:.1f}s"
            first = "-" if r["first_step"] is None else f"{r['first_step']:.1f}s"
            print(f"round {round_ + 1} {kind}: first step {first}, first test >= {100 * args.target:.1f}% {when} "
                  f"(tests {[round(100 * a, 2) for a in r['tests']]}){ready}  ({load_average()})"
                  + (f"  error: {r['error']}" if r["error"] else ""), flush=True)
        if round_ == 0 and not args.skip_reference:
            reference = time_chapter_recipe(root)
            print(f"chapter's recipe (own process, 3 epochs): {reference['wall']:.1f}s, CPU {reference['cpu']:.1f}s, "
                  f"tests {[round(100 * a, 2) for a in reference['accuracies']]}  ({load_average()})", flush=True)
    print(f"\nmedians over {args.rounds} interleaved rounds (shared machine: noisy)")
    for kind, rs in runs.items():
        reached = [r["reached"] for r in rs if r["reached"] is not None]
        firsts = [r["first_step"] for r in rs if r["first_step"] is not None]
        if not reached:
            print(f"  {kind}: never reached {100 * args.target:.1f}%")
            continue
        median = statistics.median(reached)
        share = f" = {median / reference['wall']:.2f} of the chapter's recipe ({reference['wall']:.1f}s)" \
            if reference else ""
        print(f"  {kind}: first step {statistics.median(firsts):.1f}s, first test >= {100 * args.target:.1f}% "
              f"{median:.1f}s{share} (target < 0.10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
