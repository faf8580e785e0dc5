"""Home: what the app teaches, the network's pipeline with a page per stage, and which model is loaded."""
import streamlit as st

from cnnviz_ui import home_view as view
from cnnviz_ui.shell import lecture_mode, prose

st.title("How a CNN reads a handwritten digit")
st.markdown(
    "A small convolutional network, **DigitCNN**, learns to read MNIST digits. "
    "Each page takes one piece of it apart: run the numbers yourself, draw your own digit, train it live."
)
model_line = st.empty()  # filled in last: loading the model must not hold up the rest of the page

st.subheader("The pipeline: click a stage to open its page")
view.draw_pipeline()
prose(
    "A convolution **detects** local patterns, ReLU makes the network **non-linear**, and pooling **shrinks** "
    "the maps while keeping the strongest responses. The block runs twice; then the maps are **flattened** "
    "into one long vector and **fully-connected** layers turn it into ten scores, one per digit. "
    "Every number these pages show is computed live from the code and the model, not copied from a book."
)

st.subheader("Also")
for page, label, icon in view.ALSO:
    st.page_link(page, label=label, icon=icon)
prose("**Teaching with a projector?** Switch on *Lecture mode* in the sidebar: larger type and figures, "
      "explanations folded away, the sidebar folded so each lesson fits one screen (the switch moves to the top "
      "of the page). It stays on as you move between pages. Beside the switch, *Link for students* gives the "
      "same view in normal mode, to share with the class.")

with st.spinner("Loading the model..."):
    try:
        model_line.info(view.model_summary(with_command=not lecture_mode()), icon=":material/memory:")
    except Exception as exc:  # never a traceback on the front page
        model_line.warning(f"No model could be loaded: {exc}")
