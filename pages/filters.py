"""The first-layer filters the network learned (any size), next to the classic kernels people designed by hand."""
import streamlit as st

from cnnviz.filters import CLOSE, NO_MATCH, best_edge_filter, label, learned_response, match_filters, \
    nearest_edge_filter
from cnnviz.responses import conv2_summary, kernel_responses
from cnnviz_ui import model_charts, visual
from cnnviz_ui.export import image_download, tile
from cnnviz_ui.current_digit import current_digit
from cnnviz_ui.images import digit_image, feature_grid, kernel_image
from cnnviz_ui.models import active_model, conv_specs, show_which_model
from cnnviz_ui.shell import lecture_mode, prose, show_chart

loaded = active_model()
convs = conv_specs(loaded.model)
first_name, first, k = convs[0].name, convs[0].module, convs[0].kernel_size
second = convs[1] if len(convs) > 1 else None
st.title("Learned filters")
show_which_model(loaded, "filters")
prose(f"Nobody told the network about edges. It was only shown digits and their labels, and gradient descent "
      f"chose the {k * k} weights of each {k}×{k} first-layer filter. Red cells are positive weights, blue ones "
      "negative, white is zero. With 3×3 filters, many end up looking like the edge detectors image processing "
      "has used for decades: the classic kernels they are compared with (Sobel, Prewitt, blurs...) were written "
      "by hand long before neural networks, and nothing trained them.")

weights = first.weight.detach()[:, 0]                           # [C_out, k, k] (the input is grayscale)
classic = first.in_channels == 1 and k == 3
matches = match_filters(weights) if classic else None
if not classic:
    st.info(f"This design's {first_name} filters are {k}×{k}, and the classic kernels are 3×3: a {k}×{k} filter "
            "and a 3×3 kernel have different numbers of weights, so there is no fair weight-for-weight comparison. "
            "The filters are shown as they are; a design with 3×3 kernels in its first block gets the comparison.")


def _described(m) -> str:
    """"−Sobel Y · 0.92", or "no close classic kernel (nearest: Box blur, 0.55)": one score, the cosine."""
    if m.close:
        return f"{label(m)} · {visual.number(m.score)}"
    return f"{NO_MATCH} (nearest: {m.kernel_name}, {visual.number(m.score)})"


big = lecture_mode()
n = weights.shape[0]
st.subheader(f"The {n} {first_name} filters" + (" and their closest classic kernel" if classic else ""))
cols_per_row = 8
st.markdown(f"Colour: {visual.legend_html(-1, 1, 'diverging')} × each filter's largest weight (red = positive); "
            "the numbers are the weights themselves.", unsafe_allow_html=True)
cell = max(12, (48 if big else 36) * 3 // max(k, 3))             # a larger kernel gets smaller cells
gallery = [kernel_image(weights[i].numpy(), cell=cell, font_size=15 if big else 12) for i in range(n)]
for start in range(0, n, cols_per_row):
    row = st.columns(cols_per_row)
    for col, i in zip(row, range(start, min(n, start + cols_per_row))):
        with col:
            st.image(gallery[i], width="stretch")
            st.caption(f"**#{i}** ≈ {_described(matches[i])}" if classic else f"**#{i}**")
image_download(tile(gallery, cols_per_row), f"{first_name} filters", key="filters_gallery_png")
if classic:
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
    for col, what in zip(st.columns(2, gap="large"), ("vertical", "horizontal")):
        m = best_edge_filter(matches, what)
        with col:
            if m is None:
                m = nearest_edge_filter(weights, what)
                st.markdown(f"**No {what}-edge filter is close** (score {visual.number(CLOSE)} or more). The "
                            f"nearest: **#{m.index}**, {'−' if m.sign < 0 else ''}{m.kernel_name} at "
                            f"{visual.number(m.score)}.")
            else:
                st.markdown(f"**Best {what}-edge filter: #{m.index}** ≈ {_described(m)}")
            flipped = " (its sign flipped)" if m.sign < 0 else ""
            side = 56 if big else 44
            pair = [kernel_image(weights[m.index].numpy(), cell=side, font_size=16 if big else 13),
                    kernel_image(m.kernel, cell=side, font_size=16 if big else 13)]
            a, b = st.columns(2)
            a.image(pair[0], caption=f"learned #{m.index} (trained)", width=3 * side)
            b.image(pair[1], caption=f"{'−' if m.sign < 0 else ''}{m.kernel_name}{flipped}: hand-designed, not "
                    "learned", width=3 * side)
            image_download(tile(pair, 2), f"{what} edge filter {m.index}", key=f"filters_{what}_png")

st.subheader("What a filter does to your digit")
digit = current_digit()
pick = st.selectbox("Filter", list(range(n)), key="filters_pick",
                    format_func=lambda i: f"#{i} ≈ {_described(matches[i])}" if classic else f"#{i}")
size = 196 if big else 168
responses = [digit_image(digit.image28, size=size),
             feature_grid(learned_response(first, digit.x, pick).numpy()[None], cols=1, cell=size, labels=False)]
show = st.columns([1, 1.3, 1.3])
show[0].image(responses[0], caption=f"input: {digit.source}", width=size)
show[1].image(responses[1], caption=f"learned filter #{pick} (before bias and activation)", width="stretch")
if classic:
    m = matches[pick]
    responses.append(feature_grid(kernel_responses(digit.x, m.kernel)[0].numpy()[None], cols=1, cell=size,
                                  labels=False))                # [28, 28]
    nearest = (label(m) if m.close
               else f"{'−' if m.sign < 0 else ''}{m.kernel_name} (not close: {visual.number(m.score)})")
    show[2].image(responses[2], caption=f"the nearest hand-designed kernel: {nearest}", width="stretch")
image_download(tile(responses, len(responses)), f"filter {pick} responses", key="filters_responses_png")
prose("The map is what the filter adds to its channel, with the layer's own stride and padding"
      + (": both maps light up on the same strokes when the filter and the kernel share a pattern." if classic else ".")
      + " Draw a digit on the *Draw a digit* page and come back: this section uses your drawing.")

if second is None:
    st.caption(f"This design has one convolution layer, {first_name}: there is no second layer of filters to show.")
    st.stop()
second_name, conv, k2 = second.name, second.module, second.kernel_size
st.subheader(f"The {conv.out_channels} {second_name} filters")
summary = conv2_summary(conv.weight)
prose(f"Each {second_name} filter is {conv.in_channels}×{k2}×{k2}: one {k2}×{k2} kernel for every map of the layer "
      "before it. Too many numbers to read one by one, so here is how strong each filter is, and which input maps "
      "it listens to most.")
left, right = st.columns(2)
with left:
    show_chart(model_charts.filter_norms(summary.norms, layer=second_name), key="filters_conv2_norms",
               name=f"{second_name} filter strength")
with right:
    show_chart(model_charts.channel_weights(summary.channel_norms, layer=second_name, source=first_name),
               key="filters_conv2_channels", name=f"{second_name} weights per {first_name} map")
strongest = int(summary.norms.argmax())
st.caption(f"The strongest {second_name} filter is #{strongest}; it weighs {first_name} maps "
           f"{', '.join('#' + str(i) for i in summary.strongest[strongest])} most.")
