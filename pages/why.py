"""Why this answer? Which pixels made the network decide, whether that picture can be trusted, how little it
takes to change the answer, where the digit sits among the others, and how all that grew during training."""
import streamlit as st

from cnnviz_ui import links
from cnnviz_ui import why_inside as inside
from cnnviz_ui import why_sections as sections
from cnnviz_ui.current_digit import current_digit
from cnnviz_ui.models import active_model
from cnnviz_ui.shell import prose

INTRO = ("The network answered. But which part of the picture made it answer that? There is no single true "
         "answer, only different ways of asking, and each gives its own map over the 28×28 pixels. The grey line "
         "is the outline of the digit's ink, drawn over each map.")
METHODS = (
    "- **Saliency**: how strongly the class score reacts to a tiny change of each pixel (the size of the "
    "gradient). Fast, but it only looks at one point and is often noisy.\n"
    "- **Integrated gradients**: the gradient summed along a straight path from a black image to your digit. "
    "Its numbers add up to how much higher the score is for your digit than for the black image. "
    "Red pixels pushed the score up, blue ones pulled it down.\n"
    "- **Grad-CAM**: the last feature maps, weighted by how much the score depends on each. Coarse (it starts "
    "from the last, small feature maps: 7×7 here), but it tends to show the region the class lives in.\n"
    "- **Occlusion**: cover a 4×4 patch with black, see how much the score drops, move the patch and repeat. "
    "Slow but easy to trust: it is an experiment, not a derivative.")
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
    "by step in the direction that lowers the answer's score fastest (the sign of the gradient), then narrows "
    "ε down with a few rounds of smaller steps. The smaller the ε that flips the answer, the more fragile the "
    "answer was.")
LANDING = (
    "Just before its answer the network turns every digit into a long list of numbers: its last hidden layer. "
    "Digits the network finds alike get similar lists. To draw them we keep only the two directions in which "
    "those lists differ most over 5,000 test digits (principal component analysis), so each digit becomes a dot "
    "and yours the magenta star. Read the picture with care:\n"
    "- **Close on the map does not always mean close for the network.** Two dimensions keep only part of the "
    "differences (the caption says how much); dots that overlap here can be far apart in the full layer. So the "
    "nearest digits beside the map are measured in the full layer, not on the picture. They are training digits, "
    "the ones the network learned from (when the MNIST training set is on this server; otherwise the nearest of "
    "the mapped test digits).\n"
    "- **Far apart does mean different**: the map never makes two digits look more different than they are.\n"
    "- **The axes have no meaning of their own** and no units; turning or mirroring the picture changes nothing.\n"
    "- A digit landing among the 3s tells you the network sees it as a 3-like digit, not that it *is* a 3.")
TRAINING = (
    "A training run keeps its weights at about twenty moments, closer together at the start, where the network "
    "changes most: a model you trained here (Training page or Design lab) replays its own run, any other the "
    "recorded run of the shipped model's recipe. Move the slider to replay your digit through training: the "
    "probabilities, the first layer's filters (random noise at step 0), the feature maps they make of your "
    "digit, and where Grad-CAM looks.")
FIELDS = (
    "The receptive field computed from kernel sizes and strides (the magenta box; see the *Receptive field* "
    "page) says which pixels *can* change a unit. Luo and colleagues (2016) asked which pixels *do*: the "
    "gradient of the centre unit of each layer with respect to every pixel, averaged over many digits. It is "
    "zero outside the box but far from even inside it: the centre counts much more than the edges, so the "
    "effective field is smaller than the box. Compare the network at initialisation with the trained one.")
CURVE = ("The same attack on every test digit at a fixed ε: how much of the test set keeps its right answer. It "
         "was measured once and stored with the model, so it shows even where MNIST is not downloaded.")

st.title("Why this answer?")
prose(INTRO)
loaded = active_model()
digit = current_digit()
st.caption(f"Model: {sections.model_name(loaded)}. Digit: {digit.source} (draw your own on the *Draw a digit* "
           "page; it will show here).")
sections.maps_lesson(loaded, digit)
with st.expander("How the four maps are made, and what the honesty check does"):
    st.markdown(METHODS + "\n\n" + HONESTY)

tabs = st.tabs(["Attack my drawing", "Where my digit lands", "Through training", "Receptive fields"],
               key="why_tab", on_change="rerun", bind=links.BIND)
with tabs[0]:
    if tabs[0].open:
        prose(ATTACK)
        found = sections.attack_section(loaded, digit)
        prose(CURVE)
        sections.accuracy_curve(loaded, found)
with tabs[1]:
    if tabs[1].open:
        prose(LANDING)
        inside.landing_section(loaded, digit)
with tabs[2]:
    if tabs[2].open:
        prose(TRAINING)
        inside.training_section(loaded, digit)
with tabs[3]:
    if tabs[3].open:
        prose(FIELDS)
        inside.fields_section(loaded)
inside.start_training_bank(loaded)  # "Where my digit lands" needs it: begun after the page, in the background
