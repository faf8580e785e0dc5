"""Presentation helpers for the GAP and CAM page: the two heads side by side, and the CAM lesson."""
from __future__ import annotations

import streamlit as st

from cnnviz.architecture import layer_table
from cnnviz.cam import class_activation_map, gap_parts
from cnnviz.evaluate import predict
from cnnviz.model import count_parameters
from cnnviz_ui import model_charts, visual
from cnnviz_ui.export import image_download, table_download, tile
from cnnviz_ui.images import digit_image, kernel_image
from cnnviz_ui.shell import lecture_mode, show_chart


def head_rows(rows) -> tuple[list[dict], list[dict]]:
    """(what the page shows, what the CSV holds) for the layers with parameters: the CSV keeps numbers."""
    raw = [{"layer": r.name, "operation": r.op, "output": "×".join(map(str, r.output_shape)),
            "parameters": r.params, "share (%)": round(100 * r.share, 2)} for r in rows if r.params]
    shown = [{**r, "parameters": f"{r['parameters']:,}", "share (%)": visual.number(r["share (%)"], 1)} for r in raw]
    return shown, raw


def heads_section(heads: dict) -> dict:
    """The FC and GAP heads side by side (parameters, accuracy, layer table, CSV); returns the layer tables."""
    tables = {label: layer_table(loaded.model) for label, loaded in heads.items()}
    for (label, loaded), col in zip(heads.items(), st.columns(2, gap="large")):
        rows = tables[label]
        with col:
            st.markdown(f"### {label}")
            acc = loaded.test_accuracy
            a, b = st.columns(2)
            a.metric("Parameters", f"{count_parameters(loaded.model):,}")
            b.metric("Test accuracy", visual.percent(acc, 2) if acc is not None else "n/a",
                     help=None if acc is not None else f"No accuracy recorded: {loaded.source}")
            st.caption(f"{loaded.source}")
            shown, raw = head_rows(rows)
            st.table(shown, hide_index=True)  # a static table wraps its text: nothing is cut off at 1280 px
            table_download(shown, f"{label} parameters", key=f"gap_csv_{label}", raw=raw)
            st.caption(" + ".join(f"{r.name}: {r.arithmetic}" for r in rows if r.params and r.layer_kind == "linear"))
    per_layer = {label: {r.name: r.params for r in rows if r.params} for label, rows in tables.items()}
    show_chart(model_charts.parameter_split(per_layer, height=260 if lecture_mode() else 220),
               key="gap_param_split", name="parameters per head")
    return tables


def _side(shape: tuple) -> str:
    return f"{shape[-2]}×{shape[-1]}"


def heads_text(fc_model) -> str:
    """The two heads compared in words, with the numbers of `fc_model` (a model with the flatten + FC head)."""
    rows = layer_table(fc_model)
    at = next(i for i, r in enumerate(rows) if r.layer_kind == "flatten")
    maps, flat = rows[at - 1].output_shape, rows[at].output_shape[0]     # [C, h, w], C * h * w
    first = next(r for r in rows[at:] if r.layer_kind == "linear")
    return (f"In the fully connected (FC) model almost all parameters sit in one layer: {first.name} connects every "
            f"one of the {maps[0]}×{_side(maps)} = {flat:,} numbers of the last feature maps to "
            f"{first.output_shape[0]:,} outputs. Global average pooling (GAP) replaces Flatten and that layer by one "
            f"step with no parameters at all: it averages each of the {maps[0]} maps into a single number. A small "
            f"linear layer then turns those {maps[0]} averages into the class scores.")


def cam_text(gap_model) -> str:
    """What a class activation map is, with the numbers of `gap_model` (a model with the GAP head)."""
    feature, classifier = gap_parts(gap_model)
    shape = next(r.output_shape for r in layer_table(gap_model) if r.name == feature)   # [C, h, w]
    return (f"Because the GAP head is linear in the channel averages, each class score is a weighted sum of the "
            f"{classifier.in_features} last feature maps ({feature}), averaged over space. Doing the weighted sum "
            f"*before* averaging gives a {_side(shape)} map, the class activation map (CAM): the places in the image "
            "that add evidence for that class. Its average is exactly the class score minus the bias.")


def no_cam_note(active) -> str:
    """Why the CAM below is not of the model the other pages show."""
    return (f"The model the other pages show ({active.source}) ends in a fully connected head, so it has no class "
            "activation map: its scores are not a weighted sum of maps averaged over space. The CAM below is the "
            "shipped GAP model's. Build a design with the GAP head in the Design lab to see your own.")


def cam_lesson(gap, digit) -> None:
    """The class picker and the CAM pictures (input, CAM over the input, the 7×7 CAM with its numbers),
    in the `lesson` box that lecture mode keeps on the first screen."""
    big = lecture_mode()
    with st.container(key="lesson"):
        probs = predict(gap.model, digit.x)[0]                   # [num_classes]
        predicted = int(probs.argmax())
        c = st.selectbox("Class to explain", list(range(probs.numel())), index=predicted, key="gap_class",
                         format_func=lambda k: f"{k} ({visual.percent(probs[k])})" + (" · predicted" if k == predicted
                                                                                       else ""))
        cam = class_activation_map(gap.model, digit.x, c)
        size = 250 if big else 196
        cam7 = cam.cam.numpy()                                   # [h, w] of the last maps (7x7 for DigitCNN)
        pictures = [digit_image(digit.image28, size=size),
                    digit_image(digit.image28, size=size, overlay=cam.upsampled.numpy()),
                    kernel_image(cam7, cell=size // cam7.shape[0], font_size=15 if big else 11, digits=1,
                                 colorbar=True)]
        show = st.columns([1, 1, 1.3])
        show[0].image(pictures[0], caption=f"input: {digit.source}", width=size)
        show[1].image(pictures[1], caption=f"CAM for {c} over the input (yellow: most evidence)", width=size)
        mean, logit, bias = (visual.number(v) for v in (float(cam.cam.mean()), cam.logit, cam.bias))
        show[2].image(pictures[2], caption=f"the {_side(cam7.shape)} CAM (red adds evidence for {c}, blue takes it "
                      f"away): its mean {mean} is the logit {logit} minus the bias {bias}", width=pictures[2].width)
    image_download(tile(pictures, 3), f"cam for {c}", key="gap_cam_png")
