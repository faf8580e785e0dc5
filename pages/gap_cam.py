"""Two classifier heads side by side, and where the GAP model looks: its class activation map."""
import streamlit as st

from cnnviz.model import count_parameters
from cnnviz_ui import gap_view as view
from cnnviz_ui.current_digit import current_digit
from cnnviz_ui.models import active_model, shipped_model, show_which_model
from cnnviz_ui.shell import lecture_mode, prose

st.title("Global average pooling and class activation maps")
heads = {"FC head": shipped_model("fc"), "GAP head": shipped_model("gap")}
active = active_model()
gap = active if active.head == "gap" else heads["GAP head"]
show_which_model(gap, "gap")
if not active.shipped and gap is not active:  # the student's model has another head: no CAM of its own
    st.info(view.no_cam_note(active))


def cam_section() -> None:
    st.subheader("Where does the GAP model look?")
    prose(view.cam_text(gap.model))
    view.cam_lesson(gap, current_digit())
    st.caption("Draw a digit on the *Draw a digit* page to explain your own.")


def heads_section() -> None:
    st.subheader("Two heads, two parameter counts")
    prose(view.heads_text(heads["FC head"].model))
    view.heads_section(heads)
    fc_total, gap_total = (count_parameters(h.model) for h in heads.values())
    prose(f"The GAP model has {gap_total:,} parameters against {fc_total:,}: about "
          f"{fc_total / max(gap_total, 1):.0f} times fewer, and the head no longer grows with the image size, "
          "because the average of a small map and of a ten times larger one are both one number. The price is that "
          "each channel must itself become a detector of something class-specific, which is exactly what makes the "
          "CAM possible.")


# In lecture mode the picture comes first, on the first screen; the parameter count follows.
for section in ((cam_section, heads_section) if lecture_mode() else (heads_section, cam_section)):
    section()
