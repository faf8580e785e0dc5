"""Bad input from the UI (AppTest, no browser): each gets a clear message, never a traceback, and nothing is lost.

The core's own refusals are tested in test_preprocess.py and test_checkpoint.py; here the same files and
drawings go through the pages, and we check what the student sees and what stays in their session.
"""
from __future__ import annotations

import io
import itertools
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz import pooling
from cnnviz.model import GAP_CONFIG, DigitCNN, ModelConfig
from cnnviz.sketch import draw_digit
from cnnviz_ui import pooling_view
from cnnviz_ui.canvas import stub_key
from app_helpers import PAGES_DIR, open_app_page

CANVAS = stub_key("draw_canvas_0")


pytestmark = pytest.mark.usefixtures("online")  # tests/conftest.py


def _app(page: str, **state) -> AppTest:
    return open_app_page(page, **state)


def _alerts(at) -> str:
    return " ".join(a.value for a in [*at.error, *at.warning, *at.info])


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _bomb_png(side: int = 30_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels (900 Mpx) in ~100 kB, written row by row (no big array)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + b"\x00" * ((side + 7) // 8)   # filter byte + packed pixels
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


# ---- the canvas ------------------------------------------------------------------------------------------------

def _canvas(draw) -> np.ndarray:
    """A 280x280 RGBA canvas like the page's (white ink on black) with `draw(ImageDraw)` applied."""
    from PIL import ImageDraw
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    draw(ImageDraw.Draw(image))
    return np.asarray(image)


def test_a_single_dot_on_the_canvas_prompts_instead_of_predicting():
    dot = _canvas(lambda d: d.ellipse([131, 131, 149, 149], fill=(255, 255, 255, 255)))  # one click, brush 18
    at = _app("draw", **{CANVAS: dot})
    assert not at.metric  # neither the dot nor the built-in example gets an answer beside the canvas
    assert "nothing digit-like to read" in _alerts(at)


def test_ink_covering_the_whole_canvas_gets_an_answer_not_a_traceback():
    at = _app("draw", **{CANVAS: _canvas(lambda d: d.rectangle([0, 0, 279, 279], fill=(255, 255, 255, 255)))})
    assert at.metric or _alerts(at)


def test_a_scribble_covering_most_of_the_canvas_gets_an_answer_not_a_traceback():
    def scribble(d):
        for i in range(0, 280, 14):
            d.line([(0, i), (279, 279 - i)], fill=(255, 255, 255, 255), width=18)
    at = _app("draw", **{CANVAS: _canvas(scribble)})
    assert at.metric or _alerts(at)


def test_a_seven_in_the_top_left_corner_is_read_as_a_seven():
    at = _app("draw", **{CANVAS: draw_digit(7, height=60, top=4, left=4)})
    assert at.metric[0].value == "7"


# ---- uploads on the draw page -----------------------------------------------------------------------------------

def _upload(at: AppTest, name: str, data: bytes, mime: str = "image/png") -> AppTest:
    at.radio(key="draw_source").set_value("Upload an image").run()
    at.file_uploader(key="draw_upload").set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _truncated_png() -> bytes:
    data = _png(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8))
    return data[: len(data) // 2]


BAD_UPLOADS = {
    "not-an-image": (lambda: b"%PDF-1.4 this is a document, not a picture", "not an image"),
    "truncated": (_truncated_png, "damaged or truncated"),
    "decompression-bomb": (_bomb_png, "too large"),
    "one-pixel": (lambda: _png(np.zeros((1, 1, 3), dtype=np.uint8)), "1x1"),
}


@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_a_bad_upload_gets_a_clear_error_and_no_prediction(kind):
    make, message = BAD_UPLOADS[kind]
    at = _upload(_app("draw"), "digit.png", make())
    assert message in " ".join(e.value for e in at.error)
    assert not at.metric


@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_a_bad_upload_keeps_the_drawn_digit_for_the_other_pages(kind):
    at = _app("draw", **{CANVAS: draw_digit(3)})
    drawn = at.session_state["current_digit"]
    prediction = at.metric[0].value
    _upload(at, "digit.png", BAD_UPLOADS[kind][0]())
    assert at.session_state["current_digit"] is drawn     # the filters and GAP pages still show the drawing
    at.radio(key="draw_source").set_value("Draw").run()
    assert at.metric[0].value == prediction               # back on the canvas, the drawing is still there


def test_an_rgba_png_with_a_transparent_background_is_predicted():
    ink = draw_digit(2)                                   # white ink on black, RGBA
    rgba = np.zeros_like(ink)
    rgba[..., 3] = ink[..., 0]                            # dark ink, transparent elsewhere (a typical PNG export)
    at = _upload(_app("draw"), "two.png", _png(rgba))
    assert not at.error
    assert at.metric[0].value == "2"


# ---- checkpoints on the training page ---------------------------------------------------------------------------

class _Payload:
    """Unpickling this object would create a file: the proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _good_checkpoint(tmp_path: Path, config=ModelConfig(), seed: int = 3) -> bytes:
    from cnnviz.checkpoint import save
    torch.manual_seed(seed)
    return save(tmp_path / "good.safetensors", DigitCNN(config), {"note": "trained elsewhere"}).read_bytes()


def _pickle_with_code(tmp_path: Path) -> bytes:
    import pickle
    return pickle.dumps(_Payload(tmp_path / "code-ran"))


def _torch_save_with_code(tmp_path: Path) -> bytes:
    buf = io.BytesIO()
    torch.save({"state_dict": _Payload(tmp_path / "code-ran")}, buf)
    return buf.getvalue()


def _truncated(tmp_path: Path) -> bytes:
    data = _good_checkpoint(tmp_path)
    return data[: len(data) * 2 // 3]


def _wrong_architecture(tmp_path: Path) -> bytes:
    """FC-head weights under a header that says GAP head."""
    import json
    from safetensors.torch import save as to_bytes
    model = DigitCNN(ModelConfig())
    meta = {"format": "cnnviz-checkpoint", "version": "1",
            "cnnviz": json.dumps({"model_config": GAP_CONFIG.to_dict()})}
    return to_bytes({k: v.contiguous() for k, v in model.state_dict().items()}, metadata=meta)


def _nan_weights(tmp_path: Path) -> bytes:
    from cnnviz.checkpoint import save
    model = DigitCNN(ModelConfig())
    with torch.no_grad():
        model.conv1.weight[0, 0, 0, 0] = float("nan")
    return save(tmp_path / "nan.safetensors", model, {}).read_bytes()


BAD_CHECKPOINTS = {
    "pickle-with-code": _pickle_with_code,
    "torch-save-with-code": _torch_save_with_code,
    "truncated": _truncated,
    "wrong-architecture": _wrong_architecture,
    "nan-weights": _nan_weights,
}


def _upload_checkpoint(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="tr_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("kind", list(BAD_CHECKPOINTS))
def test_a_bad_checkpoint_is_refused_and_the_previously_uploaded_model_stays_active(kind, tmp_path):
    at = _upload_checkpoint(_app("training"), "good.safetensors", _good_checkpoint(tmp_path))
    good = at.session_state["active_model"]
    assert good.source == "uploaded good.safetensors"
    _upload_checkpoint(at, "bad.safetensors", BAD_CHECKPOINTS[kind](tmp_path))
    assert "Cannot use bad.safetensors" in " ".join(e.value for e in at.error)
    assert at.session_state["active_model"] is good
    assert not (tmp_path / "code-ran").exists()


@pytest.mark.parametrize("kind", ["pickle-with-code", "torch-save-with-code"])
def test_a_checkpoint_carrying_code_runs_nothing(kind, tmp_path):
    _upload_checkpoint(_app("training"), "evil.safetensors", BAD_CHECKPOINTS[kind](tmp_path))
    assert not (tmp_path / "code-ran").exists()


def test_the_draw_page_keeps_using_the_good_model_after_a_bad_upload(tmp_path):
    at = _upload_checkpoint(_app("training"), "good.safetensors", _good_checkpoint(tmp_path))
    _upload_checkpoint(at, "bad.safetensors", _nan_weights(tmp_path))
    at.session_state[CANVAS] = draw_digit(7)
    at.switch_page(f"{PAGES_DIR}/draw.py").run()
    assert not at.exception
    assert any("uploaded good.safetensors" in c.value for c in at.caption)


def test_a_valid_gap_checkpoint_flows_through_the_draw_page(tmp_path):
    """Not bad input, but an architecture the pages must read from the model itself, not assume."""
    at = _upload_checkpoint(_app("training"), "good.safetensors", _good_checkpoint(tmp_path, GAP_CONFIG))
    assert not at.error
    at.session_state[CANVAS] = draw_digit(7)
    at.switch_page(f"{PAGES_DIR}/draw.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.metric


# ---- pooling and receptive-field controls -----------------------------------------------------------------------
# The ranges are those of the pages' number inputs (pages/pooling.py, pages/receptive_field.py).

POOL_SIZES, POOL_KERNELS, POOL_STRIDES, POOL_PADDINGS = range(2, 17), range(1, 9), range(1, 9), range(0, 5)


def test_every_pooling_setting_the_controls_allow_either_works_or_raises_a_clear_value_error():
    """The page shows a ValueError as a message; anything else would be a traceback. PyTorch must agree."""
    refused = 0
    for size, k, s, p in itertools.product(POOL_SIZES, POOL_KERNELS, POOL_STRIDES, POOL_PADDINGS):
        x = pooling.random_feature_map(size, 0)
        try:
            pooling_view.size_formula(size, k, s, p)
            steps = pooling.pool_steps(x, k, s, p, "max")
        except ValueError as exc:
            assert str(exc), (size, k, s, p)
            refused += 1
            continue
        assert steps, (size, k, s, p)
        for mode in pooling.MODES:                    # the page runs this check outside its try block
            pooling.compare_with_torch(x, k, s, p, mode)
    assert refused > 0                                # the controls do reach invalid settings


@pytest.mark.parametrize("kernel, stride, padding", [(6, 2, 0), (2, 2, 2), (3, 1, 2), (1, 1, 1)])
def test_an_invalid_pooling_setting_shows_a_message(kernel, stride, padding):
    at = _app("pooling")
    at.number_input(key="pool_kernel").set_value(kernel).run()
    at.number_input(key="pool_stride").set_value(stride).run()
    at.number_input(key="pool_padding").set_value(padding).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "does not work" in " ".join(e.value for e in at.error)


def test_removing_every_receptive_field_layer_is_explained():
    at = _app("receptive_field")
    while True:
        removes = [b for b in at.button if b.key and b.key.endswith("_remove")]
        if not removes:
            break
        removes[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
    assert _alerts(at)


@pytest.mark.parametrize("field, value", [("kernel_size", 64), ("stride", 64), ("padding", 64), ("dilation", 64)])
def test_extreme_receptive_field_values_are_answered_not_a_traceback(field, value):
    at = _app("receptive_field")
    first = next(b.key for b in at.button if b.key and b.key.endswith("_remove")).removesuffix("_remove")
    at.number_input(key=f"{first}_{field}").set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("size", [1, 2, 512])
def test_extreme_receptive_field_input_sizes_are_answered_not_a_traceback(size):
    at = _app("receptive_field")
    at.number_input(key="rf_input_size").set_value(size).run()
    assert not at.exception, [e.value for e in at.exception]
