"""The class's digit wall and runs board: what students send in, gathered for the whole class.

    ask_digit(store, code, key, 7)                                   # "everyone draw a 7"
    submit_drawing(store, code, student_id, pixels, prediction, probabilities)
    drawings = wall(store, code);  wall_stats(drawings)              # confusion matrix once 5 are in
    files, csv_text = wall_export(drawings)
    share_run(store, code, student_id, {"name": ..., "parameters": ..., "test_accuracy": ..., ...});  runs(...)

A student has one drawing per ask (drawing again replaces it, keeping its place and a hidden flag); a class
holds at most MAX_DRAWINGS drawings and MAX_RUNS runs.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import math
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from cnnviz.class_access import ClassError, check_instructor, guarded, joined, running_class, valid_student
from cnnviz.class_store import Store

IMAGE_SIZE = 28
NUM_CLASSES = 10
MAX_DRAWINGS = 2000              # per class: 40 students x 50 asks
MAX_RUNS = 500                   # per class
MAX_RUN_BYTES = 2000             # one run's record as JSON
RUN_KINDS = ("training run", "design")


@dataclass(frozen=True)
class Ask:
    id: int
    label: int
    asked: float


@dataclass(frozen=True)
class Drawing:
    id: int
    student_id: str
    ask_id: int
    label: int                   # the digit the instructor asked for
    pixels: np.ndarray           # [28, 28] uint8, as drawn (0 background, 255 ink)
    prediction: int              # the model's answer
    probabilities: tuple[float, ...]
    created: float
    hidden: bool


@dataclass(frozen=True)
class WallStats:
    count: int
    correct: int
    accuracy: float
    confusion: np.ndarray        # [10, 10] int: rows the digit asked for, columns the model's answer


def _digit(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < NUM_CLASSES:
        raise ClassError(f"{what} is a digit from 0 to 9, not {str(value)[:20]!r}.")
    return int(value)


def ask_digit(store: Store, code, key, label: int) -> int:
    """The instructor asks every student to draw `label`; returns the ask's id (drawings belong to it)."""
    code = check_instructor(store, code, key)
    label = _digit(label, "The digit asked for")
    values = {"ask_label": str(label), "asked": repr(time.time())}
    return guarded(code, lambda: store.update_state(code, values, bump="ask_id"))


def current_ask(store: Store, code) -> Ask | None:
    state = store.state(running_class(store, code)["code"])
    return Ask(int(state["ask_id"]), int(state["ask_label"]), float(state["asked"])) if "ask_id" in state else None


def _probabilities(values) -> tuple[float, ...]:
    try:
        found = tuple(float(p) for p in np.asarray(values, dtype=float).reshape(-1))
    except (TypeError, ValueError):
        found = ()
    if len(found) != NUM_CLASSES or not all(math.isfinite(p) and 0 <= p <= 1 for p in found) \
            or abs(sum(found) - 1) > 0.01:
        raise ClassError("A drawing's probabilities are 10 numbers from 0 to 1 that add up to 1.")
    return found


def submit_drawing(store: Store, code, student_id, pixels, prediction: int, probabilities) -> int:
    """A student's drawing for the current ask (replacing their earlier one for it); its id on the wall."""
    code, student = running_class(store, code)["code"], valid_student(student_id)
    ask = current_ask(store, code)
    if ask is None:
        raise ClassError("The instructor has not asked for a digit yet.")
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.shape != (IMAGE_SIZE, IMAGE_SIZE):
        shape = getattr(pixels, "shape", None)
        raise ClassError(f"A drawing on the wall is a {IMAGE_SIZE}x{IMAGE_SIZE} picture of bytes (uint8), not "
                         f"{type(pixels).__name__} {shape or ''} {getattr(pixels, 'dtype', '')}".rstrip() + ".")
    record = {"student_id": student, "ask_id": ask.id, "label": ask.label, "created": time.time(),
              "prediction": _digit(prediction, "The model's answer"), "probabilities": _probabilities(probabilities),
              "pixels": base64.b64encode(pixels.tobytes()).decode()}
    slot = f"{ask.id}:{student}"
    joined(store, code, student)
    found = guarded(code, lambda: store.put_item(code, "drawing", slot, json.dumps(record).encode(), MAX_DRAWINGS))
    if found is None:
        raise ClassError(f"The class's wall is full ({MAX_DRAWINGS} drawings).")
    return found


def hide_drawing(store: Store, code, key, drawing_id: int, hidden: bool = True) -> None:
    """The instructor hides a drawing from the wall (or shows it again); it stays out of the statistics."""
    code = check_instructor(store, code, key)
    if not guarded(code, lambda: store.set_hidden(code, "drawing", int(drawing_id), hidden)):
        raise ClassError("There is no such drawing on this class's wall.")


def wall(store: Store, code, include_hidden: bool = False, ask_id: int | None = None) -> list[Drawing]:
    """The class's drawings, oldest first: every ask's (or one ask's), the hidden ones only if asked for."""
    drawings = []
    for item in store.items(running_class(store, code)["code"], "drawing"):
        d = json.loads(item.data)
        pixels = np.frombuffer(base64.b64decode(d["pixels"]), np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)
        drawings.append(Drawing(item.id, d["student_id"], d["ask_id"], d["label"], pixels, d["prediction"],
                                tuple(d["probabilities"]), d["created"], item.hidden))
    return [d for d in drawings if (include_hidden or not d.hidden) and (ask_id is None or d.ask_id == ask_id)]


def wall_stats(drawings: list[Drawing], min_count: int = 5) -> WallStats | None:
    """The confusion matrix and accuracy of the model on the shown drawings; None below `min_count` of them."""
    shown = [d for d in drawings if not d.hidden]
    if len(shown) < min_count or not shown:
        return None
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)  # [10, 10]
    for d in shown:
        confusion[d.label, d.prediction] += 1
    correct = int(np.trace(confusion))
    return WallStats(len(shown), correct, correct / len(shown), confusion)


def wall_export(drawings: list[Drawing]) -> tuple[dict[str, bytes], str]:
    """Each drawing as a PNG (named by its id, the digit asked for and the model's answer) and one CSV."""
    files, out = {}, io.StringIO()
    table = csv.writer(out, lineterminator="\n")
    table.writerow(["file", "drawing_id", "label", "prediction", "probability", "correct"])
    for d in drawings:
        name = f"drawing_{d.id:04d}_label{d.label}_pred{d.prediction}.png"
        png = io.BytesIO()
        Image.fromarray(d.pixels, mode="L").save(png, format="PNG")
        files[name] = png.getvalue()
        table.writerow([name, d.id, d.label, d.prediction, f"{d.probabilities[d.prediction]:.4f}",
                        int(d.label == d.prediction)])
    return files, out.getvalue()


# ---------------------------------------------------------------- runs board

def _run_record(record) -> dict:
    if not isinstance(record, dict):
        raise ClassError("A shared run is a record (name, parameters, test accuracy, ...).")
    name, kind = record.get("name"), record.get("kind", "training run")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 80:
        raise ClassError("A shared run needs a name of up to 80 characters.")
    if kind not in RUN_KINDS:
        raise ClassError(f"A shared run is a {' or a '.join(RUN_KINDS)}.")
    params = record.get("parameters")
    if isinstance(params, bool) or not isinstance(params, (int, np.integer)) or params < 0:
        raise ClassError("A shared run's parameters are a count (a whole number, 0 or more).")
    accuracy = record.get("test_accuracy")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, (int, float))
                                 or not 0 <= accuracy <= 1):
        raise ClassError("A shared run's test accuracy is a fraction from 0 to 1 (or none yet).")
    clean = {**record, "name": name.strip(), "kind": kind, "parameters": int(params), "test_accuracy": accuracy}
    try:
        text = json.dumps(clean, allow_nan=False)
    except (TypeError, ValueError):
        raise ClassError("A shared run's record must be plain data (numbers, texts, lists).") from None
    if len(text) > MAX_RUN_BYTES:
        raise ClassError(f"A shared run's record is limited to {MAX_RUN_BYTES} characters.")
    return clean


def share_run(store: Store, code, student_id, record: dict) -> int:
    """A student shares a run or a design with the class (sharing one of the same name again replaces it)."""
    code, student = running_class(store, code)["code"], valid_student(student_id)
    clean = _run_record(record)
    data = json.dumps({**clean, "student_id": student, "shared": time.time()}).encode()
    slot = f"{student}:{clean['name']}"
    joined(store, code, student)
    found = guarded(code, lambda: store.put_item(code, "run", slot, data, MAX_RUNS))
    if found is None:
        raise ClassError(f"The class's runs board is full ({MAX_RUNS} runs).")
    return found


def runs(store: Store, code) -> list[dict]:
    """Every shared run, first shared first: its record with `id` added."""
    return [{**json.loads(item.data), "id": item.id} for item in store.items(running_class(store, code)["code"], "run")]
