"""A class of simulated students that speak Streamlit's own websocket protocol: the server's load, no browsers.

Each student (bench/protocol_student.py) opens the Draw page over `/_stcore/stream`, thinks, presses Clear and
sends a real drawing (the canvas component's value); the clock runs from sending it to the arrival of its
prediction, and the rest of the rerun is timed to the run's end. A student who sees another digit than the
one drawn, no prediction within the timeout, or an exception block, counts an error.

    python -m bench.load --start --sessions 10 20 40 --think 5 --duration 60      # its own server
    python -m bench.load --url http://127.0.0.1:8501 --server-pid 1234 --sessions 20
    python -m bench.load --start --sessions 20 --train 1 2     # with 1, then 2 students training meanwhile
    python -m bench.load --class 2 --sessions 20 40            # 2 app processes behind nginx, through it
    python -m bench.load --class 2 --follow --sessions 40      # a class session: follow me, answers, the wall

--follow: an instructor and N students in one class (a fresh SQLite class store). The
instructor moves the class between the Class page and Pooling (kernel 3, stride 1) every --move seconds; on the
Class page each student answers the open question and draws every --think seconds for the wall. It reports the
p95 from the instructor's change to each student's page showing it, and from a drawing sent to the instructor's
wall showing it.

A trainer is a further session on the Training page that trains 10 epochs (it outlasts a class).
The server's CPU and memory are its own process's (with --class K, the K app processes' sum); `workers` is
the CPU of their child processes (training workers).
One generator process serves every student, with asyncio: 40 students cost it a few % of one core.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from bench.load_follow import run_follow_class
from bench.load_report import FOLLOW_HEADER, HEADER, print_follow_row, print_row
from bench.load_stats import cpu_of, pct, watch_rss
from bench.protocol_student import Student, student, trainer
from livetest import descendants, load_script, machine, process_stats
from livetest.canvas_value import Drawing, make_drawings
from livetest.streamlit_session import Session

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- one class

async def run_class(base_url: str, n: int, drawings: list[Drawing], think: float, warmup: float, duration: float,
                    trainers: int = 0, server_pids: tuple = (), clear: bool = True, min_rounds: int = 0) -> dict:
    """N students for warmup + duration seconds (only drawings sent after the warm-up count), and each for at
    least `min_rounds` drawings. `server_pids`: the app processes whose CPU and memory are reported (summed
    over them; their child processes are the training workers)."""
    stop_trainers = asyncio.Event()
    train_reports = [dict() for _ in range(trainers)]
    train_tasks = [asyncio.create_task(trainer(base_url, r, stop_trainers)) for r in train_reports]
    if trainers:   # the jobs are running before the class starts drawing
        deadline = time.monotonic() + 330
        while time.monotonic() < deadline and not all("first_step" in r or "errors" in r for r in train_reports):
            await asyncio.sleep(0.5)
    t0 = time.monotonic()
    measure_from, stop_at = t0 + warmup, t0 + warmup + duration
    students = [Student(i) for i in range(n)]
    tasks = [asyncio.create_task(student(base_url, s, drawings, t0 + i * min(think, warmup) / max(n, 1),
                                         measure_from, stop_at, think, clear, min_rounds))
             for i, s in enumerate(students)]
    stop_rss, peak = asyncio.Event(), {}
    apps = list(server_pids)
    rss_task = asyncio.create_task(watch_rss(apps, peak, stop_rss)) if apps else None
    await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
    me = os.getpid()
    pids = apps + [c for p in apps for c in descendants(p)]
    cpu0, gen0, wall0, load0 = cpu_of(pids), process_stats(me)["cpu_s"], time.monotonic(), os.getloadavg()[0]
    await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    pids = apps + [c for p in apps for c in descendants(p)]
    cpu1, gen1, wall1, load1 = cpu_of(pids), process_stats(me)["cpu_s"], time.monotonic(), os.getloadavg()[0]
    await asyncio.gather(*tasks)
    stop_trainers.set()
    await asyncio.gather(*train_tasks)
    stop_rss.set()
    if rss_task:
        await rss_task
    wall = wall1 - wall0

    def share(pid_set) -> float | None:
        return round(100 * sum(cpu1[p] - cpu0.get(p, 0.0) for p in pid_set if p in cpu1) / wall, 1) if pids else None

    pred = [v for s in students for v in s.pred_ms]
    run = [v for s in students for v in s.run_ms]
    errors = [e for s in students for e in s.errors] + [e for r in train_reports for e in r.get("errors", [])]
    return {
        "sessions": n, "trainers": trainers, "think_s": think, "window_s": round(wall, 1),
        "drawings": len(pred), "wrong": sum(s.wrong for s in students), "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "pred_p50_ms": pct(pred, 50), "pred_p95_ms": pct(pred, 95), "pred_max_ms": max(pred, default=None),
        "run_p50_ms": pct(run, 50), "run_p95_ms": pct(run, 95),
        "server_cpu_pct": share(apps) if apps else None,
        "workers_cpu_pct": share(pids[len(apps):]) if apps else None,
        "server_rss_mb": round(peak.get("server", 0.0)) or None, "total_rss_mb": round(peak.get("total", 0.0)) or None,
        "generator_cpu_pct": round(100 * (gen1 - gen0) / wall, 1),
        "train_steps": [r.get("last_step", 0) - r.get("first_step", 0) if "last_step" in r else None
                        for r in train_reports],
        "load_avg": [round(load0, 1), round(load1, 1)],
    }


async def open_home(base_url: str, sessions: int = 4) -> None:
    """A few sessions on the home page first (behind a load balancer they reach several processes): until
    app.py has run once in a process, a deep link there skips the app's navigation."""
    async def one():
        session = Session(base_url, "")
        await session.open()
        await session.wait_for(lambda: session.runs_finished, timeout=120)
        await session.close()
    await asyncio.gather(*(one() for _ in range(sessions)))


async def main_async(args, base_url: str, server_pids: tuple) -> list[dict]:
    drawings = make_drawings()
    await open_home(base_url)
    if args.follow:
        print(FOLLOW_HEADER, flush=True)
        results = []
        for n in args.sessions:
            results.append(await run_follow_class(base_url, args.store, n, drawings, args.think, args.warmup,
                                                  args.duration, args.move, server_pids))
            print_follow_row(results[-1])
        return results
    results = []
    print(HEADER, flush=True)
    for trainers in args.train:
        for n in args.sessions:
            r = await run_class(base_url, n, drawings, args.think, args.warmup, args.duration, trainers,
                                server_pids, clear=not args.no_clear)
            print_row(r)
            results.append(r)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="a running app, e.g. http://127.0.0.1:8501 (or a load balancer)")
    ap.add_argument("--start", action="store_true", help="start `streamlit run app.py` on a free port")
    ap.add_argument("--class", dest="k", type=int, metavar="K", help="start K app processes behind nginx "
                    "(deploy/serve_class.py) and measure through nginx; server CPU and memory are the K processes' sum")
    ap.add_argument("--server-pid", type=int, help="the server's pid, for its CPU and memory (with --url)")
    ap.add_argument("--sessions", type=int, nargs="+", default=[10], help="class sizes to run, one after another")
    ap.add_argument("--think", type=float, default=5.0, help="seconds between a prediction and the next drawing")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds before drawings count")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of measurement per class size")
    ap.add_argument("--train", type=int, nargs="+", default=[0], help="training sessions beside the class")
    ap.add_argument("--no-clear", action="store_true", help="draw over the old drawing instead of Clear first")
    ap.add_argument("--follow", action="store_true", help="a class session instead: students follow the instructor, "
                    "answer and draw for the wall")
    ap.add_argument("--move", type=float, default=10.0, help="--follow: seconds between the instructor's moves")
    ap.add_argument("--store", help="--follow with --url: the servers' class store URL (CNNVIZ_CLASS_STORE)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if sum(map(bool, (args.url, args.start, args.k))) != 1:
        ap.error("give one of --url, --start, --class K")
    if args.follow and args.url and not args.store:
        ap.error("--follow with --url needs --store (the class store the servers use)")
    env = None
    if args.follow and not args.url:   # a fresh class store of the bench's own, given to the servers it starts
        args.store = f"sqlite://{Path(tempfile.mkdtemp(prefix='cnnviz-bench-class-')) / 'classes.sqlite3'}"
        env = {"CNNVIZ_CLASS_STORE": args.store}
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')}, {machine()}, load avg "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    if args.start:
        from livetest import streamlit_server
        with streamlit_server(name="load", env=env) as server:
            results = asyncio.run(main_async(args, server.url, (server.proc.pid,)))
    elif args.k:
        served = load_script(REPO / "deploy" / "serve_class.py", "serve_class").start_class(args.k, env=env)
        try:
            print(f"# through nginx, {args.k} app processes (server CPU and memory: their sum)", flush=True)
            results = asyncio.run(main_async(args, served.url, tuple(proc.pid for _, proc in served.apps)))
        finally:
            served.stop()
    else:
        results = asyncio.run(main_async(args, args.url, (args.server_pid,) if args.server_pid else ()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
