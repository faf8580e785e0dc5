"""Two classifier heads side by side, and where the GAP model looks: its class activation map."""
import streamlit as st

from cnnviz.model import count_parameters
from cnnviz_ui import gap_view as view
from cnnviz_ui.current_digit import current_digit
from cnnviz_ui.models import active_model, shipped_model
from cnnviz_ui.shell import lecture_mode, prose

HEADS_TEXT = ("In the fully connected (FC) model almost all parameters sit in one layer: FC1 connects every one of "
              "the 32×7×7 = 1,568 numbers of the last feature maps to 128 hidden units. Global average pooling (GAP) "
              "replaces Flatten and FC1 by one step with no parameters at all: it averages each of the 32 maps into "
              "a single number. A small linear layer then turns those 32 averages into 10 class scores.")
CAM_TEXT = ("Because the GAP head is linear in the channel averages, each class score is a weighted sum of the 32 "
            "last feature maps, averaged over space. Doing the weighted sum *before* averaging gives a 7×7 map, the "
            "class activation map (CAM): the places in the image that add evidence for that class. Its average is "
            "exactly the class score minus the bias.")

st.title("Global average pooling and class activation maps")
heads = {"FC head": shipped_model("fc"), "GAP head": shipped_model("gap")}
gap = active_model() if active_model().head == "gap" else heads["GAP head"]


def cam_section() -> None:
    st.subheader("Where does the GAP model look?")
    prose(CAM_TEXT)
    view.cam_lesson(gap, current_digit())
    st.caption(f"GAP model: {gap.source}. Draw a digit on the *Draw a digit* page to explain your own.")


def heads_section() -> None:
    st.subheader("Two heads, two parameter counts")
    prose(HEADS_TEXT)
    view.heads_section(heads)
    fc_total, gap_total = (count_parameters(h.model) for h in heads.values())
    prose(f"The GAP model has {gap_total:,} parameters against {fc_total:,}: about "
          f"{fc_total / max(gap_total, 1):.0f} times fewer, and the head no longer grows with the image size, "
          "because an average of a 7×7 map and of a 70×70 map are both one number. The price is that each channel "
          "must itself become a detector of something class-specific, which is exactly what makes the CAM possible.")


# In lecture mode the picture comes first, on the first screen; the parameter count follows.
for section in ((cam_section, heads_section) if lecture_mode() else (heads_section, cam_section)):
    section()
