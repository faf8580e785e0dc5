"""Presentation helpers for the GAP and CAM page: the two heads side by side, and the CAM lesson."""
from __future__ import annotations

import streamlit as st

from cnnviz.architecture import layer_table
from cnnviz.cam import class_activation_map
from cnnviz.evaluate import predict
from cnnviz.model import count_parameters
from cnnviz_ui import model_charts, visual
from cnnviz_ui.export import image_download, table_download, tile
from cnnviz_ui.images import digit_image, kernel_image
from cnnviz_ui.shell import lecture_mode, show_chart


def signed(value: float, digits: int = 2) -> str:
    """A number for prose, with a real minus sign and never a negative zero: 12.69, −0.75."""
    return visual.number(value, digits)


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
            st.caption(" + ".join(f"{r.name}: {r.arithmetic}" for r in rows if r.params and r.kind == "Linear"))
    per_layer = {label: {r.name: r.params for r in rows if r.params} for label, rows in tables.items()}
    show_chart(model_charts.parameter_split(per_layer, height=260 if lecture_mode() else 220),
               key="gap_param_split", name="parameters per head")
    return tables


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
        cam7 = cam.cam.numpy()                                   # [7, 7]
        pictures = [digit_image(digit.image28, size=size),
                    digit_image(digit.image28, size=size, overlay=cam.upsampled.numpy()),
                    kernel_image(cam7, cell=size // cam7.shape[0], font_size=15 if big else 11, digits=1,
                                 colorbar=True)]
        show = st.columns([1, 1, 1.3])
        show[0].image(pictures[0], caption=f"input: {digit.source}", width=size)
        show[1].image(pictures[1], caption=f"CAM for {c} over the input (yellow: most evidence)", width=size)
        show[2].image(pictures[2], caption=f"the 7×7 CAM (red adds evidence for {c}, blue takes it away): its mean "
                      f"{signed(float(cam.cam.mean()))} is the logit {signed(cam.logit)} minus the bias "
                      f"{signed(cam.bias)}", width=pictures[2].width)
    image_download(tile(pictures, 3), f"cam for {c}", key="gap_cam_png")
