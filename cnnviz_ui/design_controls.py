"""The design lab's controls: the chapter's design decisions as widgets, one column per conv block, each row
beside the chapter's choice and its reason. Values <-> ModelConfig, kept across page visits."""
from __future__ import annotations

import streamlit as st

from cnnviz.model import ACTIVATIONS, POOLS, ConvBlock, ModelConfig
from cnnviz.presets import DECISIONS, PRESETS, matching_preset, preset
from cnnviz_ui import links

MAX_BLOCKS = 4
STORE = "_dl_values"      # the controls' values, outside any widget's key: they survive a visit to another page
PRESET_KEY = "dl_preset"

CHANNELS = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128)
KERNELS = (1, 2, 3, 4, 5, 6, 7)
PADDINGS = ("same", "valid", 1, 2, 3)
STRIDES = (1, 2, 3)
POOL_SIZES = (2, 3, 4)
POOL_STRIDES = ("size", 1, 2, 3)  # "size": the stride equals the pool size (ConvBlock's None)
HIDDEN = (16, 32, 64, 128, 256, 512)
DROPOUTS = (0.0, 0.1, 0.25, 0.5, 0.75)
ACTIVATION_TITLES = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "tanh": "tanh", "sigmoid": "sigmoid"}
POOL_TITLES = {"max": "max", "avg": "average", "none": "none"}
HEAD_TITLES = {"fc": "flatten + fully connected", "gap": "global average pooling"}
PRESET_TITLES = {key: p.title for key, p in PRESETS.items()}

# per-block decision -> (row title, options, how an option is written, widget kind)
BLOCK_ROWS = {
    "channels": ("Channels", CHANNELS, str),
    "kernel_size": ("Kernel size", KERNELS, lambda k: f"{k} × {k}"),
    "padding": ("Padding", PADDINGS, str),
    "stride": ("Stride", STRIDES, str),
    "activation": ("Activation", tuple(ACTIVATIONS), lambda a: ACTIVATION_TITLES.get(a, a)),
    "batch_norm": ("Batch norm", (False, True), lambda b: "yes" if b else "no"),
    "pool": ("Pooling", POOLS, lambda p: POOL_TITLES.get(p, p)),
    "pool_size": ("Pool size", POOL_SIZES, lambda k: f"{k} × {k}"),
    "pool_stride": ("Pool stride", POOL_STRIDES, lambda s: "= size" if s == "size" else str(s)),
}
ROW_DECISION = {"channels": "channels", "kernel_size": "kernel_size", "padding": "padding", "stride": "stride",
                "activation": "activation", "batch_norm": "batch_norm", "pool": "pool"}


def key(i: int, name: str) -> str:
    """The widget key of block i's decision `name`."""
    return f"dl_b{i}_{name}"


def values_from_config(config: ModelConfig) -> dict:
    """Every control's value for a design (blocks past the design's last take the last block's values)."""
    values = {"dl_blocks": len(config.blocks), "dl_head": config.head, "dl_hidden_n": len(config.hidden),
              "dl_dropout": config.dropout}
    for j in range(2):
        values[f"dl_hidden_{j}"] = config.hidden[j] if j < len(config.hidden) else 128
    for i in range(MAX_BLOCKS):
        block = config.blocks[min(i, len(config.blocks) - 1)]
        for name in BLOCK_ROWS:
            values[key(i, name)] = getattr(block, name)
        if block.pool_stride is None:
            values[key(i, "pool_stride")] = "size"
    return values


def config_from_values(values: dict) -> ModelConfig:
    """The design the controls describe; the core's ValueError when it cannot work."""
    blocks = []
    for i in range(int(values["dl_blocks"])):
        settings = {name: values[key(i, name)] for name in BLOCK_ROWS}
        settings["pool_stride"] = None if settings["pool_stride"] == "size" else settings["pool_stride"]
        blocks.append(ConvBlock(**settings))
    head = values["dl_head"]
    hidden = () if head == "gap" else tuple(int(values[f"dl_hidden_{j}"]) for j in range(int(values["dl_hidden_n"])))
    return ModelConfig(blocks=tuple(blocks), head=head, hidden=hidden, dropout=float(values["dl_dropout"]))


def load_design(config: ModelConfig) -> None:
    """Set every control to `config` (a preset picked, a design reopened or uploaded)."""
    values = values_from_config(config)
    st.session_state.update(values)
    st.session_state[STORE] = values
    st.session_state[PRESET_KEY] = matching_preset(config) or st.session_state.get(PRESET_KEY, "chapter")


def _linked_preset() -> str:
    """The preset a link asked for (by key or by title), else the chapter's design."""
    asked = links.read(PRESET_KEY)
    return next((k for k, title in PRESET_TITLES.items() if asked in (k, title)), "chapter")


def _restore() -> None:
    """Give each control its kept value (first visit: the linked preset's design, else the chapter's) unless
    its widget has one now."""
    if STORE not in st.session_state:
        st.session_state[STORE] = values_from_config(preset(_linked_preset()).config)
    for name, value in st.session_state[STORE].items():
        st.session_state.setdefault(name, value)


def _picked() -> None:
    load_design(preset(st.session_state[PRESET_KEY]).config)


def preset_picker(where=st) -> str:
    """The preset select box; picking one loads its design into the controls. Returns its key."""
    _restore()
    return where.selectbox("Start from a preset", list(PRESETS), key=PRESET_KEY, on_change=_picked,
                           format_func=links.labelled(PRESET_KEY, PRESET_TITLES), bind=links.BIND,
                           help="Each preset changes one decision of the chapter's design; its recorded run "
                                "is shipped, so you can compare without training.")


def _with(options: tuple, value) -> tuple:
    """The options, plus a kept value that is not among them (an uploaded design's 20 channels)."""
    return options if value in options or value is None else (*options, value)


def _chapter_note(column, decision: str, brief: bool) -> None:
    d = DECISIONS[decision]
    column.caption(f"**{d.choice}**" + ("" if brief else f": {d.reason}"))


def editor(brief: bool = False) -> dict:
    """The decisions as rows of widgets: block columns, then the chapter's choice (and reason unless `brief`).
    Returns the controls' values (also kept in the session for the next visit)."""
    _restore()
    state = st.session_state
    top = st.columns([1.1, 4.4, 2.4], vertical_alignment="center")
    top[0].markdown("**Conv blocks**")
    n = int(top[1].segmented_control("Conv blocks", list(range(1, MAX_BLOCKS + 1)), key="dl_blocks",
                                     required=True, label_visibility="collapsed") or 1)
    _chapter_note(top[2], "blocks", brief)
    widths = [1.1] + [1.1] * MAX_BLOCKS + [2.4]  # a block's column keeps its width, whatever their number
    header = st.columns(widths)
    for i in range(n):
        header[1 + i].markdown(f"*Block {i + 1}*")
    header[-1].markdown("*The chapter's choice*")
    for name, (title, options, shown) in BLOCK_ROWS.items():
        row = st.columns(widths, vertical_alignment="center")
        row[0].markdown(title)
        for i in range(n):
            k = key(i, name)
            if name == "batch_norm":
                row[1 + i].checkbox(f"Block {i + 1} {title.lower()}", key=k, label_visibility="collapsed")
            else:
                unused = name in ("pool_size", "pool_stride") and state.get(key(i, "pool")) == "none"
                row[1 + i].selectbox(f"Block {i + 1} {title.lower()}", _with(options, state.get(k)), key=k,
                                     format_func=shown, label_visibility="collapsed", disabled=unused)
        if name in ROW_DECISION:
            _chapter_note(row[-1], ROW_DECISION[name], brief)
    _head_rows(brief)
    values = {k: state[k] for k in state[STORE] if k in state}
    state[STORE] = {**state[STORE], **values}
    return dict(state[STORE])


def _head_rows(brief: bool) -> None:
    state = st.session_state
    widths = [1.1, 4.4, 2.4]
    row = st.columns(widths, vertical_alignment="center")
    row[0].markdown("Head")
    head = row[1].radio("Head", list(HEAD_TITLES), key="dl_head", format_func=HEAD_TITLES.get, horizontal=True,
                        label_visibility="collapsed")
    _chapter_note(row[2], "head", brief)
    if head == "fc":
        row = st.columns(widths, vertical_alignment="center")
        row[0].markdown("Hidden layers")
        inner = row[1].columns(3)
        count = inner[0].selectbox("Hidden layers", (0, 1, 2), key="dl_hidden_n", label_visibility="collapsed",
                                   format_func=lambda c: f"{c} hidden")
        for j in range(int(count)):
            inner[1 + j].selectbox(f"Hidden layer {j + 1} size", _with(HIDDEN, state.get(f"dl_hidden_{j}")),
                                   key=f"dl_hidden_{j}",
                                   label_visibility="collapsed")
        _chapter_note(row[2], "hidden", brief)
        row = st.columns(widths, vertical_alignment="center")
        row[0].markdown("Dropout")
        row[1].select_slider("Dropout", DROPOUTS, key="dl_dropout", label_visibility="collapsed",
                             format_func=lambda p: f"{p:g}")
        _chapter_note(row[2], "dropout", brief)
    else:
        state.setdefault("dl_hidden_n", 0)
    row = st.columns(widths, vertical_alignment="center")
    row[0].markdown("Output")
    row[1].markdown("ten raw scores")
    _chapter_note(row[2], "output", brief)
