"""How far to trust a prediction: the model's doubt and the drawing's distance from MNIST (cnnviz.confidence)."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnnviz import confidence
from cnnviz.checkpoint import load, shipped_path
from cnnviz.evaluate import predict
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit


def scribble(seed: int = 13, points: int = 11, canvas: int = 280, brush: int = 18) -> np.ndarray:
    """A random scribble on the canvas: one pen stroke through `points` random places (RGBA, like the canvas)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 255))
    ImageDraw.Draw(img).line([tuple(rng.uniform(20, canvas - 20, 2)) for _ in range(points)],
                             fill=(255, 255, 255, 255), width=brush, joint="curve")
    return np.asarray(img)


@pytest.fixture(scope="module")
def model():
    return load(shipped_path("fc"))[0]


def _judge(model, rgba):
    image28, x = preprocess(rgba)
    return confidence.judge(predict(model, x)[0].numpy(), image28)


def test_entropy_is_zero_for_certainty_and_one_for_a_uniform_guess():
    assert confidence.entropy(np.eye(10)[3]) == pytest.approx(0.0)
    assert confidence.entropy(np.full(10, 0.1)) == pytest.approx(1.0)


def test_margin_is_the_gap_between_the_top_two():
    assert confidence.margin([0.1, 0.6, 0.3]) == pytest.approx(0.3)


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="at least two classes"):
        confidence.entropy([1.0])


def test_loops_count_closed_holes_a_zero_one_an_eight_two():
    ring = np.zeros((28, 28), np.float32)
    ring[6:22, 8:20] = 1
    ring[9:19, 11:17] = 0                       # one hole
    assert confidence.loops(ring) == 1
    eight = ring.copy()
    eight[13:15, 11:17] = 1                     # a bar across the hole: two
    assert confidence.loops(eight) == 2
    bar = np.zeros((28, 28), np.float32)
    bar[4:24, 13:15] = 1
    assert confidence.loops(bar) == 0


def _loops_by_flood_fill(image28) -> int:
    """The oracle: every background region grown pixel by pixel from its first pixel; a region touching the
    border is open, an enclosed one of MIN_LOOP_PIXELS or more is a loop."""
    from collections import deque
    background = np.asarray(image28) <= confidence.LOOP_LEVEL
    h, w = background.shape
    seen = np.zeros_like(background)
    count = 0
    for sy, sx in zip(*np.nonzero(background)):
        if seen[sy, sx]:
            continue
        seen[sy, sx] = True
        queue, size, open_ = deque([(sy, sx)]), 0, False
        while queue:
            y, x = queue.popleft()
            size += 1
            open_ = open_ or y in (0, h - 1) or x in (0, w - 1)
            for yy, xx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= yy < h and 0 <= xx < w and background[yy, xx] and not seen[yy, xx]:
                    seen[yy, xx] = True
                    queue.append((yy, xx))
        count += int(not open_ and size >= confidence.MIN_LOOP_PIXELS)
    return count


def test_loops_equal_a_pixel_by_pixel_flood_fill_on_digits_and_noise():
    rng = np.random.default_rng(0)
    pictures = [preprocess(draw_digit(d, h, top, left))[0] for d in (0, 1, 2, 3, 4, 7)
                for h, top, left in ((200, 40, 70), (90, 170, 20))]
    pictures += [(rng.random((28, 28)) < p).astype(np.float32) for p in (0.3, 0.45, 0.55, 0.7) for _ in range(10)]
    pictures += [rng.random((9, 13)).astype(np.float32) for _ in range(10)]   # not 28x28, not square
    counts = [confidence.loops(p) for p in pictures]
    assert counts == [_loops_by_flood_fill(p) for p in pictures]
    assert max(counts) >= 3 and 0 in counts          # the noise makes many holes, some pictures none


def test_a_vertical_bar_is_met_once_per_line():
    bar = np.zeros((28, 28), np.float32)
    bar[4:24, 13:15] = 1
    assert confidence.crossings(bar) == pytest.approx(1.0)


def test_drawn_digits_get_no_caution(model):
    for digit in (0, 1, 2, 3, 4, 7):
        judged = _judge(model, draw_digit(digit))
        assert judged.predicted == digit and not judged.caution, (digit, judged.reasons)


def test_a_random_scribble_gets_a_caution_even_when_the_model_is_sure(model):
    judged = _judge(model, scribble())
    assert judged.caution and judged.stroke.loops > confidence.MAX_LOOPS
    assert any("loops" in reason for reason in judged.reasons)


def test_a_torn_model_is_a_reason_on_its_own():
    image28 = preprocess(draw_digit(1))[0]
    judged = confidence.judge([0.45, 0.4] + [0.15 / 8] * 8, image28)
    assert judged.caution and "torn" in judged.reasons[0]


def test_mnist_ranges_are_what_mnist_gives(data_root):
    """The stored mean and covariance of (ink, crossings), measured again on 10,000 training digits."""
    from cnnviz.data import load_split, scale_pixels

    raw = load_split("train", root=data_root).raw[:10000]
    stats = np.array([[s.ink_fraction, s.crossings] for s in map(confidence.stroke, scale_pixels(raw))])
    assert stats.mean(0) == pytest.approx(confidence.MNIST_MEAN, rel=0.03)
    assert np.cov(stats.T) == pytest.approx(confidence.MNIST_COV, rel=0.1)
    share_far = float((np.array([confidence.stroke(a).distance for a in scale_pixels(raw[:2000])])
                       > confidence.MAX_DISTANCE).mean())
    assert share_far < 0.02
