"""Presentation helpers for the architecture page: the layer table as a frame, what each kind of layer does."""
from __future__ import annotations

import inspect

from cnnviz.architecture import LayerRow
from cnnviz_ui import visual

# What each kind of layer is for, in one or two sentences (the page's teaching text).
ROLES = {
    "Conv2d": "Slides small learned filters over every input channel and adds up the products: each output "
              "channel is one filter's map of where its pattern occurs. The same weights are reused at every "
              "position, which is why a convolution needs so few parameters.",
    "ReLU": "Keeps positive values and sets negative ones to zero: the non-linearity that lets stacked layers "
            "learn more than one big linear map. No parameters.",
    "LeakyReLU": "Like ReLU, but a negative value is multiplied by a small slope (0.01) instead of set to zero, so "
                 "a unit that is off still passes a little gradient back. No parameters.",
    "BatchNorm2d": "Rescales each channel to mean 0 and variance 1 (with the averages measured in training), then "
                   "applies a learned scale and shift per channel: two parameters per channel.",
    "Tanh": "Squashes every value into (−1, 1): the non-linearity of the original LeNet. No parameters.",
    "Sigmoid": "Squashes every value into (0, 1). Its slope is at most 0.25, which starves deep stacks of gradient.",
    "MaxPool2d": "Keeps the largest value of each window: a 2×2 window with stride 2 halves height and width and "
                 "keeps the strongest detections. Nothing to learn.",
    "AvgPool2d": "Replaces each window by its mean. Nothing to learn.",
    "AdaptiveAvgPool2d": "Global average pooling: each channel's whole map becomes one number, its mean. "
                         "It replaces the flatten + big fully-connected layer with zero parameters.",
    "Flatten": "Lays the channel maps out as one long vector so a fully-connected layer can read it. "
               "Only the shape changes.",
    "Linear": "Fully connected: every output is a weighted sum of every input plus a bias. "
              "The first one, on the flattened features, holds most of the network's parameters.",
    "Dropout": "During training, zeroes a random share of the values so the network cannot lean on any one "
               "feature; in evaluation it passes everything through.",
}


def _arrow(values: list) -> str:
    return " → ".join(str(v) for v in values)


def story(rows: list[LayerRow], input_shape: tuple) -> str:
    """What this network does, in a few sentences read from its layer table (any stack of conv blocks, either
    head): how many blocks, what one block does, how the maps shrink while the channels grow, and the head."""
    kinds = [r.layer_kind for r in rows]                        # cnnviz.layers' kinds
    convs = [i for i, k in enumerate(kinds) if k == "conv"]
    if not convs:
        return "This network has no convolution layer: every layer is listed below."
    ends = [i for i, k in enumerate(kinds) if k in ("flatten", "global_avg_pool", "linear")]
    block_end = min(convs[1:] + ends + [len(rows)])
    block = " → ".join(r.op if k in ("conv", "max_pool", "avg_pool") else r.kind
                       for r, k in zip(rows[convs[0]:block_end], kinds[convs[0]:block_end]))
    n = len(convs)
    text = (f"{'One convolution block finds' if n == 1 else f'{n} convolution blocks find'} patterns "
            f"(the first: {block}). ")
    sides = [input_shape[-1]] + [rows[i].output_shape[-1] for i in range(len(rows))
                                 if kinds[i] in ("conv", "max_pool", "avg_pool")]
    sides = [s for j, s in enumerate(sides) if j == 0 or s != sides[j - 1]]
    channels = [input_shape[0]] + [rows[i].output_shape[0] for i in convs]
    maps = (f"the maps shrink ({_arrow(sides)})" if sides[-1] < sides[0]
            else f"the maps keep their size ({sides[0]}×{sides[0]})")
    if channels[-1] > channels[0]:
        text += (f"While {maps}, the number of channels grows ({_arrow(channels)}): the network trades *where* "
                 "for *what*. ")
    else:
        text += f"{maps[0].upper()}{maps[1:]}, and the channels go {_arrow(channels)}. "
    linears = kinds.count("linear")
    if "global_avg_pool" in kinds:
        text += ("Then global average pooling turns each map into one number, and a linear layer turns those into "
                 "ten scores, one per digit.")
    else:
        layers = "one fully connected layer turns" if linears == 1 else f"{linears} fully connected layers turn"
        text += f"Then the maps are flattened and {layers} them into ten scores, one per digit."
    return text


def parameters_story(fc_rows: list[LayerRow]) -> str:
    """Where the weights of this design with the FC head sit: its largest layer and its share."""
    largest = max(fc_rows, key=lambda r: r.params)
    text = (f"With the fully connected head, one layer of this design, **{largest.name}** ({largest.op}), holds "
            f"{visual.percent(largest.share, 0)} of all weights")
    if largest.layer_kind == "linear":
        text += ": each of its outputs looks at every one of the flattened features"
    return text + (". Global average pooling averages each channel down to one number instead, so the head "
                   "shrinks to a single small linear layer.")


def table_records(rows: list[LayerRow], input_shape: tuple) -> list[dict]:
    """The layer table as display records (text), starting with the input."""
    records = [{"Layer": "input", "Operation": "image", "Output shape": " × ".join(map(str, input_shape)),
                "Parameters": "0", "Arithmetic": "", "Share": ""}]
    for row in rows:
        records.append({"Layer": row.name, "Operation": row.op, "Output shape": " × ".join(map(str, row.output_shape)),
                        "Parameters": f"{row.params:,}", "Arithmetic": row.arithmetic if row.params else "",
                        "Share": visual.percent(row.share) if row.params else ""})
    return records


def flow(rows: list[LayerRow], input_shape: tuple) -> tuple[list, list, list]:
    """(names, kinds, shapes) for the shape-flow diagram, the input first."""
    return (["input"] + [r.name for r in rows], ["Input"] + [r.kind for r in rows],
            [tuple(input_shape)] + [tuple(r.output_shape) for r in rows])


def model_source(model) -> str:
    """The real source of the model's class."""
    try:
        return inspect.getsource(type(model))
    except (OSError, TypeError):
        return f"# the source of {type(model).__name__} is not available"


POOL_QUESTION = "What is the output shape when `MaxPool2d(2, 2)` is applied to a tensor of shape `[8, 32, 14, 14]`?"
SOFTMAX_QUESTION = "Why does the network end with a Linear layer and no softmax?"
SOFTMAX_OPTIONS = {
    "Softmax would change which digit gets the highest score": False,
    "Softmax has weights that would overfit MNIST": False,
    "CrossEntropyLoss applies (log-)softmax itself, in a numerically stable way": True,
    "Softmax only works on the GPU": False,
}
SOFTMAX_EXPLANATION = (
    "The model outputs raw scores (logits). `nn.CrossEntropyLoss` takes logits and computes log-softmax and the "
    "negative log-likelihood in one stable step; a softmax layer in the model would apply it twice and flatten "
    "the gradients. Softmax is monotonic, so it never changes the winner: the largest logit is the predicted "
    "digit. When the app shows probabilities it applies softmax outside the model."
)
