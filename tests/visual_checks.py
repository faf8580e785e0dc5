"""Checks of the one visual language, shared by tests/test_visual_language.py: is a Plotly figure, a PIL picture
or an HTML fragment coloured by cnnviz_ui/visual.py, and does a source file write colours of its own?"""
from __future__ import annotations

import ast
import base64
import io
import re
import tokenize
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageColor

from cnnviz_ui import visual


NEGATIVE_ZERO = re.compile(r"(?<![\d.])[-\u2212]0(\.0+)?(?![\d.])")


@dataclass
class Case:
    """One call of a builder, and what its colours must show."""
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    scale: str | None = None           # the scale every colour-scaled trace must use (None: any of visual's)
    probes: list = field(default_factory=list)  # PIL: ((x, y), rgb) pixels that must have that colour


def rgb_of(color: str) -> tuple[int, int, int] | None:
    """(r, g, b) of a CSS/Plotly colour ("#1f77b4", "rgb(1,2,3)", "rgba(1,2,3,0.5)", "orange"); None if none."""
    rgb = re.match(r"\s*rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)", color)
    if rgb:  # also "rgba(214,39,40,{alpha})" in an f-string
        return tuple(min(int(v), 255) for v in rgb.groups())
    try:
        return ImageColor.getrgb(color.replace(" ", ""))[:3]
    except ValueError:
        return None


def chroma(rgb) -> int:
    """How far from grey a colour is (0 for a grey, up to 255)."""
    return max(rgb) - min(rgb)


_NAMED = [visual.NEGATIVE_COLOR, visual.POSITIVE_COLOR, visual.HIGHLIGHT, *visual.CATEGORICAL,
          *visual.KIND_COLORS.values()]
PALETTE = np.array(sorted({rgb_of(c) for c in _NAMED} | {tuple(int(v) for v in row) for s in visual.ANCHORS
                                                        for row in visual.lut(s)}), dtype=float)  # [P, 3]


def is_visual(rgb, tolerance: float = 4.0) -> bool:
    """A neutral grey (chrome, text, pixels), or a colour of visual.py (a scale's colour, a named one)."""
    if chroma(rgb) < 30:
        return True
    return float(np.min(np.linalg.norm(PALETTE - np.asarray(rgb, dtype=float), axis=1))) <= tolerance


def scale_key(scale) -> list | None:
    if scale is None:
        return None
    return [[float(a), str(b).replace(" ", "")] for a, b in scale]


VISUAL_SCALES = {name: scale_key(s) for name, s in visual.SCALES.items()}


def colours_in(node, path=""):
    """(path, value) of every colour-like string in a Plotly JSON tree (layout.template left out)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if path == "layout" and k == "template":
                continue
            if "color" in k.lower() and k.lower() not in ("colorscale", "colorbar", "coloraxis"):
                values = v if isinstance(v, (list, tuple)) else [v]
                for item in values:
                    if isinstance(item, str):
                        yield f"{path}.{k}", item
            yield from colours_in(v, f"{path}.{k}" if path else k)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from colours_in(v, f"{path}[{i}]")


def strings_in(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            if k != "template":
                yield from strings_in(v)
    elif isinstance(node, (list, tuple, np.ndarray)):
        for v in node:
            yield from strings_in(v)


def figures_and_pictures(result):
    if isinstance(result, (go.Figure, Image.Image)):
        yield result
    elif isinstance(result, (list, tuple)):
        for item in result:
            yield from figures_and_pictures(item)


def check_figure(fig: go.Figure, case: Case) -> list[str]:
    problems = []
    scaled = 0
    for i, trace in enumerate(fig.data):
        for where, owner in (("", trace), ("marker.", getattr(trace, "marker", None))):
            scale = getattr(owner, "colorscale", None) if owner is not None else None
            if scale is None:
                continue
            scaled += 1
            key = scale_key(scale)
            names = [n for n, s in VISUAL_SCALES.items() if s == key]
            if not names:
                problems.append(f"trace {i} {where}colorscale is not one of visual.SCALES: {scale}")
            elif case.scale and names[0] != case.scale:
                problems.append(f"trace {i} {where}colorscale is {names[0]}, expected {case.scale} for this data")
            if names == ["diverging"]:
                lo = owner.zmin if where == "" else owner.cmin
                hi = owner.zmax if where == "" else owner.cmax
                if lo is None or hi is None or abs(lo + hi) > 1e-9 * max(1.0, abs(hi)):
                    problems.append(f"trace {i}: a diverging scale must be centred on 0 (got {lo}, {hi})")
    if case.scale and not scaled:
        problems.append(f"no trace has a colour scale ({case.scale} expected)")
    problems += [f"trace {i} ({t.type}) {what}" for i, t in enumerate(fig.data) for what in default_colours(t)]
    for i, picture in enumerate(fig.layout.images):  # pictures inside the figure (data: URLs) are checked too
        source = picture.source if isinstance(picture.source, str) else ""
        if source.startswith("data:image/png;base64,"):
            inner = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
            problems += [f"layout image {i}: {p}" for p in check_picture(inner, Case())]
    for path, colour in colours_in(fig.to_plotly_json()):
        rgb = rgb_of(colour)
        if rgb is not None and not is_visual(rgb):
            problems.append(f"{path} = {colour!r} is not a colour of visual.py")
    return problems


def default_colours(trace) -> list[str]:
    """What a trace leaves to Plotly's (or Streamlit's) default colours, which are not visual.py's."""
    if trace.type in ("heatmap", "contour", "histogram2d") and trace.colorscale is None:
        return ["has no colorscale: Plotly's default one would be used"]
    if trace.type == "bar" and trace.marker.color is None:
        return ["has no marker colour: the default colour cycle would be used"]
    if trace.type == "waterfall" and None in (trace.increasing.marker.color, trace.decreasing.marker.color):
        return ["has no increasing/decreasing colours: the default green/red would be used"]
    if trace.type == "scatter":
        mode = trace.mode or "lines+markers"
        if "lines" in mode and trace.line.color is None:
            return ["has no line colour: the default colour cycle would be used"]
        if "markers" in mode and "lines" not in mode and trace.marker.color is None:
            return ["has no marker colour: the default colour cycle would be used"]
    return []


def check_picture(img: Image.Image, case: Case) -> list[str]:
    rgb = np.asarray(img.convert("RGB")).reshape(-1, 3)
    colours, counts = np.unique(rgb, axis=0, return_counts=True)
    off = [(tuple(int(v) for v in c), n) for c, n in zip(colours, counts) if not is_visual(c)]
    share = sum(n for _, n in off) / rgb.shape[0]
    problems = []
    if share > 0.1:  # anti-aliased text over coloured cells blends colours: a little of that is fine
        problems.append(f"{share:.0%} of the pixels are off visual.py's scales, e.g. {off[:3]}")
    for (px, py), want in case.probes:
        got = img.convert("RGB").getpixel((px, py))
        if np.abs(np.subtract(got, want)).max() > 3:
            problems.append(f"pixel {(px, py)} is {got}, expected {want}")
    return problems


CELL = re.compile(r"<td[^>]*?background:\s*([^;'\"]+)[^>]*>")


PICTURE_URL = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


def check_html(text: str, case: Case) -> list[str]:
    """HTML or SVG markup: its colours are visual's, and so are the pixels of every PNG it carries."""
    problems = []
    for n, data in enumerate(PICTURE_URL.findall(text)):
        picture = Image.open(io.BytesIO(base64.b64decode(data)))
        problems += [f"picture {n}: {p}" for p in check_picture(picture, Case())]
    text = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]*", "", text)
    foreign = {rgb_of(m.group(0)) for m in COLOUR_TEXT.finditer(text)} - {None}
    problems += [f"colour rgb{rgb} is not a colour of visual.py" for rgb in sorted(foreign) if not is_visual(rgb)]
    shown = re.sub(r"<[^>]*>", " ", text)
    problems += [f"writes a negative zero: {z!r}" for z in sorted({m.group(0) for m in NEGATIVE_ZERO.finditer(shown)})]
    cells = CELL.findall(text)
    for index, hue in case.probes:
        rgb = rgb_of(cells[index]) if index < len(cells) else None
        if rgb is None:
            problems.append(f"cell {index} has no colour")
        elif (rgb[0] > rgb[2]) != (hue == "red"):
            problems.append(f"cell {index} is {cells[index]}, expected {hue} (red = positive, blue = negative)")
    return problems


SCALE_NAMES = {"rdbu", "viridis", "blues", "greys", "grays", "gray", "grey", "oranges", "reds", "greens", "purples",
               "plasma", "inferno", "magma", "cividis", "jet", "hot", "rdylbu", "rdylgn", "spectral", "bwr",
               "seismic", "coolwarm", "piyg", "prgn", "brbg", "puor", "rdgy", "ylorrd", "ylgnbu", "rainbow",
               "turbo", "bluered", "picnic", "portland", "electric", "blackbody", "earth", "ice", "thermal"}


SCALE_KEYWORDS = {"colorscale", "colormap", "cmap"}


COLOUR_TEXT = re.compile(r"(?<![\w&])#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b|rgba?\([^)]*\)")


def literal_text(token: str) -> str:
    try:
        value = ast.literal_eval(token)
        return value if isinstance(value, str) else ""
    except (ValueError, SyntaxError):
        return token  # an f-string: search its raw text


def string_findings(source: str) -> list[str]:
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.STRING:
            continue
        text = literal_text(tok.string)
        line = tok.start[0]
        bare = text.strip().lower()
        if bare.removesuffix("_r") in SCALE_NAMES:
            found.append(f"line {line}: colour-scale name {text!r}")
        elif bare in ImageColor.colormap and chroma(ImageColor.getrgb(bare)[:3]) >= 30:
            found.append(f"line {line}: colour name {text!r}")
        for match in COLOUR_TEXT.finditer(text):
            rgb = rgb_of(match.group(0))
            if rgb is not None and chroma(rgb) >= 30:
                found.append(f"line {line}: colour literal {match.group(0)!r}")
    return found


def tuple_findings(source: str) -> list[str]:
    """(r, g, b) literals of a chromatic colour, as PIL draws them."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Tuple) and len(node.elts) in (3, 4):
            values = [e.value for e in node.elts if isinstance(e, ast.Constant) and type(e.value) is int]
            if len(values) == len(node.elts) and all(0 <= v <= 255 for v in values[:3]) \
                    and max(values[:3]) >= 128 and chroma(values[:3]) >= 60:
                found.append(f"line {node.lineno}: colour tuple {tuple(values)}")
        if isinstance(node, ast.keyword) and node.arg in SCALE_KEYWORDS and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str) and node.value.value not in visual.SCALES \
                and node.value.value.lower().removesuffix("_r") not in SCALE_NAMES:  # (those are found above)
            found.append(f"line {node.lineno}: {node.arg}={node.value.value!r} (use a scale of visual.py)")
    return found


def colour_findings(source: str) -> list[str]:
    return sorted(set(string_findings(source) + tuple_findings(source)), key=lambda s: int(s.split()[1][:-1]))
