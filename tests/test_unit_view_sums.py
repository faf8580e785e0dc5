"""The unit inspector's arithmetic adds up as written: every total shown is the sum of the numbers shown above it
(at the 4 decimals the page writes), for conv units with one and with many input maps and for a dense unit."""
import html as html_text
import re

import numpy as np
import pytest

from cnnviz.checkpoint import load, shipped_path
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit
from cnnviz.trace import trace
from cnnviz.unit import open_unit
from cnnviz_ui import visual
from cnnviz_ui.unit_view import unit_html

NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?")


def _value(text: str) -> float:
    return float(text.replace(visual.MINUS, "-"))


def _lines(html: str) -> dict[str, float]:
    """label -> the first number written after it, for each written line of the arithmetic."""
    found = {}
    for label, expression in re.findall(r"<span style='opacity:0.75'>([^<]*)</span> (.*?)</div>", html):
        numbers = NUMBER.findall(re.sub(r"<[^>]+>", "", expression))
        if numbers:
            found[html_text.unescape(label)] = _value(numbers[0])
    return found


@pytest.fixture(scope="module")
def traced():
    model = load(shipped_path("fc"))[0]
    _, x = preprocess(draw_digit(3))
    return model, trace(model, x)


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 5e-9


@pytest.mark.parametrize("unit", [(0, 14, 14), (5, 10, 12), (11, 20, 9), (15, 7, 7)])
def test_a_conv1_unit_sum_plus_bias_is_the_pre_activation_as_written(traced, unit):
    model, acts = traced
    lines = _lines(unit_html(open_unit(model, acts, "conv1", unit)))
    assert _close(lines["Sum of the 9 products:"] + lines["+ bias:"], lines["= pre-activation:"])


@pytest.mark.parametrize("unit", [(0, 7, 7), (9, 3, 11), (31, 6, 6)])
def test_a_conv2_unit_partial_sums_and_bias_add_up_as_written(traced, unit):
    model, acts = traced
    rec = open_unit(model, acts, "conv2", unit)
    partial = [_lines(unit_html(rec, c))[f"This map's 9 products add up to the partial sum {c}:"] for c in range(16)]
    lines = _lines(unit_html(rec, 0))
    assert _close(sum(partial), lines["Sum of all 16 partial sums:"])
    assert _close(lines["Sum of all 16 partial sums:"] + lines["+ bias:"], lines["= pre-activation:"])


@pytest.mark.parametrize("unit", [(0,), (64,), (127,)])
def test_a_dense_unit_contributions_add_up_as_written(traced, unit):
    model, acts = traced
    html = unit_html(open_unit(model, acts, "fc1", unit))
    rows = re.findall(r"<tr><td>\d+</td>.*?</tr>", html)
    contributions = [_value(NUMBER.findall(re.sub(r"<[^>]+>", " ", r))[-1]) for r in rows]
    lines = _lines(html)
    listed = lines[f"These {len(rows)} contributions:"]
    assert _close(np.round(sum(contributions), 4), listed)
    others = next(v for k, v in lines.items() if k.startswith("The other"))
    total = next(v for k, v in lines.items() if k.startswith("= sum of all"))
    assert _close(listed + others + lines["+ bias:"], total)
