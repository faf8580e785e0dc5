"""MNIST-style preprocessing of drawings and uploads."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from cnnviz.data import MEAN, STD
from cnnviz.preprocess import (
    fit_mnist,
    is_blank,
    normalize_image28,
    preprocess,
    read_upload,
    resize_nearest,
    to_gray,
)
from cnnviz.sketch import draw_digit

# (height, top, left) on a 280x280 canvas: centred, small in each corner, large and off-centre
PLACES = [(200, 40, 70), (60, 8, 8), (60, 210, 225), (60, 8, 225), (260, 10, 12), (150, 125, 5), (110, 20, 180)]


@pytest.fixture(scope="module")
def shipped_fc():
    from cnnviz.checkpoint import load, shipped_path
    model, _ = load(shipped_path("fc"))
    return model.eval()


def _png(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("digit", [1, 0, 7, 4])
def test_digits_drawn_anywhere_at_any_size_are_read_like_centred_ones(shipped_fc, digit):
    """A student draws a 7 small in a corner or large off-centre: the model still says 7."""
    inputs = torch.cat([preprocess(draw_digit(digit, h, top, left))[1] for h, top, left in PLACES])  # [P, 1, 28, 28]
    with torch.no_grad():
        predicted = shipped_fc(inputs).argmax(dim=1).tolist()
    assert predicted == [digit] * len(PLACES)


def test_the_multi_stroke_four_is_judged_on_the_whole_drawing(shipped_fc):
    whole = preprocess(draw_digit(4))[1]
    with torch.no_grad():
        assert int(shipped_fc(whole).argmax()) == 4


def test_fitted_digit_fills_a_20_pixel_box_with_its_mass_at_the_centre():
    image28 = fit_mnist(to_gray(draw_digit(7, height=60, top=200, left=200)))
    rows, cols = np.flatnonzero(image28.max(axis=1) > 0.05), np.flatnonzero(image28.max(axis=0) > 0.05)
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) in (20, 21)
    ys, xs = np.indices(image28.shape)
    com = ((ys * image28).sum() / image28.sum(), (xs * image28).sum() / image28.sum())
    assert abs(com[0] - 14) < 1 and abs(com[1] - 14) < 1


def test_preprocess_normalises_like_the_training_data():
    image28, x = preprocess(draw_digit(1))
    assert x.shape == (1, 1, 28, 28)
    assert torch.allclose(x[0, 0], (torch.from_numpy(image28) - MEAN) / STD)


def test_normalize_image28_leaves_the_picture_it_was_given_alone():
    image28 = np.full((28, 28), 0.5, dtype=np.float32)
    normalize_image28(image28)
    assert (image28 == 0.5).all()


def test_resize_nearest_repeats_pixels_when_enlarging_and_skips_them_when_shrinking():
    image = np.array([[0, 1], [2, 3]])
    assert resize_nearest(image, 4).tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    assert resize_nearest(np.arange(16).reshape(4, 4), 2).tolist() == [[0, 2], [8, 10]]


def test_resize_nearest_refuses_a_non_square_image():
    with pytest.raises(ValueError, match="square"):
        resize_nearest(np.zeros((3, 4)), 6)


def test_dark_ink_on_white_paper_is_inverted_to_bright_ink():
    drawing = draw_digit(7)[..., :3]
    paper = 255 - drawing  # black pen on white paper
    assert np.allclose(fit_mnist(to_gray(paper)), fit_mnist(to_gray(drawing)), atol=1e-5)


def test_black_strokes_on_a_transparent_background_count_as_ink():
    rgba = np.zeros((100, 100, 4), dtype=np.uint8)
    rgba[20:80, 45:55] = (0, 0, 0, 255)
    assert to_gray(rgba)[50, 50] == 1.0 and to_gray(rgba)[5, 5] == 0.0


def test_an_empty_canvas_is_blank():
    assert is_blank(np.zeros((280, 280, 4), dtype=np.uint8))
    assert is_blank(None)


def test_a_few_stray_pixels_are_blank_but_a_digit_is_not():
    speck = np.zeros((280, 280, 4), dtype=np.uint8)
    speck[..., 3] = 255
    speck[100:102, 100:102, :3] = 255
    assert is_blank(speck)
    assert not is_blank(draw_digit(1))


def test_a_single_dot_of_the_brush_is_blank():
    dot = np.zeros((280, 280, 4), dtype=np.uint8)
    dot[..., 3] = 255
    ys, xs = np.indices((280, 280))
    dot[(ys - 140) ** 2 + (xs - 140) ** 2 <= 16 ** 2, :3] = 255  # a click with the largest brush (32 px)
    assert is_blank(dot)


def test_a_small_one_in_a_corner_is_not_blank():
    assert not is_blank(draw_digit(1, height=50, top=5, left=5))


def test_fit_mnist_refuses_an_image_without_ink():
    with pytest.raises(ValueError, match="no ink"):
        fit_mnist(np.zeros((50, 50), dtype=np.float32))


def test_upload_of_a_png_gives_rgba_pixels():
    pixels = read_upload(_png(draw_digit(3)[..., :3]))
    assert pixels.shape == (280, 280, 4)


def test_upload_of_a_jpeg_is_accepted():
    assert read_upload(_png(draw_digit(2)[..., :3], "JPEG")).shape == (280, 280, 4)


def test_upload_of_something_that_is_not_an_image_is_refused():
    with pytest.raises(ValueError, match="not an image"):
        read_upload(b"hello, this is text")


def test_upload_of_a_truncated_png_is_refused():
    data = _png(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="damaged or truncated"):
        read_upload(data[: len(data) // 2])


def test_upload_of_a_decompression_bomb_is_refused():
    buf = io.BytesIO()
    Image.new("L", (20000, 20000)).save(buf, format="PNG")  # a few kB on disk, 400 Mpx decoded
    with pytest.raises(ValueError, match="far too large|pixels"):
        read_upload(buf.getvalue())


def test_upload_of_a_one_pixel_image_is_refused():
    with pytest.raises(ValueError, match="1x1"):
        read_upload(_png(np.zeros((1, 1, 3), dtype=np.uint8)))


def test_upload_of_another_format_is_refused():
    with pytest.raises(ValueError, match="only PNG and JPEG"):
        read_upload(_png(np.zeros((30, 30, 3), dtype=np.uint8), "GIF"))


def test_upload_over_the_size_limit_is_refused():
    with pytest.raises(ValueError, match="MB"):
        read_upload(b"\x89PNG" + b"0" * (3 * 1024 * 1024))


def test_an_rgba_upload_with_transparency_is_read():
    rgba = np.zeros((64, 64, 4), dtype=np.uint8)
    rgba[10:54, 28:36] = (20, 20, 20, 255)
    image28, _ = preprocess(read_upload(_png(rgba)))
    assert image28.max() > 0.9 and image28[0, 0] == 0.0
