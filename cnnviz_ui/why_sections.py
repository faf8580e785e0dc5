"""The "Why this answer?" page's first three parts on screen: the four maps (the lesson), the honesty check and
the attack. They call the core (cnnviz.explain, cnnviz.attack) for every number and draw with explain_view."""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import streamlit as st

from cnnviz import attack, explain
from cnnviz.evaluate import predict
from cnnviz.preprocess import is_blank, normalize_image28, resize_nearest, to_gray
from cnnviz_ui import explain_view as view
from cnnviz_ui import links, model_charts, visual
from cnnviz_ui.canvas import draw_canvas
from cnnviz_ui.images import digit_image, png_data_url
from cnnviz_ui.models import shipped_model
from cnnviz_ui.shell import error_box, lecture_mode, show_chart

CACHE_KEY = "_why_cache"    # this session's computed maps and attacks: (what, inputs) -> result
CACHE_SIZE = 24
ATTACK_KEY = "_why_attack"  # the last attack: (its inputs' key, result or None)
PREDICTED = "predicted"
MAX_EPSILON = 0.5           # the largest change per pixel the attack tries
INKS = {"white (add ink)": "#FFFFFF", "black (wipe)": "#000000"}  # the canvas's pen: MNIST's ink and its ground


def digest(image28: np.ndarray) -> str:
    """A short fingerprint of a picture: what the session's cache knows it by."""
    a = np.ascontiguousarray(image28, dtype=np.float32)
    return hashlib.blake2b(a.tobytes(), digest_size=12).hexdigest()


def memo(key: tuple, compute: Callable):
    """compute() once per key in this session (the last CACHE_SIZE results are kept)."""
    cache = st.session_state.setdefault(CACHE_KEY, OrderedDict())
    if key not in cache:
        cache[key] = compute()
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


def model_name(loaded) -> str:
    """Which model the page explains, in words: its source and its head ("the shipped checkpoint, FC head")."""
    return f"{loaded.source}, {loaded.head.upper()} head"


def probabilities(model, digit) -> np.ndarray:
    return memo(("p", id(model), digest(digit.image28)), lambda: predict(model, digit.x)[0].numpy())  # [10]


def four_maps(model, image28: np.ndarray, target: int) -> dict[str, np.ndarray]:
    """The four maps of `target`'s logit: method -> [28, 28]."""
    return {name: getattr(explain, name)(model, image28, target) for name in view.METHODS}


def attributions(model, image28: np.ndarray, target: int) -> dict[str, np.ndarray]:
    """The four maps, computed once per (model, digit, class) in this session."""
    return memo(("maps", id(model), digest(image28), target), lambda: four_maps(model, image28, target))


def class_picker(probs: np.ndarray, where) -> int:
    """The class whose score is explained: the predicted one by default, any other on request."""
    best = int(probs.argmax())
    options = [PREDICTED, *map(str, range(probs.size))]

    def label(option: str) -> str:
        k = best if option == PREDICTED else int(option)
        return f"{'the answer, ' if option == PREDICTED else ''}{k} ({visual.percent(probs[k])})"
    choice = where.selectbox("Explain the score of", options, key="why_class", bind=links.BIND, format_func=label)
    return best if choice == PREDICTED else int(choice)


def _row(maps: dict[str, np.ndarray], image28, size: int, target: int, captions: dict[str, str], kind: str,
         columns) -> None:
    for (name, values), column in zip(maps.items(), columns):
        picture = view.attribution_image(values, image28, size=size, font_size=14 if lecture_mode() else 11)
        column.html(view.figure_block_html(png_data_url(picture), picture.width, captions[name], kind,
                                           method=name, target=target))


def maps_lesson(loaded, digit) -> None:
    """The lesson box: class picker, honesty switch and depth, the digit and its four maps (and, with the
    honesty check on, the same four maps on the randomised network with their rank correlations)."""
    model, big = loaded.model, lecture_mode()
    probs = probabilities(model, digit)
    layers = explain.randomizable_layers(model)
    with st.container(key="lesson"):
        pick, honest_box, depth_box = st.columns([1.2, 1, 1.3], vertical_alignment="bottom")
        target = class_picker(probs, pick)
        honest = honest_box.toggle("Honesty check: random weights", key="why_honesty", bind=links.BIND,
                                   help="Recompute the maps on a copy of the network whose weights are re-drawn at "
                                        "random, from the top layer down")
        depth = depth_box.slider("Layers randomised, from the top", 1, len(layers), len(layers), key="why_depth",
                                 bind=links.BIND, disabled=not honest,
                                 format="%d", help=" → ".join(layers) + ": the order in which they are randomised")
        size = (130 if big else 120) if honest else (200 if big else 150)
        try:
            maps = attributions(model, digit.image28, target)
        except ValueError as exc:
            error_box(exc)
            return
        columns = st.columns([0.8, 1, 1, 1, 1], gap="small")
        columns[0].html(view.figure_block_html(png_data_url(digit_image(digit.image28, size=size)), size,
                                               f"the input: the network answers {int(probs.argmax())}", "input",
                                               answer=int(probs.argmax())))
        _row(maps, digit.image28, size, target, {n: f"{t} for {target}" for n, t in view.METHODS.items()},
             "attribution", columns[1:])
        if honest:
            random_maps, rho = randomised_maps(model, digit.image28, target, depth)
            columns = st.columns([0.8, 1, 1, 1, 1], gap="small")
            columns[0].markdown(f"**Random weights**  \n{depth} of {len(layers)} layers re-drawn "
                                f"(down to {layers[depth - 1]})")
            _row(random_maps, digit.image28, size, target,
                 {n: f"rank correlation {visual.number(rho[n])}" for n in view.METHODS},
                 "randomised", columns[1:])
    if honest:
        honesty_verdict(model, digit.image28, target, depth, layers)


def randomised_maps(model, image28, target: int, depth: int) -> tuple[dict, dict]:
    """The four maps on the network with its top `depth` layers randomised, and each one's rank correlation
    with the trained network's map."""
    original = attributions(model, image28, target)
    maps = memo(("random maps", id(model), depth, digest(image28), target),   # the randomised copy is not kept
                lambda: four_maps(explain.randomized(model, seed=0, depth=depth), image28, target))
    return maps, {n: explain.rank_correlation(original[n], maps[n]) for n in view.METHODS}


def honesty_verdict(model, image28, target: int, depth: int, layers: list[str]) -> None:
    """What the check found, in words, and the correlation of every method at every depth."""
    _, rho = randomised_maps(model, image28, target, depth)
    stayed = [view.METHODS[n] for n, r in rho.items() if np.isfinite(r) and r >= 0.5]
    if stayed:
        verb = "ranks" if len(stayed) == 1 else "rank"
        st.warning(f"With {depth} of {len(layers)} layers scrambled, **{' and '.join(stayed)}** still {verb} the "
                   "pixels much as for the trained network (rank correlation 0.5 or more). That part of the picture "
                   "does not come from what the network learned: it comes from the digit itself or from the shape of "
                   "the network. Integrated gradients and occlusion lean on the digit by design: a black pixel is "
                   "the same as their blank starting point (integrated gradients give it exactly 0, and covering "
                   "black with black changes nothing), so the ink ranks first whatever the weights.")
    else:
        st.success(f"With {depth} of {len(layers)} layers scrambled, every map changed (rank correlation under 0.5): "
                   "these maps depend on the trained weights, as an explanation of this network should.")
    with st.expander("Every depth, every method"):
        curves = {n: [randomised_maps(model, image28, target, d)[1][n] for d in range(1, len(layers) + 1)]
                  for n in view.METHODS}
        show_chart(view.correlation_figure(layers, curves, chosen=depth), key="why_correlations",
                   name="rank correlation after randomisation")


def attack_section(loaded, digit):
    """The smallest change that flips the answer and a canvas to fix it; returns the flip shown (or None)."""
    model = loaded.model
    probs = probabilities(model, digit)
    best = int(probs.argmax())
    aim_box, button_box = st.columns([1.5, 1], vertical_alignment="bottom")
    aims = ["any"] + [str(k) for k in range(probs.size) if k != best]
    aim = aim_box.selectbox("Make it answer", aims, key="why_attack_target",
                            format_func=lambda a: "any other digit" if a == "any" else a)
    inputs = (id(model), digest(digit.image28), aim)
    if button_box.button("Attack my digit", key="why_attack", type="primary"):
        with st.spinner("Looking for the smallest change that flips the answer..."):
            try:
                found = attack.smallest_flip(model, digit.image28, target=None if aim == "any" else int(aim),
                                             max_epsilon=MAX_EPSILON)
            except ValueError as exc:
                error_box(exc)
                return None
        st.session_state[ATTACK_KEY] = (inputs, found)
    done = st.session_state.get(ATTACK_KEY)
    if done is None or done[0] != inputs:
        st.caption(f"The network answers {best} now. Press the button to find the smallest change, pixel by pixel, "
                   "that makes it answer something else.")
        return None
    found = done[1]
    if found is None:
        st.info(f"No change of up to {visual.number(MAX_EPSILON)} per pixel made the network answer "
                f"{'anything else' if aim == 'any' else aim}: this digit is hard to flip.")
        return None
    show_flip(found)
    fix_by_hand(model, found)
    return found


def show_flip(found) -> None:
    """The original, the attacked digit, their difference (amplified) and the new probabilities."""
    size = 170 if lecture_mode() else 140
    st.html(f"<div class='cnnviz-flip' data-before='{found.original_label}' data-after='{found.label}' "
            f"data-epsilon='{found.epsilon:.4f}'><b>The network now answers {found.label}</b> "
            f"(it answered {found.original_label}): no pixel changed by more than ε = "
            f"{visual.number(found.epsilon, 3)}, {visual.percent(found.epsilon)} of the way from black to white.</div>")
    cols = st.columns([1, 1, 1.25, 1.4], gap="small")
    cols[0].image(digit_image(found.original, size=size), width=size, caption=f"before: {found.original_label}")
    cols[1].image(digit_image(found.image, size=size), width=size, caption=f"after: {found.label}")
    difference = view.difference_image(found.perturbation, size=size)
    cols[2].image(difference, width=difference.width, caption="the change, amplified (red: brighter, blue: darker)")
    cols[3].html(model_charts.probability_bars_html(found.probabilities, digest(found.image)))


def fix_by_hand(model, found) -> None:
    """The attacked digit on a canvas: the student paints over it and sees the network's answer."""
    st.markdown(f"**Can you fix it by hand?** The attacked digit is on the canvas below: add ink in white or wipe "
                f"some away in black until the network answers {found.original_label} again (undo is on the canvas "
                "toolbar).")
    left, right = st.columns([1.1, 1], gap="medium")
    url = png_data_url(view.canvas_picture(found.image))
    with left:
        ink = st.radio("Ink", list(INKS), horizontal=True, key="why_fix_ink")
        pixels = draw_canvas(f"why_fix_{digest(found.image)}", stroke_width=10, stroke_color=INKS[ink],
                             initial_drawing=view.canvas_drawing(url))
    if pixels is None:     # nothing painted yet: the canvas holds the attacked digit as it is
        image28 = np.asarray(found.image, dtype=np.float32)
    elif is_blank(pixels):
        right.info("The canvas is empty: undo (on its toolbar) to bring the attacked digit back.")
        return
    else:                  # read pixel by pixel in the attacked digit's own 28x28 frame (no new cropping)
        image28 = resize_nearest(to_gray(pixels), 28).astype(np.float32)
    fixed = predict(model, normalize_image28(image28))[0].numpy()   # [10]
    right.html(f"<div class='cnnviz-fixed' data-answer='{int(fixed.argmax())}'>On the canvas the network reads "
               f"<b>{int(fixed.argmax())}</b>.</div>" + model_charts.probability_bars_html(fixed, digest(image28)))


def accuracy_curve(loaded, found=None) -> None:
    """The shipped model's recorded accuracy against ε, with the ε of the flip shown above (`found`) marked."""
    try:
        curves = attack.load_shipped_accuracy_curve()
    except ValueError as exc:
        error_box(exc)
        return
    needed = None if found is None else found.epsilon
    show_chart(view.accuracy_curve_figure({m: curves[m] for m in attack.METHODS}, needed,
                                          height=320 if lecture_mode() else 280),
               key="why_accuracy_curve", name="accuracy against epsilon")
    count = curves[attack.METHODS[0]].get("count")
    recorded = "Recorded for the shipped FC model" + (f" on {count:,} test digits" if count else "")
    other = ("" if loaded.model is shipped_model("fc").model
             else f"; this page explains {model_name(loaded)}, whose curve may differ")
    st.caption(recorded + other + ".")
