"""The Draw page's network picture and every-layer PNG, built without a browser (cnnviz_ui.network_view,
cnnviz_ui.draw_view)."""
import pytest
from PIL import ImageDraw

from cnnviz.checkpoint import load, shipped_path
from cnnviz.preprocess import preprocess
from cnnviz.sketch import draw_digit
from cnnviz.trace import trace
from cnnviz_ui import visual
from cnnviz_ui.draw_view import layer_titles, layer_views, layers_picture
from cnnviz_ui.network_view import clicked, network_figure, spot_names


def _digit_views(head: str):
    model = load(shipped_path(head))[0]
    image28, x = preprocess(draw_digit(7))
    acts = trace(model, x)
    return image28, layer_views(model, acts), acts["probabilities"][0].numpy()


def _spots(fig, views) -> list:
    names = spot_names(views)
    return [names[int(n)] for n in next(t for t in fig.data if t.name == "spots").customdata]


@pytest.mark.parametrize("head, layers", [("fc", ["relu1", "pool1", "relu2", "pool2", "relu3", "logits"]),
                                          ("gap", ["relu1", "pool1", "relu2", "pool2", "gap", "logits"])])
def test_every_map_and_unit_of_the_model_is_a_clickable_spot(head, layers):
    image28, views, probs = _digit_views(head)
    fig = network_figure(image28, views, probs)
    spots = _spots(fig, views)
    assert [name for name in dict.fromkeys(layer for layer, _ in spots)] == layers
    for v in views:
        count = v.values.shape[0] if v.values.ndim == 3 else v.values.size
        assert [i for layer, i in spots if layer == v.name] == list(range(count))
    assert len(fig.layout.images) == 1 + len(views)       # the input, then one picture per layer


def test_the_picture_flows_from_input_to_probabilities_with_logits_labelled():
    image28, views, probs = _digit_views("fc")
    fig = network_figure(image28, views, probs)
    titles = list(fig.data[0].text)
    assert titles[0].startswith("<b>input</b>") and titles[-1].startswith("<b>probabilities</b>")
    assert [t.split("</b>")[0][3:] for t in titles[1:-1]] == [v.title for v in views]
    heads = next(t for t in fig.data if t.type == "scatter" and t.marker.symbol == "triangle-right")
    assert len(heads.x) == len(views) + 1 and list(heads.x) == sorted(heads.x)    # one arrow into each stage
    texts = [list(t.text) for t in fig.data if t.type == "scatter" and t.mode == "text"]
    assert [str(d) for d in range(10)] in texts                                    # the digits 0-9
    assert [visual.number(v, 1) for v in views[-1].values] in texts                # each logit's value


def test_the_pick_is_outlined_and_its_receptive_field_boxed_on_the_input():
    image28, views, probs = _digit_views("fc")
    fig = network_figure(image28, views, probs, selected=("pool1", 5), box=(10, 14, 12, 16))
    outlines = [s for s in fig.layout.shapes if s.line.color == visual.HIGHLIGHT]
    assert len(outlines) == 2
    spot = next(i for i, d in enumerate(_spots(fig, views)) if d == ("pool1", 5))
    trace = next(t for t in fig.data if t.name == "spots")
    assert any(s.x0 < trace.x[spot] < s.x1 and s.y0 < trace.y[spot] < s.y1 for s in outlines)
    assert fig.layout.meta["selected"] == ["pool1", 5]


def test_a_click_is_read_back_as_layer_and_index():
    _, views, _ = _digit_views("fc")
    number = spot_names(views).index(("relu2", 17))
    assert clicked({"selection": {"points": [{"x": 3.0, "y": 4.0, "customdata": number}]}}, views) == ("relu2", 17)
    assert clicked({"selection": {"points": []}}, views) is None and clicked(None, views) is None


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



def test_the_figure_built_without_validation_is_a_valid_plotly_figure():
    """network_figure skips Plotly's validation for speed: validating its dict must give the same figure."""
    import json

    import plotly.graph_objects as go
    import plotly.io

    image28, views, probs = _digit_views("gap")
    fig = network_figure(image28, views, probs, selected=("relu2", 3), box=(2, 9, 3, 10), digest="abc")
    checked = go.Figure(fig.to_dict())                       # raises on any invalid property
    assert json.loads(plotly.io.to_json(checked)) == json.loads(plotly.io.to_json(fig, validate=False))
