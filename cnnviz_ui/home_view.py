"""The home page's pipeline (which page explains which stage) and its model summary."""
from __future__ import annotations

import sys

import streamlit as st

# The network's pipeline, left to right: (stage, icon, its job in a few words, the page that explains it).
PIPELINE = [
    ("Input", ":material/draw:", "a 28×28 grey digit", "pages/draw.py"),
    ("Conv", ":material/grid_on:", "a 3×3 kernel: products, sum, bias", "pages/convolution.py"),
    ("ReLU", ":material/show_chart:", "keep the positives", "pages/activation_functions.py"),
    ("Pool", ":material/grid_view:", "halve the map, keep the strongest", "pages/pooling.py"),
    ("Repeat", ":material/center_focus_strong:", "block 2 sees a wider patch", "pages/receptive_field.py"),
    ("FC", ":material/account_tree:", "flatten, then 1,568 → 128 → 10", "pages/architecture.py"),
    ("Output", ":material/bar_chart:", "the largest score wins", "pages/evaluation.py"),
]

# An arrow after every stage but the last, drawn by CSS so the stages keep the whole width.
_ARROWS_CSS = """<style>
.st-key-pipeline [data-testid="stHorizontalBlock"] {
  display: grid !important; grid-template-columns: repeat(auto-fit, minmax(7rem, 1fr)); gap: 0.8rem 1.4rem; }
.st-key-pipeline [data-testid="stColumn"] { position: relative; width: auto !important; min-width: 0; }
.st-key-pipeline [data-testid="stColumn"]:not(:last-child)::after {
  content: "→"; position: absolute; right: -1.1rem; top: 40%; font-size: 1.2rem; color: #888; }
</style>"""

# Pages that are not one stage of the pipeline.
ALSO = [
    ("pages/training.py", "Train the network yourself, live", ":material/fitness_center:"),
    ("pages/filters.py", "What the first layer learned, beside Sobel and friends", ":material/filter_alt:"),
    ("pages/gap_cam.py", "Global average pooling, and where the network looks (CAM)", ":material/thermostat:"),
    ("pages/draw.py", "Draw a digit and follow it through every layer", ":material/draw:"),
]


def draw_pipeline() -> None:
    """The pipeline as a row of linked stages with arrows between them."""
    st.html(_ARROWS_CSS)
    with st.container(key="pipeline"):
        for col, (stage, icon, job, page) in zip(st.columns(len(PIPELINE), gap="medium"), PIPELINE):
            with col.container(border=True, height="stretch"):
                st.page_link(page, label=stage, icon=icon, width="stretch")
                st.caption(job)


def model_summary(with_command: bool = True) -> str:
    """Which model this session's pages use, as markdown. Until some page of this server has loaded a model (and so
    PyTorch), no session can have made one of its own active: the line then comes from the shipped checkpoint's
    header alone, and the first page never waits for PyTorch's import (bench/cold_start.py)."""
    if "cnnviz_ui.models" not in sys.modules:   # the only way a session makes a model active is through it
        from cnnviz.checkpoint_header import CheckpointError, file_metadata, shipped_path
        try:
            return summary_text("the shipped checkpoint", file_metadata(shipped_path("fc")), with_command)
        except CheckpointError:
            pass   # no usable shipped checkpoint: models.py says which model is used instead
    from cnnviz_ui.models import active_model
    loaded = active_model()
    return summary_text(loaded.source, loaded.metadata, with_command)


def summary_text(source: str, metadata: dict, with_command: bool = True) -> str:
    """The model line: where the model comes from, its recorded test accuracy, when it was trained, and (with
    `with_command`) the command that made it."""
    from cnnviz.checkpoint_header import recorded_accuracy
    accuracy = recorded_accuracy(metadata)
    parts = [f"**Model in use:** {source}"]
    parts.append(f"test accuracy **{accuracy:.2%}**" if accuracy is not None else "test accuracy not recorded")
    if metadata.get("created"):
        parts.append(f"trained {str(metadata['created'])[:10]}")
    text = " · ".join(parts)
    if with_command and metadata.get("command"):
        text += f"  \nMade with `{metadata['command']}`"
    return text
