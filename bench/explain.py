"""What "Why this answer?" costs for one new drawing: each map, the attack, the placement on the map of digits,
and the whole page's server time (target: everything for a new drawing in under 1 s).

    python -m bench.explain                 # 1 intra-op thread, as the server runs (cnnviz_ui.models)
    python -m bench.explain --threads 2     # the core rows on 2 threads (the page always sets the server's 1)
    python -m bench.explain --runs 12

Core: each function of cnnviz.explain / cnnviz.attack / cnnviz.embedding called on drawings the page has not
seen (cnnviz.sketch strokes, preprocessed), with the shipped model; median and worst of `--runs` drawings.
Page: one rerun of the real page (app.py around it, through Streamlit's AppTest in this process) after a new
digit became the session's current one: the four maps in the lesson box and the open tab (the attack tab:
its button not pressed), then the rerun that presses "Attack my digit", then the rerun that opens "Where my
digit lands"; and, for scale, a rerun with nothing new (what app.py, the page and AppTest cost anyway). The
shipped data (checkpoints/explain/) must be there. `--threads` applies to the core rows only: the page sets
the server's one intra-op thread itself (cnnviz_ui.models.use_server_threads), as a real server does.
Numbers depend on the machine's load: run it on an otherwise idle machine, and say when it was not.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from livetest import REPO

TARGET_S = 1.0
DIGITS = [7, 4, 1, 0, 2, 3]   # the digits cnnviz.sketch can draw
PLACES = [(200, 40, 70), (150, 60, 110), (240, 20, 40), (120, 140, 150), (80, 20, 30)]  # height, top, left


def drawings(n: int) -> list[np.ndarray]:
    """n different preprocessed drawings: 28x28 pictures in [0, 1]."""
    from cnnviz.preprocess import preprocess
    from cnnviz.sketch import draw_digit

    made = [preprocess(draw_digit(d, *p))[0] for p in PLACES for d in DIGITS]
    return made[:n]


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def core(n: int) -> dict[str, list[float]]:
    """Seconds per drawing for each map, the attack and the placement (after one warm-up call of each)."""
    from cnnviz import attack, embedding, explain
    from cnnviz.checkpoint import load, shipped_path

    model, _ = load(shipped_path("fc"))
    digits, _ = embedding.load_shipped_map()

    def placement(img):
        feats = embedding.digit_features(model, img)                 # [D]
        return digits.projection.place(feats), embedding.nearest(digits.features, feats, k=8)

    steps = {
        "saliency": lambda img: explain.saliency(model, img),
        "integrated gradients (64 steps)": lambda img: explain.integrated_gradients(model, img),
        "Grad-CAM": lambda img: explain.grad_cam(model, img),
        "occlusion (4x4, stride 2)": lambda img: explain.occlusion(model, img),
        "attack (smallest flip)": lambda img: attack.smallest_flip(model, img),
        "placement + 8 nearest": placement,
    }
    images = drawings(n + 1)
    times = {name: [] for name in steps}
    for name, step in steps.items():
        step(images[-1])                                          # warm-up, not counted
        for img in images[:n]:
            times[name].append(timed(lambda: step(img))[0])
    return times


def page(n: int) -> dict[str, list[float]]:
    """Seconds of the server's work for the page's reruns around a new drawing (see the module docstring)."""
    from streamlit.testing.v1 import AppTest

    from cnnviz.preprocess import normalize_image28
    from cnnviz_ui.current_digit import DIGIT_KEY, Digit
    from cnnviz_ui.streamlit_internals import apptest_runs_app_py

    images = drawings(n + 1)
    times = {"page, rerun with nothing new": [], "page, new drawing (4 maps)": [], "page, attack pressed": [],
             "page, map tab opened": []}
    with apptest_runs_app_py():
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
        at.switch_page("pages/why.py").run()
        for i, img in enumerate([images[-1], *images[:n]]):
            at.session_state["why_tab"] = "Attack my drawing"
            same = timed(at.run)[0]                                 # the fixed cost: app.py, the page, AppTest
            at.session_state[DIGIT_KEY] = Digit(img, normalize_image28(img), "your drawing")
            new = timed(at.run)[0]
            attacked = timed(at.button(key="why_attack").click().run)[0]
            at.session_state["why_tab"] = "Where my digit lands"
            placed = timed(at.run)[0]
            if at.exception or at.error:
                raise RuntimeError(f"the page failed: {[e.value for e in [*at.exception, *at.error]]}")
            if i:                                                   # the first drawing warms up
                for key, value in zip(times, (same, new, attacked, placed)):
                    times[key].append(value)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="drawings measured (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the server uses 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    print(f"Why this answer? for a new drawing: {args.runs} drawings, torch threads {args.threads}, "
          f"{os.cpu_count()} CPUs, load average {load:.2f} at the start")
    results = core(args.runs)
    medians = {name: statistics.median(t) for name, t in results.items()}
    results.update(page(args.runs))
    print(f"{'step':<34} {'median ms':>9} {'worst ms':>9}")
    for name, t in results.items():
        print(f"{name:<34} {1000 * statistics.median(t):>9.1f} {1000 * max(t):>9.1f}")
    everything = sum(medians.values())
    page_total = sum(statistics.median(results[k]) for k in ("page, new drawing (4 maps)", "page, attack pressed",
                                                             "page, map tab opened"))
    for label, total in (("core: all of the above (medians)", everything), ("page: the three reruns (medians)",
                                                                           page_total)):
        verdict = "met" if total < TARGET_S else "NOT met"
        print(f"{label:<34} {1000 * total:>9.1f} {'':>9}   target {1000 * TARGET_S:.0f} ms: {verdict}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
