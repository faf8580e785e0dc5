"""The home page's pipeline (which page explains which stage) and its model summary."""
from __future__ import annotations

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
    """Which model this session's pages use, as markdown (loads the shipped model on first call: imports torch)."""
    from cnnviz_ui.models import active_model  # here, not at the top: keeps torch off the first paint

    loaded = active_model()
    accuracy = loaded.test_accuracy
    parts = [f"**Model in use:** {loaded.source}"]
    parts.append(f"test accuracy **{accuracy:.2%}**" if accuracy is not None else "test accuracy not recorded")
    if loaded.metadata.get("created"):
        parts.append(f"trained {str(loaded.metadata['created'])[:10]}")
    text = " · ".join(parts)
    if with_command and loaded.metadata.get("command"):
        text += f"  \nMade with `{loaded.metadata['command']}`"
    return text
