"""The 3x3 filters the network learned, next to the classic kernels people designed by hand."""
import streamlit as st

from cnnviz.filters import CLOSE, NO_MATCH, best_edge_filter, label, match_filters, nearest_edge_filter
from cnnviz.responses import conv2_summary, kernel_responses
from cnnviz_ui import model_charts, visual
from cnnviz_ui.export import image_download, tile
from cnnviz_ui.current_digit import current_digit
from cnnviz_ui.images import digit_image, feature_grid, kernel_image
from cnnviz_ui.models import active_model, conv_layers
from cnnviz_ui.shell import lecture_mode, prose, show_chart

st.title("Learned filters")
prose("Nobody told the network about edges. It was only shown digits and their labels, and gradient descent "
      "chose the nine weights of each 3×3 first-layer filter. Many of them end up looking like the edge "
      "detectors image processing has used for decades. Red cells are positive weights, blue ones negative, "
      "white is zero. The classic kernels they are compared with (Sobel, Prewitt, blurs...) were written by "
      "hand long before neural networks: nothing trained them.")

loaded = active_model()
convs = conv_layers(loaded.model)
if len(convs) < 2:
    st.error("This page needs a model with two convolution layers.")
    st.stop()
(conv1_name, conv1), (conv2_name, conv2) = convs[0], convs[1]
weights = conv1.weight.detach()[:, 0]                           # [16, 3, 3]
if tuple(weights.shape[-2:]) != (3, 3) or conv1.in_channels != 1:
    st.error(f"{conv1_name} has {conv1.in_channels} input channels and {tuple(weights.shape[-2:])} kernels; "
             "the comparison with classic kernels needs 3×3 filters on a grayscale input.")
    st.stop()
matches = match_filters(weights)
st.caption(f"Model: {loaded.source}")


def _described(m) -> str:
    """"−Sobel Y · 0.92", or "no close classic kernel (nearest: Box blur, 0.55)": one score, the cosine."""
    if m.close:
        return f"{label(m)} · {visual.number(m.score)}"
    return f"{NO_MATCH} (nearest: {m.kernel_name}, {visual.number(m.score)})"


big = lecture_mode()


st.subheader(f"The {len(matches)} {conv1_name} filters and their closest classic kernel")
cols_per_row = 8
st.markdown(f"Colour: {visual.legend_html(-1, 1, 'diverging')} × each filter's largest weight (red = positive); "
            "the numbers are the weights themselves.", unsafe_allow_html=True)
gallery = [kernel_image(weights[m.index].numpy(), cell=48 if big else 36, font_size=15 if big else 12)
           for m in matches]
for start in range(0, len(matches), cols_per_row):
    row = st.columns(cols_per_row)
    for col, m in zip(row, matches[start:start + cols_per_row]):
        with col:
            st.image(gallery[m.index], width="stretch")
            st.caption(f"**#{m.index}** ≈ {_described(m)}")
image_download(tile(gallery, cols_per_row), f"{conv1_name} filters", key="filters_gallery_png")
prose("**The score** is the cosine similarity of the two kernels' nine weights, taken as they are: 1 means the "
      "same pattern (up to scale), 0 means unrelated. Signs count: a blur, whose weights are all positive, is "
      "only close to a filter whose weights mostly share one sign, and an edge kernel, whose weights cancel, "
      "only to a filter that roughly cancels too. A minus sign means the filter is the kernel with every sign "
      "flipped, which finds the same edges in the opposite direction (dark-to-light instead of light-to-dark). "
      f"Below {visual.number(CLOSE)} the page names no kernel: *{NO_MATCH}*, with the nearest one in brackets.")

st.subheader("Edge detectors the network found by itself")
prose("Of the filters the gallery above calls edge detectors, the closest to a vertical and to a horizontal edge "
      "kernel. Each learned filter is shown next to the hand-designed kernel it resembles: where the match has a "
      "minus sign, that kernel is drawn with its sign flipped, so the colours line up with the learned filter's.")
sobel = st.columns(2, gap="large")
for col, what in zip(sobel, ("vertical", "horizontal")):
    m = best_edge_filter(matches, what)
    with col:
        if m is None:
            m = nearest_edge_filter(weights, what)
            st.markdown(f"**No {what}-edge filter is close** (score {visual.number(CLOSE)} or more). The nearest: "
                        f"**#{m.index}**, {'−' if m.sign < 0 else ''}{m.kernel_name} at {visual.number(m.score)}.")
        else:
            st.markdown(f"**Best {what}-edge filter: #{m.index}** ≈ {_described(m)}")
        flipped = " (its sign flipped)" if m.sign < 0 else ""
        cell = 56 if big else 44
        pair = [kernel_image(weights[m.index].numpy(), cell=cell, font_size=16 if big else 13),
                kernel_image(m.kernel, cell=cell, font_size=16 if big else 13)]
        a, b = st.columns(2)
        a.image(pair[0], caption=f"learned #{m.index} (trained)", width=3 * cell)
        name = f"{'−' if m.sign < 0 else ''}{m.kernel_name}"
        b.image(pair[1], caption=f"{name}{flipped}: hand-designed, not learned", width=3 * cell)
        image_download(tile(pair, 2), f"{what} edge filter {m.index}", key=f"filters_{what}_png")

st.subheader("What a filter does to your digit")
digit = current_digit()
pick = st.selectbox("Filter", [m.index for m in matches], key="filters_pick",
                    format_func=lambda i: f"#{i} ≈ {_described(matches[i])}")
m = matches[pick]
learned_map = kernel_responses(digit.x, weights[pick])[0].numpy()        # [28, 28]
classic_map = kernel_responses(digit.x, m.kernel)[0].numpy()             # [28, 28]
show = st.columns([1, 1.3, 1.3])
cell = 196 if lecture_mode() else 168
responses = [digit_image(digit.image28, size=cell), feature_grid(learned_map[None], cols=1, cell=cell, labels=False),
             feature_grid(classic_map[None], cols=1, cell=cell, labels=False)]
show[0].image(responses[0], caption=f"input: {digit.source}", width=cell)
show[1].image(responses[1], caption=f"learned filter #{pick} (before bias and ReLU)", width="stretch")
nearest = label(m) if m.close else f"{'−' if m.sign < 0 else ''}{m.kernel_name} (not close: {visual.number(m.score)})"
show[2].image(responses[2], caption=f"the nearest hand-designed kernel: {nearest}", width="stretch")
image_download(tile(responses, 3), f"filter {pick} responses", key="filters_responses_png")
prose("Both maps light up on the same strokes when the filter and the kernel share a pattern. Draw a digit on "
      "the *Draw a digit* page and come back: this section uses your drawing.")

st.subheader(f"The {conv2.out_channels} {conv2_name} filters")
summary = conv2_summary(conv2.weight)
prose(f"Each {conv2_name} filter is {conv2.in_channels}×3×3: one 3×3 kernel for every {conv1_name} map. "
      "Too many numbers to read one by one, so here is how strong each filter is, and which first-layer maps "
      "it listens to most.")
left, right = st.columns(2)
with left:
    show_chart(model_charts.filter_norms(summary.norms), key="filters_conv2_norms",
               name=f"{conv2_name} filter strength")
with right:
    show_chart(model_charts.channel_weights(summary.channel_norms), key="filters_conv2_channels",
               name=f"{conv2_name} weights per {conv1_name} map")
strongest = int(summary.norms.argmax())
st.caption(f"The strongest {conv2_name} filter is #{strongest}; it weighs {conv1_name} maps "
           f"{', '.join('#' + str(i) for i in summary.strongest[strongest])} most.")
