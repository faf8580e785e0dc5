"""What the explanation core costs for one new drawing, and the digit map's precomputation (issue 20).

    CNNVIZ_DATA=/path/to/data python -m bench.explain_core [--threads 2] [--repeats 7]

For the shipped FC model and a sketched digit (cnnviz.sketch, preprocessed as a drawing is): each attribution
map (saliency, integrated gradients at 64 steps, Grad-CAM, occlusion 4x4 stride 2), the honesty check at one
depth (a randomised copy + the four maps again + rank correlations), the smallest flip (untargeted and targeted),
the placement on the shipped map (features, projection, 8 nearest digits), the map of 5,000 test digits
computed from scratch, and the nearest training digits: the features of all 60,000 training digits (once per
model; timed once) and one search of them for 8 neighbours. Median and max over the repeats, milliseconds, each
with the load average read after it. Targets: everything on the page for a new drawing under 1 s; the map's and
the training features' precomputation under 60 s each (2 cores).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch


from cnnviz import attack, checkpoint, embedding, explain, neighbours
from cnnviz.data import load_split
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit


def timed(fn, repeats: int, warm_up: bool = True) -> tuple[float, float, float]:
    """(median ms, max ms, the 1-minute load average when done)."""
    if warm_up:
        fn()  # imports, first allocations
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times), max(times), os.getloadavg()[0]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-map", action="store_true", help="skip the 5,000-digit map (needs MNIST)")
    parser.add_argument("--no-training", action="store_true",
                        help="skip the 60,000 training digits' features and the search over them (needs MNIST)")
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
    if not args.no_training:
        train = load_split("train")
        bank = {}

        def training_features(batch_size):  # once per model on the page: timed once, no warm-up
            bank["train"] = neighbours.split_features(model, train.raw, train.labels, "train", batch_size)

        for batch_size, why in ((embedding.BATCH_SIZE, "once per model"), (1000, "before")):
            rows.append((f"features of the 60,000 training digits, batches of {batch_size:,} ({why})",
                         *timed(lambda b=batch_size: training_features(b), 1, False)))
        query = embedding.digit_features(model, image)
        rows.append(("8 nearest of the 60,000 training digits (one search)",
                     *timed(lambda: neighbours.nearest_digits(bank["train"], query, k=8), args.repeats)))
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'what':62s} {'median ms':>10s} {'max ms':>10s} {'load':>6s}")
    for name, median, worst, load in rows:
        print(f"{name:62s} {median:10.1f} {worst:10.1f} {load:6.1f}")


if __name__ == "__main__":
    main()
