"""Which model a session is looking at: the shipped checkpoint (shared, read-only) or the user's own (a design
from the Design lab, a training run, an upload), and the line every model page shows to say which."""
from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st
import torch
from torch import nn

from cnnviz.checkpoint_header import recorded_accuracy
from cnnviz.layers import LayerSpec, layer_specs
from cnnviz.model import GAP_CONFIG, DigitCNN, ModelConfig, count_parameters
from cnnviz_ui.shell import lecture_mode

ACTIVE_KEY = "active_model"
SERVER_THREADS = 1   # torch intra-op threads for the whole server (see use_server_threads)


@dataclass
class LoadedModel:
    model: torch.nn.Module          # eval mode; never trained in place
    source: str                     # e.g. "shipped checkpoint", "your design 'wide'", "uploaded file.safetensors"
    metadata: dict = field(default_factory=dict)
    shipped: bool = False           # True only for the checkpoints in checkpoints/ (shared by every user)
    snapshots: object | None = None  # cnnviz.snapshots.Snapshots of the run that trained it here, if kept

    @property
    def test_accuracy(self) -> float | None:
        return recorded_accuracy(self.metadata)

    @property
    def head(self) -> str:
        config = getattr(self.model, "config", None)
        return getattr(config, "head", "fc")


def frozen(model: nn.Module) -> nn.Module:
    """Eval mode and no gradients: a model that is only looked at."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def use_server_threads() -> None:
    """One intra-op thread for the whole server, set before the first forward pass: every session's rerun
    runs in its own thread, and several OpenMP threads per forward pass only wait on each other when a
    class shares two cores. Training jobs set their own count."""
    if torch.get_num_threads() != SERVER_THREADS:
        torch.set_num_threads(SERVER_THREADS)


@st.cache_resource(show_spinner=False)
def shipped_model(head: str = "fc") -> LoadedModel:
    """The checkpoint shipped in checkpoints/ (shared by every user: eval mode, read-only)."""
    use_server_threads()
    try:
        from cnnviz.checkpoint import load, shipped_path
        model, meta = load(shipped_path(head))
        source = "the shipped checkpoint"
    except Exception as exc:  # no checkpoint yet: an untrained model, said plainly
        torch.manual_seed(0)
        model, meta = DigitCNN(GAP_CONFIG if head == "gap" else ModelConfig()), {"error": str(exc)}
        source = "an untrained model (no shipped checkpoint found)"
    return LoadedModel(frozen(model), source, meta, shipped=True)


def active_model() -> LoadedModel:
    """The model this session's pages use: the user's own if they made one active, else the shipped one."""
    use_server_threads()
    return st.session_state.get(ACTIVE_KEY) or shipped_model("fc")


def set_active_model(loaded: LoadedModel | None) -> None:
    """Make a model active for this session only (None: back to the shipped one)."""
    if loaded is None:
        st.session_state.pop(ACTIVE_KEY, None)
    else:
        frozen(loaded.model)
        st.session_state[ACTIVE_KEY] = loaded


def load_upload(data: bytes, filename: str) -> LoadedModel:
    """A checkpoint file uploaded by the user -> LoadedModel; raises CheckpointError (a ValueError) if invalid."""
    from cnnviz.checkpoint import load_bytes
    model, meta = load_bytes(data, filename)
    return LoadedModel(frozen(model), f"uploaded {filename}", meta)


def conv_specs(model: nn.Module) -> list[LayerSpec]:
    """The description (cnnviz.layers) of every convolution layer, in execution order."""
    return [spec for spec in layer_specs(model) if spec.kind == "conv"]


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """(name, layer) of every convolution layer, in execution order."""
    return [(spec.name, spec.module) for spec in conv_specs(model)]


# -- which model a page shows -----------------------------------------------------------------------------------

def structure(model: nn.Module) -> str:
    """The model in a few words, read from the model: "2 conv blocks, FC head, 206,922 parameters"."""
    convs = len(conv_specs(model))
    config = getattr(model, "config", None)
    head = {"fc": "FC head", "gap": "GAP head"}.get(getattr(config, "head", None), "")
    parts = [f"{convs} conv block{'s' if convs != 1 else ''}", head, f"{count_parameters(model):,} parameters"]
    return ", ".join(p for p in parts if p)


def showing(loaded: LoadedModel) -> str:
    """What a model page says it shows: "Showing: your design 'wide' (3 conv blocks, FC head, 71,234 parameters)"."""
    return f"Showing: {loaded.source} ({structure(loaded.model)})"


def show_which_model(loaded: LoadedModel, key: str) -> None:
    """The line every model page starts with: which model it shows, and (for a student's own model) a way back
    to the shipped one."""
    if loaded.shipped or loaded is not st.session_state.get(ACTIVE_KEY):
        st.caption(showing(loaded))
        return
    text, back = st.columns([5, 2], vertical_alignment="center")
    why = "" if lecture_mode() else ". The Design lab and the Training page choose which model the pages show"
    text.caption(showing(loaded) + why)           # lecture mode: one line, the lesson stays on the first screen
    if back.button("Back to the shipped model", key=f"{key}_shipped", icon=":material/undo:",
                   help="Every page shows the checkpoint shipped with the app again (your model stays in the lab)"):
        set_active_model(None)
        st.rerun()
