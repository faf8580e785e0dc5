"""Design lab: change the chapter's design decisions, see what follows at once, train the result in seconds,
compare it with the chapter's network, and use it on every other page."""
import streamlit as st

from cnnviz import design
from cnnviz.presets import PRESETS
from cnnviz_ui import design_controls as controls, design_panels as panels, design_view as view
from cnnviz_ui.export import table_download
from cnnviz_ui.shell import error_box, lecture_mode, prose, show_chart

st.title("Design lab")
prose("The chapter explains each of DigitCNN's design decisions: 3×3 kernels, padding 1, 16 then 32 channels, "
      "2×2 max pooling, a hidden layer of 128, dropout 0.25. Here you can change any of them. The picture, the "
      "layer table, the receptive field and the cost follow every change at once, and the chapter's own choice "
      "and its reason stay beside each control. Start from a preset that changes one thing, or build your own; "
      "then train it for a few seconds and compare it with the chapter's design.")

lecture = lecture_mode()
with st.container(key="lesson"):
    pick, lesson = st.columns([1.3, 3], vertical_alignment="bottom")
    chosen = controls.preset_picker(pick)
    lesson.markdown(f"*{PRESETS[chosen].lesson}*")
    picture = st.container()
    if lecture:  # the picture and the preset fill the projector's screen; the decisions fold under them
        with st.expander("Change a decision: blocks, kernels, pooling, the head", expanded=False):
            values = controls.editor(brief=True)
    else:
        values = controls.editor(brief=False)

config = summary = None
try:
    config = controls.config_from_values(values)
    summary = design.summarize(config)
except ValueError as exc:  # the core refuses a design that cannot work, and says what to change
    with picture:
        error_box(exc)
if summary is not None:
    with picture:
        show_chart(view.architecture_figure(summary), key="dl_picture", name="your design")
        st.markdown("**Compared with the chapter's design:** " + ", ".join(design.compare(config)))

if summary is not None:
    for column, (label, text) in zip(st.columns(4), view.totals_text(summary).items()):
        column.metric(label, text)
    with st.expander("Every layer: shape, parameters, receptive field, cost", expanded=not lecture):
        records = view.layer_records(summary)
        st.table(records, hide_index=True)
        table_download(records, "design layers", key="dl_layers_csv")
        prose("The receptive field is the square of input pixels one unit of a layer can see; the jump is how "
              "many input pixels apart two neighbouring units of that layer look. Multiply-adds count the work "
              "for one image; activations count the numbers each layer produces for it (4 bytes each).")

st.subheader("The preset's recorded run")
panels.preset_run(chosen)

st.subheader("Train it")
prose("Training runs on the server in its own process with the fast recipe (one-cycle learning rate, label "
      "smoothing, later epochs on the hardest digits), and stops when its budget of seconds is spent. You can "
      "keep looking at other pages meanwhile. A finished run joins the comparison below.")
panels.train_panel(config, summary is None)

st.subheader("Your designs against the chapter's")
panels.comparison_panel()

st.subheader("Bring a checkpoint")
prose("A checkpoint you downloaded here, or trained with `python -m cnnviz.train --channels ...`, joins your "
      "designs. It is read as safely as on every other page: a `.safetensors` file whose weights must match "
      "the design written inside it; nothing in it is run.")
panels.upload_panel()
