"""The design lab's runs: the designs a student keeps in the session (trained here, a preset's recorded run,
an uploaded checkpoint), training one in a worker process through the server's job manager, and using,
downloading or deleting a kept design. Streamlit glue only: the core trains, counts and checks."""
from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st
from torch import nn

from cnnviz import checkpoint, design, presets
from cnnviz.jobs import DataFiles, JobLimitError
from cnnviz.model import ModelConfig
from cnnviz_ui.export import file_name
from cnnviz_ui.models import LoadedModel, frozen, load_upload, set_active_model

DESIGNS_KEY = "_dl_designs"   # name -> KeptDesign, in the order they were kept
JOB_KEY = "_dl_job"           # (job, name, budget) of the run started on this page
MAX_KEPT = 8                  # designs a session keeps (each holds its weights)
CHAPTER_RUN = "the chapter's design (recorded)"


@dataclass
class KeptDesign:
    name: str
    config: ModelConfig
    source: str                   # "trained here", "recorded run", "uploaded"
    metadata: dict = field(default_factory=dict)
    model: nn.Module | None = None  # None: a preset's recorded weights (loaded when used) or none shipped
    preset: str | None = None
    snapshots: object | None = None  # cnnviz.snapshots.Snapshots of a run trained here (replayed on the Why page)


def kept() -> dict[str, KeptDesign]:
    return st.session_state.setdefault(DESIGNS_KEY, {})


def keep(entry: KeptDesign) -> str | None:
    """Add a design (the same name replaces it); the reason when the session already keeps MAX_KEPT."""
    designs = kept()
    if entry.name not in designs and len(designs) >= MAX_KEPT:
        return f"You keep {MAX_KEPT} designs already: delete one before adding {entry.name!r}."
    designs[entry.name] = entry
    return None


def delete(name: str) -> None:
    kept().pop(name, None)


def new_name(base: str) -> str:
    """`base`, or `base (2)`, ... : a name no kept design has."""
    names, n = kept(), 2
    name = base
    while name in names:
        name, n = f"{base} ({n})", n + 1
    return name


@st.cache_resource(show_spinner="Loading the recorded model...")
def recorded_model(key: str):
    """A preset's shipped model (shared by every session: eval mode, never trained)."""
    model, metadata = presets.recorded_model(key)
    return frozen(model), metadata


def keep_preset(key: str) -> str | None:
    """A preset's recorded run joins the comparison (its weights, when shipped, load when used)."""
    p = presets.preset(key)
    return keep(KeptDesign(p.title, p.config, "recorded run", presets.recorded_run(key), preset=key))


def model_of(entry: KeptDesign) -> tuple[nn.Module, dict]:
    """(model, metadata) of a kept design; ValueError when its weights are not shipped."""
    if entry.model is not None:
        return entry.model, entry.metadata
    if entry.preset is None:
        raise ValueError(f"{entry.name!r} has no weights")
    return recorded_model(entry.preset)


def use(entry: KeptDesign) -> None:
    """Make a kept design the model every other page shows."""
    model, metadata = model_of(entry)
    set_active_model(LoadedModel(model, source=f"your design '{entry.name}'", metadata=metadata,
                                 snapshots=entry.snapshots))


def checkpoint_bytes(entry: KeptDesign) -> bytes:
    model, metadata = model_of(entry)
    return checkpoint.to_bytes(model, metadata)


def download_name(entry: KeptDesign) -> str:
    return file_name(f"design {entry.name}") + ".safetensors"


def keep_upload(data: bytes, filename: str) -> KeptDesign:
    """An uploaded checkpoint, loaded as safely as everywhere else (CheckpointError otherwise), kept."""
    loaded = load_upload(data, filename)
    entry = KeptDesign(new_name(filename.rsplit(".", 1)[0]), loaded.model.config, "uploaded", loaded.metadata,
                       loaded.model)
    reason = keep(entry)
    if reason:
        raise ValueError(reason)
    return entry


def comparison_entry(entry: KeptDesign, chapter: bool = False) -> dict:
    """What the comparison table and chart show of a design: its size from the core, its run's numbers."""
    summary = design.summarize(entry.config)
    numbers = presets.run_numbers(entry.metadata)
    return {"name": entry.name, "source": entry.source, "params": summary.params, "rf_size": summary.rf_size,
            "macs": summary.macs, "test_acc": numbers["test_acc"], "seconds": numbers["seconds"],
            "images_per_sec": numbers["images_per_sec"], "points": numbers["test_curve"], "chapter": chapter}


def comparison_entries() -> list[dict]:
    """The chapter's recorded run first (the reference), then every kept design."""
    rows = []
    try:
        chapter = presets.preset("chapter")
        rows.append(comparison_entry(KeptDesign(CHAPTER_RUN, chapter.config, "recorded run",
                                                presets.recorded_run("chapter")), chapter=True))
    except ValueError:  # its file is missing: the student's designs are still compared
        pass
    return rows + [comparison_entry(e) for e in kept().values()]


# ---- training a design ---------------------------------------------------------------------------------------

def job_manager():
    """The server's one job manager, the one the Training page uses (its limit counts both pages' runs)."""
    from cnnviz_ui.training_view import job_manager as manager
    return manager()


def owner() -> str:
    """This session's key for its design-lab run (beside its Training-page run)."""
    from cnnviz_ui.training_view import owner_id
    return f"{owner_id()}-design"


def training_page_busy() -> bool:
    """True while this session's run on the Training page is going (one run per student at a time)."""
    from cnnviz_ui.training_view import owner_id
    job = job_manager().get(owner_id())
    return job is not None and job.active


def current_job():
    """(job, name, budget) of this session's design run, or None."""
    held = st.session_state.get(JOB_KEY)
    if held is None or job_manager().get(owner()) is not held[0]:
        return None
    return held


def start(config: ModelConfig, name: str, budget_s: float) -> None:
    """Train `config` with the lab's recipe in a worker process; raises ValueError (said on the page)."""
    if training_page_busy():
        raise ValueError("your run on the Training page is still going: stop it there, or wait for it to end "
                         "(one run per student at a time)")
    train_config = presets.lab_recipe(config, device="cpu")
    try:
        job = job_manager().start(owner(), train_config, DataFiles("train"), DataFiles("test"))
    except JobLimitError as exc:
        raise ValueError(f"training is busy: {exc}") from None
    st.session_state[JOB_KEY] = (job, name, float(budget_s))


def keep_finished(job, name: str) -> str | None:
    """Once a run has finished, keep it (once) as a design; the reason if it cannot be kept."""
    if st.session_state.get("_dl_kept_pid") == job.pid:
        return None
    st.session_state["_dl_kept_pid"] = job.pid
    model = job.copy_model()
    metadata = job.metadata()
    if (metadata.get("final") or {}).get("test_acc") is None:  # stopped by its budget before its first test
        metadata = tested_now(model, metadata)
    return keep(KeptDesign(new_name(name), model.config, "trained here", metadata, model,
                           snapshots=job.snapshots()))


def tested_now(model: nn.Module, metadata: dict) -> dict:
    """The run's metadata with its final test accuracy measured now on the MNIST test split (the server's
    shared copy), for a run stopped before its first evaluation; unchanged without MNIST."""
    from cnnviz.evaluate import evaluate
    from cnnviz_ui.digits import test_split
    split, _ = test_split()
    if split is None:
        return metadata
    result = evaluate(model, split)
    final = dict(metadata.get("final") or {}, test_acc=result["accuracy"], test_loss=result["loss"])
    return dict(metadata, final=final, tested_after_stop=True)
