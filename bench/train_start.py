"""Benchmark: training from a cold start, `python -m cnnviz.train` against the chapter's recipe as its own script.

Each CLI run is timed from the process's start to the first printed test accuracy >= the target (then it is
stopped); the chapter's recipe (bench.train_speed.reference: 3 epochs as the chapter writes them) from its
process's start to its end. Both include their own imports and data loading. `--before REV` runs the CLI of an
earlier commit beside today's (its cnnviz/ extracted with `git archive` into a temporary folder), interleaved
round by round; medians are printed, since on a shared machine single runs swing with other people's load.
`--phases` times the pieces of a cold start in fresh processes (import torch, torchvision's import, reading
the splits, the first steps against later ones, the warm-up), with process CPU seconds beside wall seconds.

    python -m bench.train_start --before HEAD~3 --rounds 3
    python -m bench.train_start --phases --rounds 3 --skip-reference
Not a test: timings depend on the machine and on what else runs on it (the load average is printed).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST_LINE = re.compile(r"Test=(\d+\.\d+)%")
_REFERENCE = ("import sys; from pathlib import Path; from bench.train_speed import reference; "
              "r = reference(Path(sys.argv[1]), 3, None, 0.99, 0); print('final', r['final_acc'], flush=True)")


def load_average() -> str:
    return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_seconds(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def run_until(command: list[str], target: float | None, env: dict, cwd: Path, timeout: float = 1800) -> dict:
    """Run `command`; with a target, stop it at the first printed "Test=XX.XX%" >= target. Wall seconds from
    the start to that line (or to the end), the child's CPU seconds, and the accuracies printed."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               cwd=cwd)
    reached, accuracies, lines = None, [], []
    for line in process.stdout:
        lines.append(line)
        found = TEST_LINE.search(line)
        if found:
            accuracies.append(float(found.group(1)) / 100)
            if target is not None and accuracies[-1] >= target:
                reached = time.perf_counter() - started
                process.send_signal(signal.SIGTERM)
                break
        if time.perf_counter() - started > timeout:
            process.kill()
            break
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = status
    wall = time.perf_counter() - started
    if reached is None and target is not None and status != 0:
        print("".join(lines[-20:]), file=sys.stderr)
    return {"wall": wall, "reached": reached, "cpu": _cpu_seconds(usage), "accuracies": accuracies}


def time_chapter_recipe(root: Path, env: dict | None = None) -> dict:
    """The chapter's recipe (3 epochs, torch's default threads) as its own process, start to end."""
    result = run_until([sys.executable, "-c", _REFERENCE, str(root)], None, env or dict(os.environ), REPO)
    result["reached"] = result["wall"]
    return result


def extract(rev: str) -> Path:
    """cnnviz/ as it was at `rev`, in a temporary folder (read from git; nothing in the work tree changes)."""
    folder = Path(tempfile.mkdtemp(prefix="cnnviz-before-"))
    archive = subprocess.run(["git", "archive", rev, "cnnviz"], cwd=REPO, check=True, capture_output=True).stdout
    with tempfile.TemporaryFile() as f:
        f.write(archive)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(folder, filter="data")
    return folder


def cli_env(package_root: Path) -> dict:
    """The environment that makes `python -m cnnviz.train` import cnnviz from `package_root`, when it runs in that
    folder too (see cli_run): `-m` puts the working folder first on sys.path, before PYTHONPATH."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(package_root), os.environ.get("PYTHONPATH", "")]))


def cli_run(package_root: Path, *args: str) -> tuple[list[str], dict, Path]:
    """(command, environment, working folder) running `python -m cnnviz.train *args` on cnnviz from
    `package_root`. Run from the repository instead, every variant would import the repository's cnnviz."""
    return [sys.executable, "-m", "cnnviz.train", *args], cli_env(package_root), package_root


_PHASES = r"""
import json, os, sys, time
marks, t0, c0 = {}, time.perf_counter(), time.process_time()
def mark(name):
    global t0, c0
    marks[name] = (round(time.perf_counter() - t0, 3), round(time.process_time() - c0, 3))
    t0, c0 = time.perf_counter(), time.process_time()
import torch; mark("import torch")
import cnnviz.train.__main__; mark("import cnnviz.train (CLI)")
import torchvision.datasets; mark("import torchvision.datasets")
from cnnviz.data import load_split
from cnnviz.train import TrainConfig, Trainer, warm_up
threads = int(sys.argv[2]); torch.set_num_threads(threads)
train = load_split("train", sys.argv[1], download=False); mark("read the train split")
test = load_split("test", sys.argv[1], download=False); mark("read the test split")
if sys.argv[3] == "warm":
    warm_up(TrainConfig()); mark("warm_up (3 steps, blank images)")
trainer = Trainer(TrainConfig(), train, test); mark("Trainer()")
for _ in range(50): trainer.step()
mark("steps 1-50")
for _ in range(50): trainer.step()
mark("steps 51-100")
for _ in range(50): trainer.step()
mark("steps 101-150")
print(json.dumps(marks))
"""


def phases(root: Path, rounds: int, threads: int) -> None:
    """Each piece of a cold start, median over fresh processes (wall s / CPU s)."""
    results = {"cold": [], "warm": []}
    for _ in range(rounds):
        for kind in results:
            out = subprocess.run([sys.executable, "-c", _PHASES, str(root), str(threads), kind], cwd=REPO,
                                 capture_output=True, text=True, check=True).stdout
            results[kind].append(json.loads(out.strip().splitlines()[-1]))
            print(f"  phases ({kind}) done  ({load_average()})", flush=True)
    names = list(dict.fromkeys(name for run in results["cold"] + results["warm"] for name in run))
    print(f"\nphases of a cold start, {threads} thread(s), median of {rounds} fresh processes: wall s / CPU s")
    print(f"{'phase':36s} {'without warm-up':>18s} {'with warm-up':>18s}")
    for name in names:
        cells = []
        for kind in ("cold", "warm"):
            runs = [run[name] for run in results[kind] if name in run]
            cells.append(f"{statistics.median(w for w, _ in runs):7.2f} / {statistics.median(c for _, c in runs):5.2f}"
                         if runs else "-")
        print(f"{name:36s} {cells[0]:>18s} {cells[1]:>18s}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="data root holding MNIST/raw (default: $CNNVIZ_DATA)")
    p.add_argument("--before", default=None, metavar="REV", help="also time the CLI of this commit, interleaved")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--skip-reference", action="store_true")
    p.add_argument("--phases", action="store_true", help="time the pieces of a cold start instead")
    p.add_argument("--threads", type=int, default=1, help="torch threads in --phases")
    args = p.parse_args(argv)
    from cnnviz.data import data_root

    root = data_root(args.data).resolve()
    print(f"{os.cpu_count()} CPUs; {load_average()}")
    if args.phases:
        phases(root, args.rounds, args.threads)
        return 0
    variants = {"after": REPO}   # the package root each variant imports cnnviz from
    if args.before:
        variants = {"before": extract(args.before), **variants}
    times = {name: [] for name in variants}
    reference = []
    for round_ in range(args.rounds):
        order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
        for name in order:
            command, env, cwd = cli_run(variants[name], "--data", str(root))
            r = run_until(command, args.target, env, cwd)
            times[name].append(r)
            when = "not reached" if r["reached"] is None else f"{r['reached']:.1f}s"
            print(f"round {round_ + 1} {name:6s}: first test >= {100 * args.target:.1f}% at {when} "
                  f"(CPU {r['cpu']:.1f}s, tests {[round(100 * a, 2) for a in r['accuracies']]})  ({load_average()})",
                  flush=True)
        if not args.skip_reference and round_ < max(1, args.rounds // 2):
            ref = time_chapter_recipe(root)
            reference.append(ref)
            print(f"round {round_ + 1} chapter's recipe: {ref['wall']:.1f}s (CPU {ref['cpu']:.1f}s, tests "
                  f"{[round(100 * a, 2) for a in ref['accuracies']]})  ({load_average()})", flush=True)
    ref_wall = statistics.median(r["wall"] for r in reference) if reference else None
    chapter = "" if ref_wall is None else f"; chapter's recipe {ref_wall:.1f}s"
    print(f"\nmedians over {args.rounds} interleaved rounds (shared machine: noisy){chapter}")
    for name, runs in times.items():
        reached = [r["reached"] for r in runs if r["reached"] is not None]
        if not reached:
            print(f"  {name:6s}: never reached {100 * args.target:.1f}%")
            continue
        median = statistics.median(reached)
        ratio = f", ratio {ref_wall / median:.2f}x" if ref_wall else ""
        print(f"  {name:6s}: {median:.1f}s to the first test >= {100 * args.target:.1f}% "
              f"(CPU {statistics.median(r['cpu'] for r in runs):.1f}s; {len(reached)}/{len(runs)} reached){ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
