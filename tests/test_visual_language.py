"""One visual language (issue 18, point 2): every chart and picture takes its colours from cnnviz_ui/visual.py.

Two walks over the code, so a new builder or a new colour cannot slip past:
- dynamically: every figure/picture builder in cnnviz_ui (found by inspect: a public function whose return
  annotation is a Plotly Figure or a PIL Image, or, unannotated, whose name says figure/chart/image/picture)
  is called with small sample data; every colour scale of a Plotly trace is one of visual.SCALES (diverging
  ones centred on 0), every other colour is one of visual's colours or a neutral grey, and every pixel of a
  PIL picture lies on one of visual's scales (probes check that red is positive, yellow is high);
- statically: no colour-scale name ("RdBu", "Viridis", "Greys", ...) and no chromatic colour literal
  ("#1f77b4", "rgba(214,39,40,0.15)", (255, 0, 255), "orange") in cnnviz_ui/*.py or pages/*.py outside
  visual.py (Python's tokenize and ast find them).
And no builder writes a negative zero ("−0.00"), in a chart or in a picture.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image, ImageDraw

import cnnviz_ui
from cnnviz_ui import charts, visual
from visual_checks import (NEGATIVE_ZERO, Case, check_figure, check_html, check_picture, colour_findings,
                           figures_and_pictures, strings_in)

ROOT = Path(__file__).resolve().parents[1]
NOT_BUILDERS = {  # names that look like builders but return data, not a figure or a picture
    "cnnviz_ui.convolution_view.digit_image": "the chosen MNIST digit as an array",
    "cnnviz_ui.convolution_view.first_conv": "the shipped model's first layer",
}
SKIPPED_MODULES = {"cnnviz_ui.visual"}  # the language itself


# ---- discovery ----------------------------------------------------------------------------------------------
def _modules():
    for info in pkgutil.iter_modules(cnnviz_ui.__path__):
        name = f"cnnviz_ui.{info.name}"
        if name not in SKIPPED_MODULES:
            yield importlib.import_module(name)


def _returns_picture(fn) -> bool:
    annotation = inspect.signature(fn).return_annotation
    if annotation is inspect.Signature.empty:
        return bool(re.search(r"(figure|chart|image|picture)", fn.__name__))
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return bool(re.search(r"\b(Figure|Image)\b", text)) and not text.startswith(("list[str", "str"))


def builders() -> dict[str, object]:
    """Every public figure/picture builder defined in a cnnviz_ui module: qualified name -> function."""
    found = {}
    for module in _modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            qualified = f"{module.__name__}.{name}"
            if (fn.__module__ == module.__name__ and not name.startswith("_") and qualified not in NOT_BUILDERS
                    and _returns_picture(fn)):
                found[qualified] = fn
    return found


# ---- sample arguments ---------------------------------------------------------------------------------------


# Signed data whose largest value is positive and larger than the most negative one, with a tiny negative
# value that a careless format writes as "-0.00".
SIGNED = np.array([[1.0, -0.5, 0.25], [-0.001, 0.0, 0.5], [0.75, -0.25, 0.125]])
POSITIVE = np.array([[1.0, 0.2, 0.0], [0.5, 0.75, 0.3], [0.1, 0.9, 0.4]])
RED = tuple(int(c) for c in visual.colorize(np.array(1.0), -1, 1, "diverging"))
YELLOW = tuple(int(c) for c in visual.colorize(np.array(1.0), 0, 1, "sequential"))


def _conv_fixtures():
    from cnnviz import convolution

    x = np.arange(25, dtype=float).reshape(5, 5) / 24 - 0.3
    kernel = np.array([[1.0, 0.0, -1.0], [2.0, -0.001, -2.0], [1.0, 0.0, -1.0]])
    steps = convolution.conv_steps(x, kernel, 0.1, 1, 1, 1)
    multi = convolution.conv_step(np.stack([x, -x]), np.stack([[kernel, kernel.T]]), np.array([-0.2]), (1, 1))
    return x, kernel, steps, multi


def _model():
    import torch

    from cnnviz.model import DigitCNN

    torch.manual_seed(0)
    return DigitCNN().eval()


def _unit():
    import torch

    from cnnviz.trace import trace
    from cnnviz.unit import open_unit

    model = _model()
    acts = trace(model, torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(1)))
    return open_unit(model, acts, "conv2", (0, 3, 3)), acts


def _draw_views():
    from cnnviz_ui.draw_view import LayerView

    rng = np.random.default_rng(0)
    return [LayerView("relu1", "conv1 + relu1", np.abs(rng.normal(size=(4, 6, 6))).astype(np.float32)),
            LayerView("fc1", "fc1", rng.normal(size=12).astype(np.float32)),
            LayerView("logits", "logits", np.array([2.0, -1.0, 0.5, -0.001, 0, 1, 3, -2, 0.2, 0.1],
                                                   dtype=np.float32))]


def samples() -> dict[str, list[Case]]:
    """Qualified builder name -> the calls to make (a new builder needs a line here: the test says so)."""
    x, kernel, steps, multi = _conv_fixtures()
    xs = np.linspace(-3, 1, 21)
    unit, acts = _unit()
    views = _draw_views()
    picture = Image.new("RGB", (10, 10), visual.BACKGROUND_RGB)
    return {
        # charts
        "cnnviz_ui.charts.grid": [Case((SIGNED,), scale="diverging"), Case((POSITIVE,), scale="sequential"),
                                  Case((POSITIVE,), dict(colorscale="pixels"), scale="pixels")],
        "cnnviz_ui.charts.activation_curves": [Case((xs, {"relu": (np.maximum(xs, 0), (xs > 0) * 1.0),
                                                          "tanh": (np.tanh(xs), 1 - np.tanh(xs) ** 2)}),
                                                    {"at_x": 0.5})],
        "cnnviz_ui.charts.relu_and_leaky": [Case((xs, np.maximum(xs, 0), np.where(xs > 0, xs, 0.01 * xs), 0.01))],
        "cnnviz_ui.charts.gradient_decay": [Case(({"relu": [1.0, 1.0, 0.0], "sigmoid": [1.0, 0.25, 0.06]},))],
        "cnnviz_ui.charts.parameter_share": [Case((["conv1", "relu1", "fc1"], [160, 0, 840]))],
        "cnnviz_ui.charts.shape_flow": [Case((["input", "conv1", "pool1", "fc1"], ["Input", "Conv2d", "MaxPool2d",
                                              "Linear"], [(1, 28, 28), (16, 28, 28), (16, 14, 14), (128,)]),
                                             {"selected": "conv1"})],
        "cnnviz_ui.charts.image_with_boxes": [Case((np.eye(28), [("conv1", 3, 6, 3, 6), ("pool1", 2, 6, 2, 6)]))],
        # model charts
        "cnnviz_ui.model_charts.training_curves": [Case(([1, 2, 3], [2.3, 1.0, 0.5], [0.1, 0.5, 0.8], [3], [0.9]))],
        "cnnviz_ui.model_charts.confusion": [Case((np.array([[50, 2], [0, 48]]),), {"selected": (0, 1)},
                                                  scale="sequential")],
        "cnnviz_ui.model_charts.per_class": [Case((np.array([0.99, 0.97, 0.985]),))],
        "cnnviz_ui.model_charts.parameter_split": [Case(({"FC head": {"conv1": 160, "fc1": 800},
                                                          "GAP head": {"conv1": 160, "fc": 330}},))],
        "cnnviz_ui.model_charts.filter_norms": [Case((np.array([0.5, 1.25, 0.75]),))],
        "cnnviz_ui.model_charts.channel_weights": [Case((np.abs(SIGNED),), scale="sequential")],
        # unit inspector
        "cnnviz_ui.unit_view.partial_sums_figure": [Case((unit,))],
        # convolution page
        "cnnviz_ui.convolution_view.input_figures": [Case((x, 1, steps[6])), Case((np.abs(np.eye(30)), 0, steps[0]))],
        "cnnviz_ui.convolution_view.kernel_figure": [Case((kernel,), scale="diverging")],
        "cnnviz_ui.convolution_view.products_figure": [Case((steps[6],), scale="diverging")],
        "cnnviz_ui.convolution_view.output_figure": [Case((steps, 7, (-2.0, 2.0)), scale="diverging")],
        "cnnviz_ui.convolution_view.partial_sums_chart": [Case((multi, "relu1"))],
        "cnnviz_ui.charts.lecture_margins": [Case((charts.grid(SIGNED, title="Kernel"),), scale="diverging")],
        # pictures
        "cnnviz_ui.images.feature_grid": [
            Case((np.stack([SIGNED, -SIGNED / 2]),), {"cols": 2, "cell": 3, "gap": 1, "labels": False},
                 probes=[((0, 0), RED)]),
            Case((np.stack([POSITIVE, POSITIVE]),), {"cols": 2, "cell": 30, "highlight": (1, 1, 1)},
                 probes=[((2, 15), YELLOW)])],
        "cnnviz_ui.images.vector_strip": [
            Case((SIGNED.ravel(),), {"cols": 9, "cell": 20, "numbers": True}, probes=[((1, 1), RED)]),
            Case((POSITIVE.ravel(),), {"cols": 9, "cell": 20, "numbers": True, "font_size": 16},
                 probes=[((1, 1), YELLOW)])],
        "cnnviz_ui.images.digit_image": [Case((POSITIVE,), {"size": 30}, probes=[((1, 1), (255, 255, 255))]),
                                         Case((POSITIVE,), {"size": 30, "box": (0, 2, 0, 2)})],
        "cnnviz_ui.images.kernel_image": [Case((kernel,), probes=[((2, 38), RED)]),
                                          Case((kernel,), {"cell": 60, "font_size": 22, "colorbar": True})],
        "cnnviz_ui.export.tile": [Case(([picture, picture],), {"cols": 2}),
                                  Case(([picture],), {"cols": 1, "captions": ["conv1"]})],
        # draw page
        "cnnviz_ui.draw_view.layer_image": [Case((v,)) for v in views],
        "cnnviz_ui.draw_view.layers_picture": [Case((views,))],
    }


def _own_samples(kind: str) -> dict[str, list[Case]]:
    """Samples a newer view module keeps beside its own tests: `samples()` / `html_samples()` of every
    tests/visual_samples_*.py (one file per view module, so parallel work never edits this file)."""
    found = {}
    for path in sorted(Path(__file__).parent.glob("visual_samples_*.py")):
        module = importlib.import_module(path.stem)
        if hasattr(module, kind):
            found.update(getattr(module, kind)())
    return found


# ---- the dynamic walk ---------------------------------------------------------------------------------------
FOUND = builders()


def test_discovery_finds_the_builders_of_every_kind():
    """The walk is not empty: figure builders, picture builders and unannotated ones are all found."""
    for name in ("cnnviz_ui.charts.grid", "cnnviz_ui.model_charts.confusion", "cnnviz_ui.images.feature_grid",
                 "cnnviz_ui.images.kernel_image", "cnnviz_ui.draw_view.layer_image",
                 "cnnviz_ui.convolution_view.kernel_figure", "cnnviz_ui.unit_view.partial_sums_figure"):
        assert name in FOUND, f"{name} was not discovered as a builder"
    assert "cnnviz_ui.images.png_data_url" not in FOUND  # a str, not a picture


@pytest.fixture(scope="module")
def sample_table():
    return {**samples(), **_own_samples("samples")}


@pytest.fixture
def drawn_text(monkeypatch):
    """Every string a builder writes into a PIL picture."""
    written = []
    original = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):
        written.append(str(text))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    return written


@pytest.mark.parametrize("name", sorted(FOUND))
def test_every_builder_takes_its_colours_from_visual(name, sample_table, drawn_text):
    assert name in sample_table, (f"{name} is a new figure/picture builder: add sample arguments for it to "
                                  "samples() here or to its module's tests/visual_samples_<module>.py "
                                  "(or to NOT_BUILDERS if it is not one)")
    problems = []
    for n, case in enumerate(sample_table[name]):
        made = list(figures_and_pictures(FOUND[name](*case.args, **case.kwargs)))
        assert made, f"{name} returned neither a Plotly figure nor a PIL picture"
        for thing in made:
            check = check_figure if isinstance(thing, go.Figure) else check_picture
            problems += [f"case {n}: {p}" for p in check(thing, case)]
    assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", sorted(FOUND))
def test_no_builder_writes_a_negative_zero(name, sample_table, drawn_text):
    assert name in sample_table, (f"{name}: add sample arguments for it to samples() "
                                  "or to its module's tests/visual_samples_<module>.py")
    written = []
    for case in sample_table[name]:
        for thing in figures_and_pictures(FOUND[name](*case.args, **case.kwargs)):
            if isinstance(thing, go.Figure):
                written += list(strings_in(thing.to_plotly_json()))
    written += drawn_text
    bad = sorted({s for s in written if NEGATIVE_ZERO.search(re.sub(r"<[^>]*>", " ", s))})
    assert not bad, f"{name} writes a negative zero: {bad[:5]}"


def test_every_sample_names_a_discovered_builder(sample_table):
    """A sample for a renamed or removed builder is a stale line: the table follows the code."""
    assert not set(sample_table) - set(FOUND)


# ---- HTML and SVG builders (number grids, bars, clickable pictures): the same colours, the same numbers ------
def html_builders() -> dict[str, object]:
    found = {}
    for module in _modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_") and name.endswith(("_html", "_svg")):
                found[f"{module.__name__}.{name}"] = fn
    return found


HTML_FOUND = html_builders()


def html_samples() -> dict[str, list[Case]]:
    """Qualified name -> calls; Case.probes here are (n-th <td> with a background, "red" or "blue")."""
    import torch

    from cnnviz.unit import open_unit

    unit, acts = _unit()
    model = _model()
    pool = open_unit(model, acts, "pool1", (0, 3, 3))
    linear = open_unit(model, acts, "fc1", (5,))
    probabilities = torch.softmax(torch.tensor([2.0, -1.0, 0.5, 0, 0, 1, 3, -2, 0.2, 0.1]), 0).numpy()
    return {
        "cnnviz_ui.unit_view.grid_html": [Case((SIGNED, "weights"), probes=[(0, "red"), (1, "blue")])],
        "cnnviz_ui.unit_view.conv_html": [Case((unit,))],
        "cnnviz_ui.unit_view.pool_html": [Case((pool,))],
        "cnnviz_ui.unit_view.linear_html": [Case((linear,))],
        "cnnviz_ui.unit_view.unit_html": [Case((unit,)), Case((linear,))],
        "cnnviz_ui.model_charts.probability_bars_html": [Case((probabilities, "d"))],
        "cnnviz_ui.draw_view.prediction_html": [Case(("data:image/png;base64,", probabilities, "d"))],
        "cnnviz_ui.images.figure_html": [Case((Image.new("RGB", (4, 4)), 40, "a caption"))],
        "cnnviz_ui.unit_view.map_picker_svg": [Case((acts["relu1"][0, 0].numpy(), (2, 3))), Case((SIGNED, (0, 1)))],
        "cnnviz_ui.network_view.network_svg": [Case((np.eye(28), _draw_views(), np.full(10, 0.1)))],
    }


@pytest.fixture(scope="module")
def html_sample_table():
    return {**html_samples(), **_own_samples("html_samples")}


@pytest.mark.parametrize("name", sorted(HTML_FOUND))
def test_every_html_builder_takes_its_colours_and_numbers_from_visual(name, html_sample_table):
    assert name in html_sample_table, (f"{name} is a new HTML builder: add sample arguments to "
                                       "html_samples() or to its module's tests/visual_samples_<module>.py")
    problems = []
    for n, case in enumerate(html_sample_table[name]):
        problems += [f"case {n}: {p}" for p in check_html(HTML_FOUND[name](*case.args, **case.kwargs), case)]
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_every_html_sample_names_a_discovered_builder(html_sample_table):
    assert not set(html_sample_table) - set(HTML_FOUND)


# ---- the checks themselves can fail -------------------------------------------------------------------------
def test_the_figure_check_catches_a_foreign_scale_an_off_centre_range_and_a_foreign_colour():
    fig = go.Figure(go.Heatmap(z=SIGNED, colorscale="RdBu"))
    assert any("not one of visual.SCALES" in p for p in check_figure(fig, Case()))
    fig = go.Figure(go.Heatmap(z=SIGNED, colorscale=visual.DIVERGING, zmin=-1, zmax=2))
    assert any("centred on 0" in p for p in check_figure(fig, Case()))
    fig = go.Figure(go.Bar(y=[1, 2], marker_color="#1f77b4"))
    assert any("not a colour of visual.py" in p for p in check_figure(fig, Case()))
    fig = go.Figure(go.Heatmap(z=POSITIVE, colorscale=visual.SEQUENTIAL))
    assert any("expected diverging" in p for p in check_figure(fig, Case(scale="diverging")))
    fig = go.Figure([go.Bar(y=[1, 2]), go.Heatmap(z=POSITIVE), go.Scatter(y=[1, 2])])
    assert len([p for p in check_figure(fig, Case()) if "default" in p]) == 3
    from cnnviz_ui.images import png_data_url

    fig = go.Figure(layout=dict(images=[dict(source=png_data_url(Image.new("RGB", (4, 4), (31, 119, 180))))]))
    assert any("layout image 0" in p for p in check_figure(fig, Case()))


def test_the_html_check_catches_blue_positive_cells_foreign_colours_and_negative_zeros():
    html = ("<table><tr><td style='background:rgba(31,119,180,0.5)'>1</td>"
            "<td style='background:rgba(214,39,40,0.3)'>-0.00</td></tr></table>")
    problems = check_html(html, Case(probes=[(0, "red"), (1, "blue")]))
    assert sum("not a colour of visual.py" in p for p in problems) == 2, problems
    assert sum("expected" in p for p in problems) == 2 and any("negative zero" in p for p in problems)
    from cnnviz_ui.images import png_data_url

    svg = f"<svg><image href='{png_data_url(Image.new('RGB', (4, 4), (31, 119, 180)))}'/></svg>"
    assert any(p.startswith("picture 0:") for p in check_html(svg, Case()))      # a picture inside the markup


def test_the_picture_check_catches_a_reversed_scale_and_foreign_colours():
    reversed_red = Image.fromarray(visual.colorize(-SIGNED, -1, 1, "diverging").repeat(4, 0).repeat(4, 1))
    assert check_picture(reversed_red, Case(probes=[((0, 0), RED)]))
    foreign = Image.new("RGB", (8, 8), (31, 119, 180))
    assert check_picture(foreign, Case())
    assert NEGATIVE_ZERO.search("−0.00") and NEGATIVE_ZERO.search("-0.0") and NEGATIVE_ZERO.search("x = -0")
    assert not any(NEGATIVE_ZERO.search(s) for s in ("0.00", "−0.01", "10.0", "-0.5", "3-0", "1e-05"))


# ---- the static walk ----------------------------------------------------------------------------------------
SOURCES = sorted(p.relative_to(ROOT).as_posix() for p in [*ROOT.glob("cnnviz_ui/**/*.py"), *ROOT.glob("pages/*.py")]
                 if p.name != "visual.py")


@pytest.mark.parametrize("path", SOURCES)
def test_no_colour_is_written_outside_visual(path):
    """Colours live in visual.py: a file that names a scale or a chromatic colour itself is listed here."""
    findings = colour_findings((ROOT / path).read_text(encoding="utf-8"))
    assert not findings, f"{path}: take these from cnnviz_ui/visual.py instead:\n" + "\n".join(findings)


def test_the_static_check_finds_names_literals_and_tuples_but_not_greys_or_prose():
    code = ('a = dict(colorscale="RdBu")\nb = "#1f77b4"\nc = f"background:rgba(214,39,40,{x})"\n'
            'd = (255, 0, 255)\ne = "orange"\nf = go.Heatmap(colorscale="Viridis_r")\n')
    lines = {int(f.split()[1][:-1]) for f in colour_findings(code)}
    assert lines == {1, 2, 3, 4, 5, 6}
    neutral = ('a = "#e9ecf1"\nb = "rgba(0,0,0,0)"\nc = (1, 28, 28)\nd = "a grey square, in viridis"\n'
               'e = dict(colorscale="diverging")\nf = "see #12 of the list"\n')
    assert colour_findings('g = go.Heatmap(colorscale="Tealgrn")\n') == [
        "line 1: colorscale='Tealgrn' (use a scale of visual.py)"]
    assert colour_findings(neutral) == []
