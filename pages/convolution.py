"""Convolution, window by window: products, sum, bias, ReLU; PyTorch as the check; max pooling beside it;
and one conv2 unit as the sum of its 16 input maps' dot products."""
import numpy as np
import streamlit as st

from cnnviz import convolution
from cnnviz.data import MEAN, STD, TEST_SIZE, normalize_pixels
from cnnviz_ui import charts, conv_arithmetic as arithmetic, convolution_view as view, links, stepper
from cnnviz_ui.shell import error_box, lecture_mode, prose, show_chart
from cnnviz_ui.visual import number

st.title("Convolution")
prose(
    "A convolution layer slides a small grid of weights, the **kernel**, over its input. At each position it "
    "multiplies every weight by the input value under it, adds the products up, adds one **bias**, and writes "
    "that number into the output. The same few weights are reused at every position, so a 3×3 kernel costs "
    "only 10 learned numbers however large the image is. A ReLU then keeps the positive results and sets the "
    "negative ones to 0. Step through it below, on numbers you type or on a real digit."
)

lecture = lecture_mode()
top, middle, below = st.container(), st.container(), st.container()  # controls, the lesson, the rest

# ---- controls ---------------------------------------------------------------------------------------------
# Lecture mode: one row of controls beside the picture; the rest fold into "More settings" under it.
row = top.columns([2.4, 2.2, 1.8, 1, 1, 1.5] if lecture else [2.4, 2.2, 2, 1, 1, 1.4],
                     vertical_alignment="bottom")
c_input, c_kind, c_which, c_stride, c_pad, c_play = row
more = (below.expander("More settings", icon=":material/tune:").columns(5) if lecture
        else top.columns(5))
c_size, c_digit, c_k, c_bias, c_dil = more
source = c_input.selectbox("Input", view.INPUTS, key="conv_input", bind=links.BIND,
                          format_func=links.labelled("conv_input", view.INPUT_LABELS))
size = c_size.number_input("Grid size", 3, 10, 6, key="conv_size", disabled=source != "grid",
                           bind=links.BIND)
digit_index = c_digit.number_input("MNIST digit #", 0, TEST_SIZE - 1, 0, key="conv_digit", disabled=source != "mnist",
                                  bind=links.BIND)
kind = c_kind.selectbox("Kernel", view.KERNEL_SOURCES, key="conv_kernel_source", bind=links.BIND,
                        format_func=links.labelled("conv_kernel_source", view.KERNEL_LABELS))
if kind == "classic":
    classic = c_which.selectbox("Classic kernel", view.CLASSIC_NAMES, key="conv_classic", bind=links.BIND)
elif kind == "model":
    n_filters = view.first_conv()[1].out_channels
    filter_index = c_which.number_input("Filter #", 0, n_filters - 1, 0, key="conv_filter", bind=links.BIND)

kernel_size = c_k.number_input("Kernel size", 1, 7, 3, key="conv_k", disabled=kind != "typed", bind=links.BIND,
                               help="The classic kernels and the model's filters are 3×3; type your own to change it.")
bias = c_bias.number_input("Bias", -50.0, 50.0, 0.0, 0.5, key="conv_bias", disabled=kind == "model", bind=links.BIND,
                           help="A model filter brings its own learned bias.")
stride = c_stride.number_input("Stride", 1, 6, 1, key="conv_stride", bind=links.BIND)
padding = c_pad.number_input("Padding", 0, 4, 0, key="conv_padding", bind=links.BIND)
dilation = c_dil.number_input("Dilation", 1, 4, 1, key="conv_dilation", bind=links.BIND)
playing, interval = stepper.play_controls(c_play, "conv")

# ---- the input and the kernel -------------------------------------------------------------------------------
editors = below.columns(2)
found = view.choose_input(editors[0], source, size, digit_index, normalised=kind == "model")
if found is None:
    st.warning("MNIST is not available on this server. Pick the current digit or the editable grid.")
    st.stop()
x, pixels, caption = found  # pixels: the raw digit, when the kernel reads its normalised values
kernel, bias, kernel_note = view.choose_kernel(editors[1], kind, classic if kind == "classic" else None,
                                               filter_index if kind == "model" else 0, kernel_size, bias)
k = kernel.shape[0]

try:
    formula = view.size_formula(x.shape[0], k, stride, padding, dilation)
    steps = convolution.conv_steps(x, kernel, np.array([bias]), stride, padding, dilation)
except ValueError as exc:
    st.caption(caption)
    error_box(exc)
    st.stop()
n_steps = len(steps)
outputs = convolution.output_grid(steps)[0]  # [H_out, W_out]
out_range = view.symmetric_range(outputs)

# ---- the stepper (reruns on its own while playing) ------------------------------------------------------------
below.markdown(f"**Output size:** {formula}  (per side)")
if pixels is not None:
    with below:
        prose(
            "**Why the numbers under the kernel are not 0 to 1.** The network was never shown raw pixels. "
            f"Every image it trained on was first shifted and stretched: MNIST's average pixel ({MEAN}) was "
            f"taken away and the result divided by the pixels' typical spread ({STD}). The blank background "
            f"then reads {number(normalize_pixels(0.0))} and the brightest ink "
            f"{number(normalize_pixels(1.0))}. Its filters learned their weights on those numbers, so this "
            "page feeds them the same: the table under the arithmetic lists each raw pixel beside the value "
            "the kernel multiplies. (Padding adds zeros after this step.)")

config = (source, digit_index, x.shape, k, stride, padding, dilation, pixels is not None)
# a new geometry starts at window 1 (on a digit, at the first window with ink)
background = float(normalize_pixels(0.0)) if pixels is not None else 0.0
stepper.start("conv", config, n_steps,
              1 if source == "grid" else convolution.first_step_with_input(steps, background))
if (linked_step := links.restore("conv_step", links.integer(1, n_steps))) is not None:
    st.session_state.conv_step = linked_step
if playing:
    c_play.caption(f"One window every {interval:g} s")
input_title = "Input, normalised" if pixels is not None else "Input"


@st.fragment(run_every=interval)
def stepper_view() -> None:
    lesson = st.container(key="lesson")  # the stepper and the picture: on the first screen in lecture mode
    step_text = None if lecture else lesson.empty()
    with lesson:
        n = stepper.controls("conv", n_steps, playing, note=(lambda m: view.step_note(steps, m)) if lecture
                             else None)
    links.write("conv_step", str(n))
    step = steps[n - 1]
    shown = convolution.shown_sum(step)
    where = (f"**Step {n}/{n_steps}**: window rows {step.rows[0]}:{step.rows[1]}, "
             f"columns {step.cols[0]}:{step.cols[1]} → output cell {step.out_pos}")
    figures = dict(view.input_figures(x, padding, step, input_title,
                                      zoom=view.LECTURE_ZOOM if lecture else view.ZOOM))
    if lecture:  # one row: window, kernel, products, output (the output's box shows where the window is)
        cols = lesson.columns([2.8, 2.3, 2.3, 2.6])
        with cols[0]:
            show_chart(charts.lecture_margins(figures["conv_in"], text_size=12), key="conv_in", height=270)
        for col, key, fig in ((cols[1], "conv_kernel", view.kernel_figure(kernel)),
                              (cols[2], "conv_products", view.products_figure(step)),
                              (cols[3], "conv_out", view.output_figure(steps, n, out_range))):
            with col:
                show_chart(charts.lecture_margins(fig), key=key, height=270)
        st.code(arithmetic.arithmetic(step), language=None, wrap_lines=True)
    else:
        step_text.markdown(where)
        with lesson:
            c_in, c_kernel, c_out = st.columns([3, 2, 3])
            with c_in:
                for key, fig in figures.items():
                    show_chart(fig, key=key, height=360 if key == "conv_in" else 230)
            with c_kernel:
                show_chart(view.kernel_figure(kernel), key="conv_kernel", height=220)
                show_chart(view.products_figure(step), key="conv_products", height=220)
            with c_out:
                show_chart(view.output_figure(steps, n, out_range), key="conv_out", height=300)
                st.code(arithmetic.arithmetic(step), language=None, wrap_lines=True)
    if pixels is not None or shown.rounded:
        with st.expander("Every tap: " + ("raw pixel, normalised value, weight, product" if pixels is not None
                                          else "value, weight, product"), expanded=not lecture):
            st.table(arithmetic.taps_table(step, pixels, padding), hide_index=True)

    arithmetic.pooled_instead(step, kernel, trained=kind == "model")


with middle:
    stepper_view()
below.caption(f"{caption} {kernel_note}")

# ---- beneath the stepper ----------------------------------------------------------------------------------
tab_check, tab_conv2 = st.tabs(["From-scratch code vs PyTorch", "conv2: many maps into one value"])
with tab_check:
    view.torch_check(x, kernel, bias, stride, padding, dilation)
with tab_conv2:
    arithmetic.conv2_section()
