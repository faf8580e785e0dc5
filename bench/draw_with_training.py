"""Server-side draw-page latency while training jobs run, against none, in one run.

    CNNVIZ_DATA=... python -m bench.draw_with_training              # 2 jobs, 200 drawings a phase
    CNNVIZ_DATA=... python -m bench.draw_with_training --jobs 1 --n 100 --threads-too --nice 10

The drawing is timed as in bench/draw_latency.py (its server-side part: preprocess, trace, every activation
grid as PNG) in this process, which plays the web server. Phases alternate so that drift in the machine's load
hits both: idle, `--jobs` training jobs in worker processes (cnnviz.jobs, as the app runs them), idle again,
with --nice N the workers at a lower CPU priority, and with --threads-too the same jobs as threads of
this process (how the app ran them before issue 13).
Each job trains the page's default recipe on MNIST (batch 128, CPU, 1 torch thread).
"""
from __future__ import annotations

import argparse
import os
import threading
import time

from bench.draw_latency import percentiles, server_side
from cnnviz.jobs import DataFiles, JobManager
from cnnviz.train import TrainConfig, Trainer

CONFIG = TrainConfig(epochs=50, batch_size=128, device="cpu")  # outlasts a phase; stopped at its end


def with_workers(jobs: int, n: int, nice: int = 0) -> tuple[list[float], int]:
    """Draw latencies while `jobs` worker processes train; also the training steps they made meanwhile."""
    manager = JobManager(max_jobs=jobs, nice=nice)
    running = [manager.start(f"bench{i}", CONFIG, DataFiles("train"), DataFiles("test")) for i in range(jobs)]
    while any(job.snapshot().step < 3 for job in running):  # past start-up: loading MNIST, first steps
        if any(job.snapshot().state == "failed" for job in running):
            raise RuntimeError([job.snapshot().error for job in running])
        time.sleep(0.1)
    before = sum(job.snapshot().step for job in running)
    ms = server_side(n)
    steps = sum(job.snapshot().step for job in running) - before
    for job in running:
        job.stop()
        job.join(30)
    return ms, steps


def with_threads(jobs: int, n: int) -> tuple[list[float], int]:
    """The same, with each job a thread of this process stepping a Trainer (the design before issue 13)."""
    import torch

    split = [DataFiles("train").load(), DataFiles("test").load()]
    torch.set_num_threads(1)
    trainers = [Trainer(CONFIG, *split) for _ in range(jobs)]
    stop = threading.Event()

    def loop(trainer):
        while not stop.is_set() and trainer.step() is not None:
            pass

    threads = [threading.Thread(target=loop, args=(t,), daemon=True) for t in trainers]
    for t in threads:
        t.start()
    while any(t.step_count < 3 for t in trainers):
        time.sleep(0.1)
    before = sum(t.step_count for t in trainers)
    ms = server_side(n)
    steps = sum(t.step_count for t in trainers) - before
    stop.set()
    for t in threads:
        t.join(30)
    return ms, steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="training jobs running during the loaded phases")
    parser.add_argument("--n", type=int, default=200, help="drawings timed per phase")
    parser.add_argument("--threads-too", action="store_true", help="also run the jobs as in-process threads")
    parser.add_argument("--nice", type=int, default=None, help="also run the worker processes at this niceness")
    args = parser.parse_args(argv)

    loads = [os.getloadavg()[0]]
    phases = [("no training", lambda: (server_side(args.n), 0)),
              (f"{args.jobs} jobs in worker processes", lambda: with_workers(args.jobs, args.n)),
              ("no training (again)", lambda: (server_side(args.n), 0))]
    if args.nice is not None:
        phases.append((f"{args.jobs} worker processes at nice {args.nice}",
                       lambda: with_workers(args.jobs, args.n, args.nice)))
    if args.threads_too:
        phases.append((f"{args.jobs} jobs as threads of the server", lambda: with_threads(args.jobs, args.n)))
    rows = []
    for label, run in phases:
        t0 = time.perf_counter()
        ms, steps = run()
        rows.append((label, ms, steps / (time.perf_counter() - t0)))
        loads.append(os.getloadavg()[0])
    idle = [x for label, ms, _ in rows if label.startswith("no training") for x in ms]
    idle_p50, idle_p95 = percentiles(idle)
    print(f"\n{'server-side draw latency':<42} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p50 x':>6} {'p95 x':>6}"
          f" {'train steps/s':>13}")
    for label, ms, rate in rows:
        p50, p95 = percentiles(ms)
        print(f"{label:<42} {len(ms):>4} {p50:>8.1f} {p95:>8.1f} {p50 / idle_p50:>6.2f} {p95 / idle_p95:>6.2f}"
              f" {rate:>13.1f}")
    print(f"(ratios against both idle phases together: p50 {idle_p50:.1f} ms, p95 {idle_p95:.1f} ms; "
          f"load average {', '.join(f'{x:.1f}' for x in loads)} at the phase boundaries; {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
