"""Numbers that add up (issue 18, point 4): on the Convolution page every sum written equals the sum of the
terms written, at the precision written; a model filter reads the network's real (normalised) input.

The strings checked are the page's own (conv_arithmetic.arithmetic, also read back from an AppTest run)."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
import torch.nn.functional as F
from app_helpers import open_app_page, texts

from cnnviz import convolution
from cnnviz.data import MEAN, STD, normalize_pixels
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit
from cnnviz_ui import conv_arithmetic as arithmetic
from cnnviz_ui.models import shipped_model
from cnnviz_ui.visual import number


def _dec(text: str) -> Decimal:
    return Decimal(text.strip().strip("()").replace("\u2212", "-"))


def parse(arithmetic: str) -> tuple[list[Decimal], Decimal, Decimal, Decimal]:
    """(terms, sum, bias, result) as written in the arithmetic block."""
    lines = arithmetic.splitlines()
    terms = []
    for line in lines:
        if line.startswith(("  ", "+ ")) and "(bias)" not in line:
            terms += [_dec(t) for t in line[2:].split(" + ")]
    total = _dec(next(ln for ln in lines if ln.endswith("(sum)"))[2:-len("  (sum)")])
    bias = _dec(next(ln for ln in lines if ln.endswith("(bias)"))[2:-len("  (bias)")])
    result = _dec(next(ln for ln in lines if "→ cell" in ln)[2:].split("  →")[0])
    return terms, total, bias, result


def example_pixels() -> np.ndarray:
    image28, _ = preprocess(draw_digit(7))
    return np.round(np.asarray(image28, dtype=float), 2)


def model_steps(filter_index: int):
    conv1 = shipped_model("fc").model.conv1
    weight = conv1.weight.detach().numpy().astype(float)[filter_index, 0]
    bias = float(conv1.bias[filter_index])
    x = normalize_pixels(example_pixels())
    return convolution.conv_steps(x, weight, np.array([bias]), 1, 1, 1), x, weight, bias


@pytest.mark.parametrize("filter_index", [0, 5])
def test_25_steps_of_a_model_filter_add_up_as_written(filter_index):
    steps, *_ = model_steps(filter_index)
    first = convolution.first_step_with_input(steps, float(normalize_pixels(0.0)))
    checked = 0
    for step in steps[first - 1: first - 1 + 25]:
        text = arithmetic.arithmetic(step)
        assert "rounded to 4 decimals" in text  # the reader is told the terms are rounded
        terms, total, bias, result = parse(text)
        assert len(terms) == 9
        assert sum(terms) == total, text
        assert total + bias == result, text
        assert abs(float(result) - step.result) <= 9 * 0.5e-4 + 1e-12  # within the rounding said
        checked += 1
    assert checked == 25


def test_the_parse_catches_a_sum_that_does_not_add_up():
    """The old page wrote 0.14 + (−0.23) as −0.08: the check above would have failed on it."""
    bad = "  0.10 + 0.04\n= 0.14  (sum)\n+ (\u22120.23)  (bias)\n= \u22120.08  → cell (0, 0)"
    terms, total, bias, result = parse(bad)
    assert sum(terms) == total and total + bias != result


def test_integer_grids_keep_their_exact_pairs():
    step = convolution.conv_steps(np.arange(16.0).reshape(4, 4), np.ones((3, 3)), np.array([0.5]))[0]
    text = arithmetic.arithmetic(step)
    assert "rounded" not in text and "0·1 + 1·1 + 2·1" in text
    assert "= 45  (sum)\n+ 0.5  (bias)\n= 45.5" in text


def test_normalisation_is_the_models_own():
    import torch

    pixels = example_pixels()
    np.testing.assert_allclose(normalize_pixels(pixels), (torch.tensor(pixels) - MEAN).div(STD).numpy(), rtol=1e-12)
    assert number(normalize_pixels(0.0)) == "\u22120.42" and number(normalize_pixels(1.0)) == "2.82"


def test_model_filter_on_the_example_runs_on_normalised_pixels_and_matches_the_model():
    """The page's output for a model filter equals conv1's own output channel on the same digit."""
    from app_helpers import z

    at = open_app_page("convolution")
    at.selectbox(key="conv_input").set_value("example").run()
    at.selectbox(key="conv_kernel_source").set_value("model").run()
    at.number_input(key="conv_padding").set_value(1).run()
    at.number_input(key="conv_filter").set_value(5).run()
    assert not at.exception
    steps, x, weight, bias = model_steps(5)
    at.slider(key="conv_step").set_value(len(steps)).run()
    import torch

    conv1 = shipped_model("fc").model.conv1
    own = F.conv2d(torch.tensor(x, dtype=torch.float32)[None, None], conv1.weight[5:6], conv1.bias[5:6],
                   padding=1)[0, 0].detach().numpy()
    np.testing.assert_allclose(z(at, "conv_out"), own, atol=1e-4)
    assert "(pixel − 0.1307) / 0.3081" in texts(at.caption)
    table = at.table[0].value
    assert {"Pixel (0-1)", "Normalised", "Weight", "Product"} <= set(table.columns)
    step_text = arithmetic.arithmetic(steps[-1])
    assert step_text in texts(at.code)
    terms, total, bias_shown, result = parse(step_text)
    assert sum(terms) == total and total + bias_shown == result


# ---- cnnviz.written: the one rule for rounding as written ----------------------------------------------------------

def test_a_written_total_is_the_sum_of_the_written_terms_with_no_floating_point_crumbs():
    from cnnviz import written

    terms = np.array([0.1, 0.2, 0.30004, -0.00006])
    shown = written.as_written(terms, 4)
    assert [number(t, 4) for t in shown] == ["0.1000", "0.2000", "0.3000", "\u22120.0001"]
    assert written.total(terms, digits=4) == 0.5999  # not 0.1 + 0.2 + 0.3 - 0.0001 = 0.5999000000000001
    assert _dec(number(written.total(terms, digits=4), 4)) == sum(_dec(number(t, 4)) for t in shown)


def test_written_terms_may_be_arrays_and_single_values_together():
    from cnnviz import written

    assert written.total(np.array([[0.126, 0.124]]), 0.0049, digits=2) == 0.25  # 0.13 + 0.12 + 0.00
    assert written.as_written(-0.004, 2) == 0.0 and isinstance(written.as_written(1.234, 1), float)
    assert written.is_exact([0.5, 0.25], 2) and not written.is_exact([0.125], 2)
    assert written.decimals_needed([0.5, 0.25]) == 2 and written.decimals_needed([1 / 3]) == 4
    with pytest.raises(ValueError, match="digits"):
        written.total([1.0], digits=-1)
