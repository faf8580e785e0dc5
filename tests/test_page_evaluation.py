"""The evaluation page as a student uses it: a zoomed per-digit chart with its baseline, a diagonal cell that opens
the hardest correct digits, the chosen cell in the link, a digit opened on the Draw page, CSVs of numbers."""
import numpy as np

from app_helpers import array, figure, open_app_page, open_from_link
from cnnviz.checkpoint import load, shipped_path
from cnnviz_ui import eval_view


def _captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_per_digit_accuracy_axis_is_zoomed_to_the_data_with_the_overall_accuracy_as_baseline(online):
    at = open_app_page("evaluation")
    spec = figure(at, "ev_per_class")
    low, high = spec["layout"]["yaxis"]["range"]
    bar = spec["data"][0]
    tops = np.asarray(bar["base"], dtype=float) + array(bar["y"])
    assert 0.9 < low < tops.min() and high >= 1.0  # every bar starts inside the zoomed axis and is seen whole
    assert bar["textposition"] == "inside" and bar["textangle"] == -90  # labels inside their bars: none overlap
    baseline = [s for s in spec["layout"]["shapes"] if s.get("y0") == s.get("y1")]
    accuracy = load(shipped_path("fc"))[1]["evaluation"]["accuracy"]
    assert len(baseline) == 1 and abs(baseline[0]["y0"] - accuracy) < 0.002  # the shipped model's 99.23%


def test_a_diagonal_cell_shows_the_least_confident_correct_digits(online):
    at = open_app_page("evaluation")
    at.selectbox(key="ev_true").set_value(9).run()
    at.selectbox(key="ev_pred").set_value(9).run()
    assert any("least sure about" in c for c in _captions(at))
    shown = [c for c in _captions(at) if c.startswith("#")]
    assert len(shown) == 12
    sure = [int(c.split(" · ")[1].split(": ")[1].rstrip("%")) for c in shown]  # each digit's top probability
    assert all(c.split(" · ")[1].startswith("9:") for c in shown)  # correct: 9 is each one's top answer
    assert sure == sorted(sure) and sure[0] < 90  # least sure first: these are the hard 9s


def test_the_chosen_cell_survives_a_link(online):
    at = open_from_link("evaluation", ev_true="7", ev_pred="2")
    assert (at.selectbox(key="ev_true").value, at.selectbox(key="ev_pred").value) == (7, 2)
    assert any(m.value.startswith("**True 7, answered 2:**") for m in at.markdown)
    assert not [i.value for i in at.info if "link could not be used" in i.value]
    diagonal = open_from_link("evaluation", ev_true="3", ev_pred="3")  # a diagonal cell: its hardest correct 3s
    assert (diagonal.selectbox(key="ev_true").value, diagonal.selectbox(key="ev_pred").value) == (3, 3)
    assert any("least sure about" in c for c in _captions(diagonal))


def test_a_click_on_a_matrix_cell_becomes_the_chosen_cell():
    assert eval_view.cell_from_selection({"points": [{"x": "5", "y": "3", "z": 1.2}]}) == (3, 5)
    assert eval_view.cell_from_selection({"points": [{"x": 0, "y": 8}]}) == (8, 0)
    assert eval_view.cell_from_selection({"points": []}) is None
    assert eval_view.cell_from_selection(None) is None


def test_inspect_opens_that_test_digit_on_the_draw_page_in_the_inspector(online):
    at = open_app_page("evaluation")
    first = next(c for c in _captions(at) if c.startswith("#"))
    index = int(first.split(" · ")[0].lstrip("#"))
    at.button(key=f"ev_open_{index}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["draw_source"] == "MNIST test digit"
    assert at.session_state["draw_mnist_index"] == index
    assert at.title[0].value == "Draw a digit"  # the page switched


def test_the_confusion_csv_holds_numbers():
    report = load(shipped_path("fc"))[1]["evaluation"]
    rows = eval_view.cell_rows(report)
    assert len(rows) == 10 and all(isinstance(v, (int, float)) for r in rows for v in r.values())
    assert sum(r[f"answered {r['true digit']}"] for r in rows) == report["correct"]
    assert np.isclose(rows[0]["accuracy (%)"], round(100 * report["per_class"][0], 2))


def test_offline_the_recorded_mistakes_show_without_a_draw_button(offline):
    at = open_app_page("evaluation")
    assert any(c.startswith("#") for c in _captions(at))
    assert not [b for b in at.button if b.key and b.key.startswith("ev_open_")]
    assert any("opens on the Draw page" in c for c in _captions(at))
