"""Why this answer? Which pixels made the network decide, whether that picture can be trusted, how little it
takes to change the answer, where the digit sits among the others, and how all that grew during training."""
import streamlit as st

from cnnviz_ui import links
from cnnviz_ui import why_sections as sections
from cnnviz_ui.current_digit import current_digit
from cnnviz_ui.models import active_model
from cnnviz_ui.shell import prose

INTRO = (
    "The network answered. But which part of the picture made it answer that? There is no single true answer to "
    "that question, only different ways of asking it, and each gives its own map over the 28×28 pixels:\n"
    "- **Saliency**: how strongly the class score reacts to a tiny change of each pixel (the size of the "
    "gradient). Fast, but it only looks at one point and is often noisy.\n"
    "- **Integrated gradients**: the gradient summed along a straight path from a black image to your digit. "
    "Its numbers add up exactly to how much higher the score is for your digit than for the black image. "
    "Red pixels pushed the score up, blue ones pulled it down.\n"
    "- **Grad-CAM**: the last feature maps, weighted by how much the score depends on each. Coarse (it starts "
    "from a 7×7 grid), but it tends to show the region the class lives in.\n"
    "- **Occlusion**: cover a 4×4 patch with black, see how much the score drops, move the patch and repeat. "
    "Slow but easy to trust: it is an experiment, not a derivative.\n\n"
    "The grey line is the outline of your digit, drawn over each map so you can see where the ink was.")
HONESTY = (
    "A map can look convincing and still say nothing about what the network learned. Adebayo and colleagues "
    "(2018) proposed a simple test: scramble the weights and look again. Here the weights are re-drawn at "
    "random, starting with the last layer and moving down one layer at a time. If a map hardly changes, it was "
    "not explaining the trained network; it was mostly tracing the digit's edges. We compare each map with the "
    "original by **rank correlation**: sort the pixels from most to least important in both maps and ask how "
    "similar the two orders are (1: the same order; 0: no relation).")
ATTACK = (
    "An adversarial attack looks for a change to the image that a person would barely notice but that changes "
    "the network's answer. Here every pixel may move by at most ε (epsilon) up or down; the search raises ε step "
    "by step in the direction that lowers the answer's score fastest (the sign of the gradient), then polishes "
    "the change a few more steps. The smaller the ε that flips the answer, the more fragile the answer was.")
CURVE = ("The same attack on every test digit at a fixed ε: how much of the test set keeps its right answer. It "
         "was measured once and stored with the model, so it shows even where MNIST is not downloaded.")

st.title("Why this answer?")
prose(INTRO)
loaded = active_model()
digit = current_digit()
st.caption(f"Model: {loaded.source}. Digit: {digit.source} (draw your own on the *Draw a digit* page; it will show "
           "here).")
sections.maps_lesson(loaded, digit)
prose(HONESTY)

tabs = st.tabs(["Attack my drawing", "Where my digit lands", "Through training", "Receptive fields"],
               key="why_tab", on_change="rerun", bind=links.BIND)
with tabs[0]:
    if tabs[0].open:
        prose(ATTACK)
        sections.attack_section(loaded, digit)
        prose(CURVE)
        sections.accuracy_curve(loaded)
