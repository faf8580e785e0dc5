"""Pooling, window by window: max and average on the same input, the size formula, PyTorch as the check."""
import streamlit as st

from cnnviz import pooling
from cnnviz.data import TEST_SIZE
from cnnviz_ui import charts, links, pooling_view as view, stepper
from cnnviz_ui.shell import error_box, lecture_mode, prose, show_chart

st.title("Pooling")
prose(
    "A pooling layer slides a small window over each feature map and replaces every window with one number: "
    "its **largest** value (max pooling) or its **mean** (average pooling). Nothing is learned here: the "
    "window size and stride are fixed choices. A 2×2 window moved 2 cells at a time halves the height and "
    "the width, so the next layer has a quarter of the positions to look at, and a feature that moves by one "
    "pixel often still lands in the same window."
)

lecture = lecture_mode()

# ---- controls: one row -------------------------------------------------------------------------------------
c_input, c_one, c_two, c_kernel, c_stride, c_pad, c_play = st.columns([2.3, 1.1, 1.2, 1, 1, 1, 1.5],
                                                                      vertical_alignment="bottom")
source = c_input.selectbox("Input", view.INPUTS, key="pool_input", bind=links.BIND,
                          format_func=links.labelled("pool_input", view.INPUT_LABELS))
if source == "random":  # the chapter's map is 4×4 and a conv1 map 28×28: only a random map has a size to pick
    size = c_one.number_input("Size", 2, 16, 6, key="pool_size", help="Side of the random map.",
                              bind=links.BIND)
kernel_size = c_kernel.number_input("Kernel size", 1, 8, 2, key="pool_kernel", bind=links.BIND)
stride = c_stride.number_input("Stride", 1, 8, 2, key="pool_stride", bind=links.BIND)
padding = c_pad.number_input("Padding", 0, 4, 0, key="pool_padding", bind=links.BIND)
playing, interval = stepper.play_controls(c_play, "pool")

x, caption = None, ""
if source == "chapter":
    x, caption = pooling.CHAPTER_FEATURE_MAP, "The chapter's 4×4 feature map."
elif source == "random":
    if (linked_seed := links.restore("pool_seed", links.integer(0, 10**6))) is not None:
        st.session_state.pool_seed = linked_seed
    seed = st.session_state.setdefault("pool_seed", 0)
    links.write("pool_seed", str(seed) if seed else None)
    x, caption = pooling.random_feature_map(size, seed), f"A random {size}×{size} map of digits 0-9."
    if c_two.button("New map", icon=":material/casino:", help="A new random map"):
        st.session_state.pool_seed = seed + 1
        st.rerun()
else:
    digit_index = c_one.number_input("Test digit #", 0, TEST_SIZE - 1, 0, key="pool_digit", bind=links.BIND)
    channel = c_two.number_input("conv1 channel", 0, 15, 0, key="pool_channel", bind=links.BIND)
    real = view.real_feature_map(digit_index, channel)
    if real is None:
        st.warning("MNIST is not available on this server, so there is no real digit to show. "
                   "Pick the chapter's example or a random map.")
        st.stop()
    x, label = real
    caption = f"Channel {channel} of conv1 (after ReLU) for test digit #{digit_index}, a {label}: what pool1 receives."

try:
    formula = view.size_formula(x.shape[0], kernel_size, stride, padding)
    steps = view.pool_steps(x, kernel_size, stride, padding)  # {mode: [PoolStep, ...]}, shared by every session
except ValueError as exc:
    st.caption(caption)
    error_box(exc)
    st.stop()

n_steps = len(steps["max"])
value_range = (min(float(x.min()), 0.0), float(x.max()))  # one sequential scale for the input and both outputs

# ---- the stepper (reruns on its own while playing) ------------------------------------------------------------
stepper.start("pool", (source, x.shape, kernel_size, stride, padding), n_steps)  # new geometry: window 1
if (linked_step := links.restore("pool_step", links.integer(1, n_steps))) is not None:
    st.session_state.pool_step = linked_step


@st.fragment(run_every=interval)
def stepper_view() -> None:
    lesson = st.container(key="lesson")  # the stepper and the picture: on the first screen in lecture mode
    with lesson:
        k = stepper.controls("pool", n_steps, playing, note=(lambda n: view.step_note(steps["max"], n))
                             if lecture else None)
    links.write("pool_step", str(k) if k > 1 else None)
    current = steps["max"][k - 1]
    window = (*current.rows, *current.cols)
    where = (f"**Step {k}/{n_steps}**: window rows {current.rows[0]}:{current.rows[1]}, "
             f"columns {current.cols[0]}:{current.cols[1]} → output cell {current.out_pos}")
    c_in, c_max, c_avg = lesson.columns([3, 2, 2])
    with c_in:
        fig = view.input_figure(x, padding, window, value_range)
        show_chart(charts.lecture_margins(fig) if lecture else fig,
                   key="pool_in", height=285 if lecture else 360)
        if not lecture:
            st.markdown(where)
    for col, mode, title in ((c_max, "max", "Max pooling"), (c_avg, "avg", "Average pooling")):
        with col:
            fig = view.output_figure(x, kernel_size, stride, padding, mode, k, value_range, title)
            show_chart(charts.lecture_margins(fig) if lecture else fig, key=f"pool_out_{mode}",
                       height=200 if lecture else 260)
            st.code(steps[mode][k - 1].formula, language=None, wrap_lines=True)


stepper_view()
st.markdown(f"**Output size:** {formula}  (per side)")
st.caption(caption)

# ---- translation invariance: the same input, one pixel over ---------------------------------------------------
st.subheader("Move the input by one pixel")
prose("Max pooling reports *what* a window found, not exactly *where*. The arrows move the whole input one "
      "pixel. A pooled value stays the same as long as its window's largest value is still inside that "
      "window after the move, and nothing larger has slid in from the window next door. It changes when the "
      "largest value sat on the edge it moved towards and so crossed into the neighbouring window (marked ✗). "
      "So the invariance is partial: it holds for small moves that keep each maximum inside its window, and "
      "it breaks at window edges. Stacking several pool layers makes the network tolerant of larger moves.")
view.one_pixel_shift(x, (source, x.shape, kernel_size, stride, padding), value_range)

# ---- beneath the stepper ----------------------------------------------------------------------------------
tab_code, tab_shape = st.tabs(["From-scratch code vs PyTorch", "Shape calculator"])
with tab_code:
    view.torch_check(x, kernel_size, stride, padding)
with tab_shape:
    view.shape_calculator(kernel_size, stride, padding)
