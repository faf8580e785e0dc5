"""What the explanation core costs for one new drawing, and the digit map's precomputation (issue 20).

    CNNVIZ_DATA=/path/to/data python -m bench.explain_core [--threads 2] [--repeats 7]

For the shipped FC model and a sketched digit (cnnviz.sketch, preprocessed as a drawing is): each attribution
map (saliency, integrated gradients at 64 steps, Grad-CAM, occlusion 4x4 stride 2), the honesty check at one
depth (a randomised copy + the four maps again + rank correlations), the smallest flip (untargeted and targeted),
the placement on the shipped map (features, projection, 8 nearest digits), and the map of 5,000 test digits
computed from scratch. Median and max over the repeats, milliseconds. Targets: everything on the page for a new
drawing under 1 s; the map's precomputation under 60 s (2 cores).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch


from cnnviz import attack, checkpoint, embedding, explain
from cnnviz.data import load_split
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit


def timed(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up (imports, first allocations)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times), max(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-map", action="store_true", help="skip the 5,000-digit map (needs MNIST)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, _ = checkpoint.load(checkpoint.shipped_path("fc"))
    image = preprocess(draw_digit(3))[0]
    target = None  # the predicted class, as the page shows first
    digits, _ = embedding.load_shipped_map()
    maps = {"saliency": lambda m: explain.saliency(m, image, target),
            "integrated gradients (64 steps)": lambda m: explain.integrated_gradients(m, image, target),
            "Grad-CAM": lambda m: explain.grad_cam(m, image, target),
            "occlusion (4x4, stride 2)": lambda m: explain.occlusion(m, image, target)}
    rows = [(name, *timed(lambda f=f: f(model), args.repeats)) for name, f in maps.items()]
    rows.append(("all four maps", *timed(lambda: [f(model) for f in maps.values()], args.repeats)))

    def honesty():
        twin = explain.randomized(model, seed=0, depth=1)
        return [explain.rank_correlation(f(model), f(twin)) for f in maps.values()]

    rows.append(("honesty check, one depth (copy + 8 maps + 4 correlations)", *timed(honesty, args.repeats)))
    rows.append(("smallest flip (untargeted)", *timed(lambda: attack.smallest_flip(model, image), args.repeats)))
    rows.append(("smallest flip (target 8)", *timed(lambda: attack.smallest_flip(model, image, target=8),
                                                    args.repeats)))

    def place():
        f = embedding.digit_features(model, image)
        return digits.projection.place(f), embedding.nearest(digits.features, f, k=8)

    rows.append(("place on the map + 8 nearest", *timed(place, args.repeats)))
    rows.append(("load the shipped map", *timed(embedding.load_shipped_map, args.repeats)))
    if not args.no_map:
        test = load_split("test")
        rows.append(("map of 5,000 test digits from scratch",
                     *timed(lambda: embedding.digit_map(model, test), max(1, args.repeats // 3))))
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.1f}")
    print(f"{'what':62s} {'median ms':>10s} {'max ms':>10s}")
    for name, median, worst in rows:
        print(f"{name:62s} {median:10.1f} {worst:10.1f}")


if __name__ == "__main__":
    main()
