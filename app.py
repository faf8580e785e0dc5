"""cnnviz: entry point. `streamlit run app.py`."""
import streamlit as st

from cnnviz_ui import links
from cnnviz_ui.memory import tune_malloc
from cnnviz_ui.shell import apply_style, freeze_new_imports

tune_malloc()  # freed memory goes back to the OS: sessions that leave leave nothing behind

st.set_page_config(page_title="cnnviz: a CNN, step by step", page_icon="🔢", layout="wide")

PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    ],
    "Foundations": [
        st.Page("pages/convolution.py", title="Convolution", icon="🧮"),
        st.Page("pages/pooling.py", title="Pooling", icon="🔲"),
        st.Page("pages/activation_functions.py", title="Activation functions", icon="📈"),
        st.Page("pages/architecture.py", title="Architecture", icon="🏗️"),
        st.Page("pages/receptive_field.py", title="Receptive field", icon="🎯"),
    ],
    "The model": [
        st.Page("pages/training.py", title="Training", icon="🏋️"),
        st.Page("pages/draw.py", title="Draw a digit", icon="✏️"),
        st.Page("pages/filters.py", title="Learned filters", icon="🧩"),
    ],
    "Explore": [
        st.Page("pages/gap_cam.py", title="GAP and CAM", icon="🌡️"),
        st.Page("pages/evaluation.py", title="Evaluation", icon="📊"),
    ],
}

link_check = links.LinkCheck()  # what the opening link asked for, read before any widget takes its part

with st.sidebar:
    st.toggle("Lecture mode", key="lecture_mode", help="Larger type, prose folded away: for a projector.",
              bind=links.BIND)

page = st.navigation(PAGES)
apply_style()
freeze_new_imports()  # torch & co. out of the collector's way, sessions not pinned (see shell.py)
try:
    page.run()
finally:
    link_check.report()
