"""The Draw page's clickable pictures (the network, the map picker) and every-layer PNG, built without a browser
(cnnviz_ui.network_view, cnnviz_ui.unit_view, cnnviz_ui.draw_view)."""
import xml.etree.ElementTree as ET

import pytest
from PIL import ImageDraw

from cnnviz.checkpoint import load, shipped_path
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit
from cnnviz.trace import trace
from cnnviz_ui import visual
from cnnviz_ui.draw_view import layer_titles, layer_views, layers_picture
from cnnviz_ui import network_view
from cnnviz_ui.network_view import clicked, network_svg, spot_names


def _digit_views(head: str):
    model = load(shipped_path(head))[0]
    image28, x = preprocess(draw_digit(7))
    acts = trace(model, x)
    return image28, layer_views(model, acts), acts["probabilities"][0].numpy()


SVG = "{http://www.w3.org/2000/svg}"


def _svg(*args, **kwargs) -> ET.Element:
    return ET.fromstring(network_svg(*args, **kwargs))      # well-formed XML, or this raises


def _spots(root) -> list:
    return [(layer, int(i)) for layer, _, i in (e.get("data-spot").rpartition(" ") for e in root.iter()
                                                 if e.get("data-spot") is not None)]


def _texts(root) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def _box(e) -> tuple[float, float, float, float]:
    x, y = float(e.get("x")), float(e.get("y"))
    return x, y, x + float(e.get("width")), y + float(e.get("height"))


@pytest.mark.parametrize("head, layers", [("fc", ["relu1", "pool1", "relu2", "pool2", "relu3", "logits"]),
                                          ("gap", ["relu1", "pool1", "relu2", "pool2", "gap", "logits"])])
def test_every_map_and_unit_of_the_model_is_a_clickable_spot(head, layers):
    image28, views, probs = _digit_views(head)
    root = _svg(image28, views, probs)
    spots = _spots(root)
    assert spots == spot_names(views)
    assert [name for name in dict.fromkeys(layer for layer, _ in spots)] == layers
    for v in views:
        count = v.values.shape[0] if v.values.ndim == 3 else v.values.size
        assert [i for layer, i in spots if layer == v.name] == list(range(count))
    assert len(list(root.iter(f"{SVG}image"))) == 1 + len(views)    # the input, then one picture per layer
    hovers = ["".join(e.itertext()) for e in root.iter() if e.get("data-spot") is not None]
    assert hovers[0].startswith("conv1 + relu1, map 0: largest value") and hovers[0].endswith("Click to open it.")


def test_the_picture_flows_from_input_to_probabilities_with_logits_labelled():
    image28, views, probs = _digit_views("fc")
    root = _svg(image28, views, probs)
    titles = [e for e in root.iter(f"{SVG}text") if e.find(f"{SVG}tspan") is not None]
    names = [" ".join(t.text for t in e.findall(f"{SVG}tspan") if t.get("font-weight")) for e in titles]
    assert names == ["input", *[v.title for v in views], "probabilities"]
    heads = [e for e in root.iter(f"{SVG}polygon")]
    tips = [float(h.get("points").split()[1].split(",")[0]) for h in heads]
    assert len(heads) == len(views) + 1 and tips == sorted(tips)                     # one arrow into each stage
    texts = _texts(root)
    assert all(str(d) in texts for d in range(10))                                   # the digits 0-9
    assert all(visual.number(v, 1) in texts for v in views[-1].values)               # each logit's value
    best = [e for e in root.iter(f"{SVG}text") if e.get("font-weight") and e.text.endswith("%")]
    assert [e.text for e in best] == [visual.percent(float(probs.max()), 0)]       # the winner's share in bold


def test_the_pick_is_outlined_and_its_receptive_field_boxed_on_the_input():
    image28, views, probs = _digit_views("fc")
    root = _svg(image28, views, probs, selected=("pool1", 5), box=(10, 14, 12, 16), digest="abc")
    outlines = [e for e in root.iter(f"{SVG}rect") if e.get("stroke") == visual.HIGHLIGHT]
    assert len(outlines) == 2
    spot = next(e for e in root.iter() if e.get("data-spot") == "pool1 5")
    x0, y0, x1, y1 = _box(spot)
    assert any(a < (x0 + x1) / 2 < c and b < (y0 + y1) / 2 < d for a, b, c, d in map(_box, outlines))
    assert root.get("data-selected") == "pool1 5" and root.get("data-digest") == "abc"
    field = next(b for b in map(_box, outlines) if b[2] <= network_view.INPUT_SIZE)   # on the input: 4 of 28 px
    assert field[2] - field[0] == pytest.approx(4 * network_view.INPUT_SIZE / 28, abs=0.02)


def test_a_click_is_read_back_as_layer_and_index():
    _, views, _ = _digit_views("fc")
    assert clicked("relu2 17", views) == ("relu2", 17)
    assert clicked("relu2 99", views) is None and clicked("nothing", views) is None and clicked(None, views) is None


def test_the_every_layer_picture_writes_each_layer_name(monkeypatch):
    _, views, _ = _digit_views("fc")
    written = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(ImageDraw.ImageDraw, "text",
                        lambda self, xy, text, *a, **k: (written.append(str(text)), original(self, xy, text, *a, **k)))
    titles = layer_titles(views)
    assert titles[0] == "conv1 + relu1: 16 maps of 28×28" and titles[-1] == "logits: 10 scores"
    picture = layers_picture(views)
    assert all(visual.picture_text(title) in written for title in titles)  # "28x28": the bundled font has no ×
    written.clear()
    layers_picture(views, titles=["A", "B", "C", "D", "E", "F"])
    assert [t for t in written if t in "ABCDEF"] == list("ABCDEF")
    # the names take rows of their own: the picture is taller than its layers' pictures stacked with gaps
    from cnnviz_ui.draw_view import layer_image
    stacked = sum(max(layer_image(v, big=True).height for v in views) for _ in views) + 16 * (len(views) - 1)
    assert picture.height > stacked


def test_the_map_picker_is_one_picture_under_one_grid_that_names_each_square():
    import base64
    import io

    import numpy as np
    from PIL import Image

    from cnnviz_ui.unit_view import DIGITS, map_picker_svg

    values = np.arange(-6.0, 6.0).reshape(3, 4) / 4           # signed: the diverging scale, centred on 0
    root = ET.fromstring(map_picker_svg(values, (1, 2)))
    grid = next(e for e in root.iter() if e.get("data-grid") is not None)
    assert grid.get("data-grid") == "3 4"
    assert grid.get("data-values").split(" ") == [visual.number(v, DIGITS) for v in values.ravel()]  # row by row
    (image,) = root.iter(f"{SVG}image")
    png = base64.b64decode(image.get("href").split(",", 1)[1])
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert pixels.shape == (3, 4, 3)
    assert np.array_equal(pixels, visual.colorize(values, -1.5, 1.5, "diverging"))
    outline = next(e for e in root.iter(f"{SVG}rect") if e.get("stroke") == visual.HIGHLIGHT)
    assert (outline.get("x"), outline.get("y")) == ("2", "1") and root.get("data-unit") == "1 2"
    readout = next(e for e in root.iter() if e.get("data-readout") is not None)
    assert readout.text == readout.get("data-readout") == "Point at a square to read its value"
    texts = _texts(root)
    assert [t for t in texts if t.isdigit()] == ["0", "1", "2", "3", "0", "1", "2"]     # column, then row numbers
    assert visual.number(1.5) in texts and visual.number(-1.5) in texts                  # the colour bar's ends
