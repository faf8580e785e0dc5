"""The Class page's pictures and helpers: the join code with its QR code, the answers' histogram, the digit wall,
the runs board, and `share_model` (any page can share the session's model with its class)."""
from __future__ import annotations

import html
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
import segno

from cnnviz_ui import visual
from cnnviz_ui.images import digit_image, png_data_url

# ---------------------------------------------------------------- start and join

JOIN_PARAM = "join"   # /class_session?join=CODE opens the Class page with the code filled in


def join_url(base: str, code: str) -> str:
    """The address a student's phone opens from the QR code: the Class page with the code filled in."""
    return f"{base.rstrip('/')}/class_session?{JOIN_PARAM}={code}"


def qr_data_url(text: str, scale: int = 8) -> str:
    """`text` as a QR code, an SVG data URL for an <img> (dark modules in the text colour on white, with its
    quiet zone)."""
    return segno.make(text, error="m").svg_data_uri(scale=scale, dark=visual.TEXT, light=visual.BACKGROUND_RGB)


def join_code_html(code: str, url: str) -> str:
    """The join code, large enough to read across a room, beside its QR code and the address."""
    spaced = f"{code[:3]} {code[3:]}" if len(code) == 6 else code
    link = f"<div style='font-size:0.95rem;color:{visual.MUTED};word-break:break-all'>{html.escape(url)}</div>" if url \
        else ""
    return (f"<div class='cnnviz-join' data-code='{html.escape(code)}' style='display:flex;gap:2rem;"
            f"align-items:center;flex-wrap:wrap'>"
            f"<div><div style='font-size:1.1rem;color:{visual.MUTED}'>Join code</div>"
            f"<div style='font-size:4.2rem;font-weight:700;letter-spacing:0.15em;font-family:monospace;"
            f"color:{visual.TEXT}'>{html.escape(spaced)}</div>{link}</div>"
            f"<img class='cnnviz-qr' src='{qr_data_url(url or code)}' alt='QR code: {html.escape(url or code)}' "
            f"style='width:220px;max-width:40vw;image-rendering:pixelated'/></div>")


# ---------------------------------------------------------------- predict, then reveal

def answers_figure(options: list[str], counts: dict[str, int], right: str | None = None,
                   height: int = 300) -> go.Figure:
    """The class's answers, one bar per option (counts: the sequential scale's middle); the right answer, when
    the question has one, outlined in the highlight colour."""
    values = [int(counts.get(o, 0)) for o in options]
    total = sum(values)
    labels = [o if len(o) <= 28 else o[:26] + "…" for o in options]
    fig = go.Figure(go.Bar(
        x=labels, y=values, marker_color=visual.MAGNITUDE_COLOR,
        marker_line=dict(color=[visual.HIGHLIGHT if o == right else visual.MAGNITUDE_COLOR for o in options],
                         width=[4 if o == right else 0 for o in options]),
        text=[f"{visual.number(v)} ({visual.percent(v / total, 0)})" if total else "0" for v in values],
        textposition="outside", cliponaxis=False, hovertext=options,
        hovertemplate="%{hovertext}: %{y}<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=40, r=10, t=40, b=40), showlegend=False,
                      title=dict(text=f"The class's answers ({visual.number(total)})", x=0),
                      plot_bgcolor="rgba(0,0,0,0)")
    fig.update_yaxes(title="students", rangemode="tozero", gridcolor=visual.GRIDLINE,
                     range=[0, max(values + [1]) * 1.25])
    fig.update_xaxes(type="category")
    return fig


def window_options(window: np.ndarray) -> list[str]:
    """The choices for "what will max pooling give?": every different value of the window, and its mean."""
    values = sorted({visual.number(v) for v in np.asarray(window, dtype=float).ravel()}, key=_as_float)
    mean = visual.number(float(np.mean(window)))
    return values + ([mean] if mean not in values else [])


def _as_float(text: str) -> float:
    return float(text.replace(visual.MINUS, "-"))


# ---------------------------------------------------------------- the digit wall

def wall_html(drawings: list, asked: int | None = None, numbered: bool = False) -> str:
    """Every drawing as the model saw it (28x28), with the model's answer; a wrong answer for the digit asked is
    marked. `numbered`: each card shows its number (the instructor hides a drawing by it)."""
    if not drawings:
        return "<div class='cnnviz-wall' data-count='0'><i>No drawings yet.</i></div>"
    cards = []
    for n, d in enumerate(drawings, 1):
        label = asked if asked is not None else getattr(d, "label", None)
        wrong = label is not None and int(d.prediction) != int(label)
        border = visual.HIGHLIGHT if wrong else visual.GRIDLINE
        number = f"<span style='color:{visual.MUTED}'>#{n}</span> " if numbered else ""
        image = card_image(np.asarray(d.pixels, dtype=np.uint8).tobytes())
        cards.append(f"<div class='cnnviz-wall-card' data-prediction='{int(d.prediction)}' "
                     f"data-student='{html.escape(d.student_id)}' data-created='{d.created:.6f}' style='width:92px;"
                     f"text-align:center;border:2px solid {border};border-radius:6px;padding:3px'>"
                     f"<img src='{image}' width='84' height='84' style='image-rendering:pixelated'/>"
                     f"<div style='font-size:0.85rem'>{number}→ <b>{int(d.prediction)}</b></div></div>")
    return (f"<div class='cnnviz-wall' data-count='{len(drawings)}' style='display:flex;flex-wrap:wrap;gap:6px'>"
            + "".join(cards) + "</div>")


@lru_cache(maxsize=4096)
def card_image(pixels: bytes) -> str:
    """One drawing (28x28 bytes) as the wall shows it, a PNG data URL; kept, as every student's page shows the same
    wall again and again."""
    image28 = np.frombuffer(pixels, dtype=np.uint8).reshape(28, 28).astype(np.float32) / 255.0  # [28, 28]
    return png_data_url(digit_image(image28, size=84))


def accuracy_line(class_accuracy: float, count: int, test_accuracy: float | None) -> str:
    """Our handwriting against MNIST's: the class's accuracy beside the model's test accuracy."""
    mnist = (f", against {visual.percent(test_accuracy)} on the 10,000 MNIST test digits"
             if test_accuracy is not None else "")
    return f"The model read **{visual.percent(class_accuracy)}** of the class's {count} drawings right{mnist}."


# ---------------------------------------------------------------- the runs board

RUN_COLUMNS = {"name": "Run", "kind": "Kind", "parameters": "Parameters", "test_accuracy": "Test accuracy",
               "receptive_field": "Receptive field", "multiply_adds": "Multiply-adds"}


def runs_table(runs: list[dict]) -> list[dict]:
    """The board's rows as the table shows them (numbers written by `visual.number`)."""
    rows = []
    for r in runs:
        acc = r.get("test_accuracy")
        rows.append({
            "Run": r.get("name", ""), "Kind": r.get("kind", ""),
            "Parameters": f"{int(r['parameters']):,}" if r.get("parameters") is not None else "",
            "Test accuracy": visual.percent(acc, 2) if acc is not None else "",
            "Receptive field": f"{int(r['receptive_field'])}×{int(r['receptive_field'])}"
            if r.get("receptive_field") else "",
            "Multiply-adds": f"{int(r['multiply_adds']):,}" if r.get("multiply_adds") else ""})
    return rows


def runs_figure(runs: list[dict], height: int = 340) -> go.Figure:
    """Parameters (log scale) against test accuracy, one point per shared run; training runs and designs in two
    categorical colours."""
    fig = go.Figure()
    for n, kind in enumerate(("training run", "design")):
        mine = [r for r in runs if r.get("kind") == kind and r.get("parameters") and r.get("test_accuracy") is not None]
        fig.add_trace(go.Scatter(
            x=[int(r["parameters"]) for r in mine], y=[100 * float(r["test_accuracy"]) for r in mine],
            mode="markers+text", text=[str(r.get("name", ""))[:18] for r in mine], textposition="top center",
            marker=dict(size=12, color=visual.CATEGORICAL[4 if n == 0 else 0]), name=f"{kind}s",
            hovertemplate="%{text}: %{x:,} parameters, %{y:.2f}%<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=50, r=10, t=40, b=40), title=dict(text="Parameters vs accuracy",
                      x=0), legend=dict(orientation="h", y=-0.2), plot_bgcolor="rgba(0,0,0,0)")
    fig.update_xaxes(type="log", title="parameters", gridcolor=visual.GRIDLINE)
    fig.update_yaxes(title="test accuracy (%)", gridcolor=visual.GRIDLINE)
    return fig


def run_record(loaded, name: str, kind: str) -> dict:
    """A model as the runs board keeps it: its name and kind, and from the core its parameter count, its final
    receptive field, its multiply-adds per image (where the design summary knows them) and its test accuracy."""
    from cnnviz.model import count_parameters
    from cnnviz.receptive_field import layers_from_model, receptive_fields

    record = {"name": name, "kind": kind, "parameters": int(count_parameters(loaded.model)),
              "test_accuracy": loaded.test_accuracy}
    try:
        record["receptive_field"] = int(receptive_fields(layers_from_model(loaded.model))[-1].size)
    except (ValueError, IndexError):
        pass
    try:
        from cnnviz.design import summarize   # the design lab's summary (issue 19), where it exists
        record["multiply_adds"] = int(summarize(loaded.model.config).macs)
    except (ImportError, AttributeError, ValueError, TypeError):
        pass
    return record


def share_model(loaded, name: str, kind: str = "design") -> str:
    """Share `loaded` (a LoadedModel: a design from the Design lab, a finished training run) on the runs board of
    this browser's class. Returns a sentence saying where it went; raises ClassError (a ValueError) when there is
    no class to share with or the class refuses it, StoreUnavailable when the store cannot be reached."""
    from cnnviz import classroom
    from cnnviz_ui import class_follow

    seat = class_follow.seat()
    if seat is None:
        raise classroom.ClassError("Join a class on the Class page first: then you can share with it.")
    if seat.instructor:
        raise classroom.ClassError("The runs board gathers the students' runs: share from a student's browser.")
    classroom.share_run(class_follow.store(), seat.code, seat.student_id, run_record(loaded, name, kind))
    return f"Shared with class {seat.code}: '{name}' is on its runs board."
