"""The "Why this answer?" page's last three parts on screen: where the digit lands on the network's map of
digits (and its nearest training digits), its fate through training, and effective receptive fields. Recorded
data (checkpoints/explain/), the MNIST training digits and the shipped models' features of them are loaded once
per server (read-only); what depends on the session's model or digit is kept in the session."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import streamlit as st
from torch import nn

from cnnviz import effective_rf, embedding, explain, neighbours, snapshots
from cnnviz.model import leaf_layers
from cnnviz.trace import trace
from cnnviz_ui import links, model_charts, visual
from cnnviz_ui import why_map_view as view
from cnnviz_ui.digits import test_digit, test_split
from cnnviz_ui.explain_view import attribution_image
from cnnviz_ui.export import tile
from cnnviz_ui.images import digit_image, feature_grid
from cnnviz_ui.models import conv_layers, frozen, shipped_model
from cnnviz_ui.shell import error_box, lecture_mode, show_chart
from cnnviz_ui.why_sections import digest, memo, model_name

NEIGHBOURS = 8
FIELD_EVAL_DIGITS = 500  # test digits averaged for a model whose fields were not recorded


@st.cache_resource(show_spinner="Loading the recorded map of digits...")
def shipped_map():
    return embedding.load_shipped_map()


@st.cache_resource(show_spinner="Loading the recorded training run...")
def shipped_snapshots():
    return snapshots.load_shipped_snapshots()


@st.cache_resource(show_spinner=False, max_entries=64)
def snapshot_model(i: int):
    """Snapshot i of the recorded run as a model (shared by every user: eval mode, never changed)."""
    return frozen(shipped_snapshots().model(i))


@st.cache_resource(show_spinner=False)
def shipped_fields():
    return effective_rf.load_shipped_fields()


def is_shipped(loaded) -> bool:
    return loaded.model is shipped_model("fc").model


def _model_map(loaded):
    """The map of digits for the session's model: recorded for the shipped one, else computed once (needs MNIST)."""
    if is_shipped(loaded):
        return shipped_map()[0]
    split, _ = test_split()
    if split is None:
        return None
    with st.spinner(f"Placing {embedding.MAP_SIZE:,} test digits as this model sees them (once per model)..."):
        return memo(("map", id(loaded.model)), lambda: embedding.digit_map(loaded.model, split))


@st.cache_resource(show_spinner="Loading the MNIST training digits...")
def _training_pixels():
    """The training split's pixels uint8 [60000, 28, 28] and labels, shared by every user (read-only). Raises
    without MNIST (and a raise is not cached, so a later download is seen); the normalised copy is not kept."""
    from cnnviz.data import load_split  # imported here, as digits.test_split does
    split = load_split("train", download=False)  # a page never waits on the network
    return split.raw, split.labels


def training_pixels():
    """(pixels, labels) of the MNIST training digits, or None when they are not on this server."""
    try:
        return _training_pixels()
    except Exception:  # MissingDataError, CorruptDataError: the page falls back to the mapped test digits
        return None


_early = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnnviz-training-bank")
_early_banks: dict[str, Future] = {}  # per head: the shipped model's features of the training digits (read-only)
_early_lock = threading.Lock()


def _is_shipped_head(loaded) -> bool:
    return loaded.shipped and loaded.model is shipped_model(loaded.head).model


def start_training_bank(loaded) -> Future | None:
    """For a shipped model, the computation of its features of the training digits: begun in the background on
    the first call (once per server process and head; the thread runs the core only, on the pixels read here),
    so "Where my digit lands" seldom waits for it. None for another model or without the training digits."""
    if not _is_shipped_head(loaded):
        return None
    found = training_pixels()
    if found is None:
        return None
    with _early_lock:
        if loaded.head not in _early_banks:
            _early_banks[loaded.head] = _early.submit(neighbours.split_features, loaded.model, *found, "train")
        return _early_banks[loaded.head]


def shipped_training_bank(head: str) -> neighbours.FeatureBank:
    """The shipped model's features of the 60,000 training digits, once `start_training_bank` has begun them."""
    return _early_banks[head].result()


def training_bank(loaded) -> neighbours.FeatureBank | None:
    """The session model's features of the training digits, computed once per model; None without them."""
    found = training_pixels()
    if found is None:
        return None
    spinner = (f"Computing how this model sees the {len(found[1]):,} training digits, to find the nearest "
               "(once per model)...")
    with st.spinner(spinner):
        shipped = start_training_bank(loaded)
        if shipped is not None:
            return shipped.result()
        return memo(("training features", id(loaded.model)),
                    lambda: neighbours.split_features(loaded.model, *found, "train"))


def landing_section(loaded, digit) -> None:
    """The 2-D map with the digit placed live, and its nearest training digits (in the full layer) with their
    labels; the nearest of the mapped test digits where the training digits are not on the server."""
    model = loaded.model
    try:
        digits = _model_map(loaded)
        if digits is None:
            st.info(f"The map of digits is recorded for the shipped model only. For {model_name(loaded)} it is "
                    "made from the MNIST test digits, which are not on this server yet (the Evaluation page can "
                    "download them).")
            return
        bank = training_bank(loaded)
    except ValueError as exc:
        error_box(exc)
        return
    feats = memo(("features", id(model), digest(digit.image28)), lambda: embedding.digit_features(model, digit.image28))
    placed = digits.projection.place(feats)                                       # [2]
    searched = bank if bank is not None else neighbours.map_bank(digits)
    near = neighbours.nearest_digits(searched, feats, k=NEIGHBOURS)
    coords, map_labels, ringed = digits.coords, digits.labels, near.rows
    if near.split == "train":  # not on the map: placed on it by the same two directions, and ringed there
        coords = np.vstack([coords, digits.projection.place(bank.features[near.rows])])       # [N + k, 2]
        map_labels, ringed = np.concatenate([map_labels, near.labels]), np.arange(len(digits.coords), len(coords))
    left, right = st.columns([1.7, 1], gap="medium")
    with left:
        show_chart(view.digit_map_figure(coords, map_labels, placed, ringed, height=440 if lecture_mode() else 400),
                   key="why_digit_map", name="map of digits")
        st.caption(f"{len(digits.labels):,} test digits; the two directions keep "
                   f"{visual.percent(float(np.sum(digits.explained)))} of how their features vary. Ringed: its "
                   + ("nearest training digits, placed by the same two directions." if bank is not None
                      else "nearest of these test digits."))
    with right:
        show_neighbours(near, len(searched))


def show_neighbours(near: neighbours.Neighbours, searched: int) -> None:
    """Which digits the network puts closest to this one (labels, pictures, distances) and which set they are from."""
    labels = [int(label) for label in near.labels]
    training = near.split == "train"
    if not training:
        st.info("The MNIST training digits are not on this server, so these are the nearest of the mapped test "
                "digits instead.")
    which = "training digits" if training else "test digits on the map"
    common = max(set(labels), key=labels.count)
    st.html(f"<div class='cnnviz-neighbours' data-source='{near.split}' data-labels='{','.join(map(str, labels))}' "
            f"data-indices='{','.join(str(int(i)) for i in near.indices)}'><b>Its {len(labels)} nearest {which}"
            f"</b> (of {searched:,}, measured in the network's layer) are labelled {', '.join(map(str, labels))}: "
            + (f"all {common}s.</div>" if labels.count(common) == len(labels)
               else f"mostly {common}s ({labels.count(common)} of {len(labels)}).</div>"))
    if training:
        raw = training_pixels()[0]
        found = [np.asarray(raw[int(i)]) for i in near.indices]                    # uint8 [28, 28] each
    else:
        found = [None if d is None else d[1] for d in (test_digit(int(i)) for i in near.indices)]
    if any(f is None for f in found):
        st.info("Their pictures need the MNIST test digits, which are not on this server: only their labels "
                "were recorded with the map.")
        return
    captions = [f"{lab}  d={visual.number(d, 1)}" for lab, d in zip(labels, near.distances)]
    st.image(tile([digit_image(f / 255.0, size=56) for f in found], cols=4, captions=captions, font_size=12),
             width="content", caption=f"the nearest {which}: label and distance")


def replayed_run(loaded):
    """(snapshots, own): the run that trained the session's model when it was kept here (a run on the Training
    page or in the Design lab), else the recorded run of the shipped recipe."""
    own = getattr(loaded, "snapshots", None)
    return (own, True) if own is not None else (shipped_snapshots(), False)


def training_section(loaded, digit) -> None:
    """A slider over a run's snapshots: the digit's probabilities, the first layer's filters and Grad-CAM."""
    try:
        run, own = replayed_run(loaded)
    except ValueError as exc:
        error_box(exc)
        return
    count, tag = len(run), ("own", id(run)) if own else ("shipped",)
    probs = memo(("replay", *tag, digest(digit.image28)),
                 lambda: snapshots.probabilities(run, digit.image28))                # [S, 10]
    final = int(probs[-1].argmax())
    if not 0 <= st.session_state.get("why_snapshot", 0) < count:  # a longer run was replayed before
        st.session_state["why_snapshot"] = count - 1
    i = st.select_slider("Training step", options=list(range(count)), value=count - 1, key="why_snapshot",
                         bind=links.BIND, format_func=lambda k: f"{run.steps[k]:,}")
    model = memo(("snapshot_model", *tag, i), lambda: frozen(run.model(i))) if own else snapshot_model(i)
    answer = int(probs[i].argmax())
    cam = memo(("snapshot_cam", *tag, digest(digit.image28), i),
               lambda: explain.grad_cam(model, digit.image28, answer))
    (first_name, first), = conv_layers(model)[:1]
    weights = first.weight.detach().numpy()                                         # [C_out, C_in, k, k]
    maps = first_activation(model, digit.x)                                         # [C, h, w]
    size = 170 if lecture_mode() else 140
    cols = st.columns([1.1, 1.3, 1.3, 1], gap="medium")
    cols[0].html(f"<div class='cnnviz-snapshot' data-step='{run.steps[i]}' data-answer='{answer}'><b>Step "
                 f"{run.steps[i]:,}</b>: the network answers <b>{answer}</b></div>"
                 + model_charts.probability_bars_html(probs[i], f"{digest(digit.image28)}-{i}"))
    cols[1].image(feature_grid(weights.reshape(-1, *weights.shape[-2:]), cols=4, cell=36, labels=False),
                  caption="the first layer's filters (red: positive weights, blue: negative)", width="content")
    if maps is not None:
        cols[2].image(feature_grid(maps, cols=4, cell=maps.shape[-1], labels=False), width="stretch",
                      caption=f"what those filters make of your digit (after {first_name}'s activation)")
    cam_picture = attribution_image(cam, digit.image28, size=size)
    cols[3].image(cam_picture, width=cam_picture.width, caption=f"Grad-CAM for {answer} at this step")
    show_chart(view.training_figure(run.steps, probs[:, final], run.accuracy, i, final,
                                    height=260 if lecture_mode() else 230), key="why_training_curve",
               name="through training")
    if own:
        st.caption(f"Replaying your own run: {count} snapshots kept while it trained, from its initialisation "
                   f"(step 0) to step {run.steps[-1]:,}.")
    elif not is_shipped(loaded):
        st.caption(f"A recorded run of the shipped FC model's recipe, not of {model_name(loaded)}.")


def first_activation(model, x) -> np.ndarray | None:
    """The feature maps [C, h, w] of the model's first activation layer on x (None if it has none)."""
    kinds = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid)
    name = next((n for n, m in leaf_layers(model) if isinstance(m, kinds)), None)
    if name is None:
        return None
    return trace(model, x)[name][0].numpy()                                         # [C, h, w]


def fields_section(loaded) -> None:
    """Effective receptive fields of each conv layer's centre unit, at initialisation and after training."""
    try:
        fields, _ = shipped_fields()
    except ValueError as exc:
        error_box(exc)
        return
    if not is_shipped(loaded):
        st.caption(f"Recorded for the shipped FC model, not for {model_name(loaded)}.")
    size = 150 if lecture_mode() else 120
    by_layer = {}
    for state in ("initial", "trained"):
        for f in fields.get(state, []):
            by_layer.setdefault(f.layer, {})[state] = f
    columns = iter(st.columns(2 * max(len(by_layer), 1), gap="small"))
    for layer, states in by_layer.items():
        for state, when in (("initial", "at initialisation"), ("trained", "trained")):
            column = next(columns)
            f = states.get(state)
            if f is None:
                continue
            picture = view.effective_field_image(f.gradient, f.box, size=size)
            column.image(picture, width=picture.width, caption=f"{layer}, {when}: " + field_caption(f))


def field_caption(f) -> str:
    """How concentrated the effective field is inside its theoretical box, in words."""
    side = f.box[1] - f.box[0]
    margin = side // 4
    if margin == 0:
        return f"box {side}×{side}"
    inner = side - 2 * margin
    share = visual.percent(f.mass_inside(margin), 0)
    return f"box {side}×{side}; {share} of the gradient in its central {inner}×{inner}"
