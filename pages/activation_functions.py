"""Activation functions: ReLU, tanh and sigmoid with their slopes, and why the slopes matter in a deep stack."""
import numpy as np
import streamlit as st

from cnnviz import activation_functions as af
from cnnviz_ui import charts
from cnnviz_ui.shell import prose, show_chart

SQUASHERS = ("sigmoid", "tanh", "relu")
LABELS = {"sigmoid": "Sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "Leaky ReLU"}

st.title("Activation functions")
prose(
    "Between a convolution and the pooling that follows it sits a non-linear function applied to every value. "
    "LeNet (1998) used **tanh**; almost every modern CNN uses **ReLU**, max(0, x). The reason is the *slope*: "
    "training sends the error backwards through every layer, multiplying by each activation's derivative on "
    "the way. Sigmoid and tanh flatten out for large |x|, so their derivative there is almost zero."
)

at_x = st.slider("Pre-activation x", -6.0, 6.0, 5.0, 0.1, key="act_x",
                 help="The value going into the activation; the dotted line on the plot.")
cols = st.columns(len(SQUASHERS))
for col, name in zip(cols, SQUASHERS):
    slope = float(af.derivative(name, at_x))
    col.metric(f"{LABELS[name]}′({at_x:g})", f"{slope:.2g}" if slope else "0",
               help=f"{LABELS[name]}(x) = {af.FUNCTIONS[name][2]};  derivative: {af.FUNCTIONS[name][3]}")

xs = np.linspace(-6, 6, 241)
curves = {name: (af.value(name, xs), af.derivative(name, xs)) for name in SQUASHERS}
show_chart(charts.activation_curves(xs, curves, at_x=at_x, title="f(x) solid, f′(x) dashed", labels=LABELS,
                                    y_range=(-1.2, 2.2)),
           key="act_curves", height=380)
prose(
    "Read the dashed lines: sigmoid's slope is never more than 0.25 (at x = 0) and tanh's never more than 1, "
    "and both sink towards zero as |x| grows. ReLU's slope is exactly 1 for every positive x and exactly 0 "
    "for every negative one: nothing in between."
)

# ---- vanishing gradients ----------------------------------------------------------------------------------
st.header("Vanishing gradient through a stack of layers")
c_n, c_x = st.columns(2)
n = c_n.slider("Layers n", 1, 30, 10, key="act_layers")
stack_x = c_x.slider("Pre-activation at every layer", -4.0, 4.0, 2.0, 0.1, key="act_stack_x")
products = {name: af.gradient_through_stack(name, n, stack_x) for name in SQUASHERS}
cols = st.columns(len(SQUASHERS))
for col, name in zip(cols, SQUASHERS):
    final = products[name][-1]
    col.metric(f"{LABELS[name]}: gradient after {n} layers", f"{final:.2g}" if final else "0")
show_chart(charts.gradient_decay(products, labels=LABELS,
                                 title=f"Product of {n} derivatives, each taken at x = {stack_x:g} (log scale)"),
           key="act_decay", height=380)
prose(
    "By the chain rule, the gradient that reaches the first layer is the product of the slopes of all the "
    "layers above it (here every layer gets the same pre-activation and the weights are left out, to isolate "
    "the activation's share). Many factors below 1 multiply to a tiny number: the first layers barely learn. "
    "With ReLU each factor is exactly 1 as long as the unit is active, so the signal arrives intact."
)

# ---- dead ReLU ------------------------------------------------------------------------------------------------
st.header("Dead ReLU, and Leaky ReLU")
xs_small = np.linspace(-3, 1, 161)
c_plot, c_text = st.columns([3, 2])
with c_plot:
    show_chart(charts.relu_and_leaky(xs_small, af.value("relu", xs_small), af.value("leaky_relu", xs_small),
                                     af.LEAKY_SLOPE), key="act_leaky", height=340)
    st.caption(f"On the left the two lines coincide for x > 0 and Leaky ReLU's {af.LEAKY_SLOPE:g}·x is too "
               "small to tell from zero; the right panel magnifies the y-axis for x < 0, where ReLU stays at "
               f"exactly 0 and Leaky ReLU falls gently to {af.LEAKY_SLOPE * xs_small.min():g} at x = "
               f"{xs_small.min():g}.")
with c_text:
    st.metric("ReLU′(−2)", f"{float(af.derivative('relu', -2.0)):g}")
    st.metric("Leaky ReLU′(−2)", f"{float(af.derivative('leaky_relu', -2.0)):g}")
    prose(
        "The catch with ReLU: a unit whose input is negative for *every* example always has slope 0, so its "
        "weights never change again: it is *dead*. Leaky ReLU keeps a small slope (0.01) below zero so such a "
        "unit can recover; He initialisation (weight variance 2 / fan-in) makes it rare for units to start "
        "out dead. On MNIST plain ReLU works well, which is why our network uses it."
    )
