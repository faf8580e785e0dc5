"""How far to trust one prediction: the model's own doubt, and how unlike an MNIST digit the input is.

Two independent signs, because a network trained only on digits is often *sure* about a scribble:
- the model's doubt, read from its probabilities: the entropy (0 = all on one digit, 1 = spread evenly over
  all classes) and the margin between the two most probable digits;
- the input's distance from MNIST, read from the 28x28 picture itself: how much of it is ink, how often a
  line across it crosses a stroke, and how many closed loops the strokes make. MNIST's ranges for these were
  measured on its 60,000 training digits (tests/test_confidence.py measures them again where MNIST is on disk).
Neither sign can prove an answer right: they only say when an answer deserves less trust.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INK_LEVEL = 0.5             # a pixel in [0, 1] counts as ink above this
LOOP_LEVEL = 0.3            # background for loop finding: at or below this (faint edges close a loop)
MIN_LOOP_PIXELS = 2         # a hole smaller than this is a gap between strokes, not a loop

# (ink fraction, crossings per inked row or column) over MNIST's 60,000 training digits: mean and covariance.
MNIST_MEAN = np.array([0.13226, 1.48583])
MNIST_COV = np.array([[0.0019427, 0.0047670],
                      [0.0047670, 0.0652373]])
MAX_DISTANCE = 3.0          # Mahalanobis distance beyond which 1% of MNIST training digits lie
MAX_LOOPS = 2               # 0.3% of MNIST training digits have more closed loops than an 8's two
MAX_ENTROPY = 0.25          # normalised entropy above this: the model spreads its belief
MIN_MARGIN = 0.5            # top-two margin below this: two digits compete


@dataclass(frozen=True)
class Stroke:
    """What the 28x28 picture looks like, in the numbers compared with MNIST."""
    ink_fraction: float      # share of pixels that are ink
    crossings: float         # strokes met per inked row or column (1 for a bar, ~1.5 for a typical digit)
    loops: int               # closed background regions inside the strokes (0 for a 1, 1 for a 0, 2 for an 8)
    distance: float          # Mahalanobis distance of (ink_fraction, crossings) from MNIST's mean


@dataclass(frozen=True)
class Confidence:
    """One prediction judged: the model's doubt, the input's strangeness, and the reasons for a caution."""
    predicted: int
    probability: float       # of the predicted digit
    entropy: float           # normalised to [0, 1]
    margin: float            # top probability minus the second
    stroke: Stroke
    reasons: tuple[str, ...]  # empty: nothing to warn about

    @property
    def caution(self) -> bool:
        return bool(self.reasons)


def entropy(probabilities) -> float:
    """Predictive entropy normalised by its largest value log(K): 0 = certain, 1 = uniform over K classes."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    if p.size < 2:
        raise ValueError(f"need the probabilities of at least two classes, got {p.size}")
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(np.asarray(probabilities).size))


def margin(probabilities) -> float:
    """The most probable class's probability minus the runner-up's."""
    p = np.sort(np.asarray(probabilities, dtype=np.float64).ravel())
    if p.size < 2:
        raise ValueError(f"need the probabilities of at least two classes, got {p.size}")
    return float(p[-1] - p[-2])


def crossings(image28: np.ndarray) -> float:
    """How many strokes a horizontal or vertical line meets, on average over the rows and columns with ink."""
    ink = np.asarray(image28) > INK_LEVEL
    starts = (np.diff(ink.astype(np.int8), axis=1) == 1).sum() + (np.diff(ink.astype(np.int8), axis=0) == 1).sum()
    starts += ink[:, 0].sum() + ink[0, :].sum()  # strokes touching the left or top edge start there
    lines = ink.any(axis=1).sum() + ink.any(axis=0).sum()
    return float(starts / lines) if lines else 0.0


def _grown(seed: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The pixels of `region` that a 4-connected path through `region` links to `seed`: grown a whole-array step at a
    time until it stops growing (a few dozen steps for a digit)."""
    reached = seed & region
    while True:
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= region
        if np.array_equal(grown, reached):
            return reached
        reached = grown


def loops(image28: np.ndarray) -> int:
    """Closed loops: regions of background the strokes wall off from the border (4-connected). The background
    grown from the border is open; what is left of it falls into the enclosed regions, taken one at a time."""
    background = np.asarray(image28) <= LOOP_LEVEL
    border = np.zeros_like(background)
    border[[0, -1], :] = True
    border[:, [0, -1]] = True
    enclosed = background & ~_grown(border, background)
    count = 0
    while enclosed.any():
        seed = np.zeros_like(enclosed)
        seed[np.unravel_index(enclosed.argmax(), enclosed.shape)] = True
        region = _grown(seed, enclosed)
        count += int(region.sum() >= MIN_LOOP_PIXELS)
        enclosed &= ~region
    return count


def stroke(image28: np.ndarray) -> Stroke:
    """The statistics of a 28x28 picture in [0, 1] (white ink on black, as the model sees it)."""
    image28 = np.asarray(image28, dtype=np.float32)
    if image28.ndim != 2:
        raise ValueError(f"expected one picture [H, W] in [0, 1], got shape {image28.shape}")
    ink = float((image28 > INK_LEVEL).mean())
    cross = crossings(image28)
    d = np.array([ink, cross]) - MNIST_MEAN
    distance = float(np.sqrt(d @ np.linalg.inv(MNIST_COV) @ d))
    return Stroke(ink, cross, loops(image28), distance)


def judge(probabilities, image28: np.ndarray) -> Confidence:
    """The prediction read from `probabilities` [K], with the reasons (our words) it deserves a caution."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    s = stroke(image28)
    h, m = entropy(p), margin(p)
    reasons = []
    if h > MAX_ENTROPY or m < MIN_MARGIN:
        first, second = np.argsort(p)[::-1][:2]
        reasons.append(f"the model is torn between {first} and {second}")
    if s.loops > MAX_LOOPS:
        reasons.append(f"{s.loops} closed loops, where a digit has at most {MAX_LOOPS}")
    if s.distance > MAX_DISTANCE:
        reasons.append("more ink or more crossings than 99 in 100 MNIST digits" if s.ink_fraction > MNIST_MEAN[0]
                       else "less ink than 99 in 100 MNIST digits")
    return Confidence(int(p.argmax()), float(p.max()), h, m, s, tuple(reasons))
