"""A CNN design, frozen and checked: 1-4 conv blocks (ConvBlock), then an FC head or a Global-Average-Pooling
head (ModelConfig). Plain Python, no PyTorch: cnnviz.model builds the network from it.

The chapter's network is one design (`CHAPTER_CONFIG`, 206,922 parameters). A design that cannot work is
refused in `ModelConfig.__post_init__` with a ValueError that says what to change, before any module is built.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from numbers import Integral

ACTIVATION_NAMES = ("relu", "leaky_relu", "tanh", "sigmoid")
POOLS = ("max", "avg", "none")
HEADS = ("fc", "gap")
PADDINGS = ("same", "valid")
MAX_KERNEL = 7
MAX_BLOCKS = 4
MAX_HIDDEN_LAYERS = 2
MAX_PARAMETERS = 5_000_000


def _count(value, what: str, low: int = 1) -> int:
    """`value` as an int >= low; a ValueError naming `what` otherwise (no bools, no 3.5)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if int(value) < low:
        raise ValueError(f"{what} must be at least {low}, got {value}")
    return int(value)


@dataclass(frozen=True, eq=False)
class ConvBlock:
    channels: int                       # output channels (feature maps)
    kernel_size: int = 3                # square kernel, 1-7
    padding: int | str = "same"         # "same" (k // 2, odd k), "valid" (0) or a number <= k // 2
    stride: int = 1                     # the conv's step
    activation: str = "relu"            # relu | leaky_relu | tanh | sigmoid
    batch_norm: bool = False            # BatchNorm2d between the conv and the activation (the conv drops its bias)
    pool: str = "max"                   # max | avg | none
    pool_size: int = 2                  # square pooling window
    pool_stride: int | None = None      # None: = pool_size (windows side by side)

    def __post_init__(self):
        set_ = object.__setattr__.__get__(self)
        set_("channels", _count(self.channels, "channels"))
        set_("kernel_size", _count(self.kernel_size, "kernel_size"))
        set_("stride", _count(self.stride, "stride"))
        set_("pool_size", _count(self.pool_size, "pool_size"))
        if self.pool_stride is not None:
            set_("pool_stride", _count(self.pool_stride, "pool_stride"))
        if not isinstance(self.batch_norm, bool):
            raise ValueError(f"batch_norm must be True or False, got {self.batch_norm!r}")
        k = self.kernel_size
        if k > MAX_KERNEL:
            raise ValueError(f"kernel_size must be 1 to {MAX_KERNEL}, got {k}: choose a kernel of 7 or less")
        if isinstance(self.padding, str):
            if self.padding not in PADDINGS:
                raise ValueError(f"padding must be 'same', 'valid' or a number, got {self.padding!r}")
            if self.padding == "same" and k % 2 == 0:
                raise ValueError(f"padding 'same' needs an odd kernel, got kernel_size {k}: choose {k - 1} or "
                                 f"{k + 1}, or padding 'valid' or a number")
        else:
            set_("padding", _count(self.padding, "padding", low=0))
            if self.padding > k // 2:
                raise ValueError(f"padding {self.padding} is larger than half the {k}×{k} kernel: use padding "
                                 f"at most {k // 2} (or 'same')")
        if self.activation not in ACTIVATION_NAMES:
            raise ValueError(f"activation must be one of {list(ACTIVATION_NAMES)}, got {self.activation!r}")
        if self.pool not in POOLS:
            raise ValueError(f"pool must be one of {list(POOLS)}, got {self.pool!r}")

    def _network(self) -> tuple:
        """What the block builds: padding 1 is 'same' for a 3×3 kernel, a pool of 'none' has no size."""
        pool = (self.pool, self.pool_size, self.pool_step) if self.pool != "none" else ("none",)
        return (self.channels, self.kernel_size, self.pad, self.stride, self.activation, self.batch_norm, pool)

    def __eq__(self, other) -> bool:
        """Blocks that build the same layers are equal (ConvBlock(16, padding=1) == ConvBlock(16))."""
        return isinstance(other, ConvBlock) and self._network() == other._network()

    def __hash__(self) -> int:
        return hash(self._network())

    @property
    def pad(self) -> int:
        """The padding in pixels on each side."""
        if self.padding == "same":
            return self.kernel_size // 2
        return 0 if self.padding == "valid" else self.padding

    @property
    def pool_step(self) -> int:
        """The pooling stride in pixels."""
        return self.pool_size if self.pool_stride is None else self.pool_stride


@dataclass(frozen=True)
class ModelConfig:
    blocks: tuple = (ConvBlock(16), ConvBlock(32))  # conv blocks in order (1-4)
    head: str = "fc"                                # "fc": flatten -> hidden layers -> linear; "gap": GAP -> linear
    hidden: tuple = (128,)                          # FC head's hidden widths (0-2); () with the GAP head
    dropout: float = 0.25                           # dropout before the last linear layer (FC head only)
    in_channels: int = 1                            # grayscale digits
    image_size: int = 28                            # MNIST is 28x28
    num_classes: int = 10                           # digits 0-9
    sizes: tuple = field(init=False, repr=False, compare=False)  # spatial side after each block

    def __post_init__(self):
        set_ = object.__setattr__.__get__(self)
        for name in ("in_channels", "image_size", "num_classes"):
            set_(name, _count(getattr(self, name), name))
        if isinstance(self.blocks, (str, bytes)) or not hasattr(self.blocks, "__iter__"):
            raise ValueError(f"blocks must be a list of conv blocks, got {self.blocks!r}")
        blocks = tuple(self.blocks)
        if not 1 <= len(blocks) <= MAX_BLOCKS:
            raise ValueError(f"a design has 1 to {MAX_BLOCKS} conv blocks, got {len(blocks)}")
        if not all(isinstance(b, (ConvBlock, dict)) for b in blocks):
            raise ValueError(f"each block is a ConvBlock (or its dict), got {blocks!r}")
        set_("blocks", tuple(b if isinstance(b, ConvBlock) else _block(i, b) for i, b in enumerate(blocks, 1)))
        if isinstance(self.hidden, (str, bytes)) or not hasattr(self.hidden, "__iter__"):
            raise ValueError(f"hidden must be a list of layer widths, e.g. (128,), got {self.hidden!r}")
        set_("hidden", tuple(_count(h, "every hidden layer's width") for h in self.hidden))
        if self.head not in HEADS:
            raise ValueError(f"head must be 'fc' or 'gap', got {self.head!r}")
        if self.head == "gap" and self.hidden:
            raise ValueError(f"the GAP head has no hidden layers: set hidden to () (got {self.hidden}), or use "
                             "head 'fc'")
        if len(self.hidden) > MAX_HIDDEN_LAYERS:
            raise ValueError(f"the FC head has 0 to {MAX_HIDDEN_LAYERS} hidden layers, got {len(self.hidden)}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) \
                or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        set_("dropout", float(self.dropout))
        set_("sizes", self._walk_sizes())
        self._check_parameters()

    def _walk_sizes(self) -> tuple:
        n, sizes = self.image_size, []
        for i, b in enumerate(self.blocks, start=1):
            if b.kernel_size > n + 2 * b.pad:
                raise ValueError(f"block {i}'s {b.kernel_size}×{b.kernel_size} kernel is larger than its {n}×{n} "
                                 f"input (padding {b.pad}): use a smaller kernel, more padding, or less "
                                 "downsampling before it (fewer blocks, pool 'none', stride 1)")
            n = (n + 2 * b.pad - b.kernel_size) // b.stride + 1
            if b.pool != "none":
                if b.pool_size > n:
                    raise ValueError(f"block {i}'s {b.pool_size}×{b.pool_size} pooling would shrink its {n}×{n} "
                                     "map below 1×1: use pool 'none' or a smaller pool_size there, or fewer blocks")
                n = (n - b.pool_size) // b.pool_step + 1
            sizes.append(n)
        return tuple(sizes)

    def _check_parameters(self) -> None:
        counts = self.parameter_counts()
        total = sum(counts.values())
        if total > MAX_PARAMETERS:
            name = max(counts, key=counts.get)
            raise ValueError(f"this design has {total:,} parameters, over the {MAX_PARAMETERS:,} limit; {name} "
                             f"holds {counts[name]:,} of them: add pooling or a block before the head, or use "
                             "fewer channels or hidden units")

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per layer name, by arithmetic (DigitCNN's modules hold exactly these)."""
        counts, c_in = {}, self.in_channels
        for i, b in enumerate(self.blocks, start=1):
            counts[f"conv{i}"] = b.channels * c_in * b.kernel_size ** 2 + (0 if b.batch_norm else b.channels)
            if b.batch_norm:
                counts[f"bn{i}"] = 2 * b.channels
            c_in = b.channels
        widths = [self.flat_features, *self.hidden, self.num_classes]
        names = ["fc"] if self.head == "gap" else [f"fc{j}" for j in range(1, len(widths))]
        for name, n_in, n_out in zip(names, widths, widths[1:]):
            counts[name] = n_in * n_out + n_out
        return counts

    @classmethod
    def uniform(cls, channels=(16, 32), kernel_size=3, padding="same", stride=1, activation="relu",
                batch_norm=False, pool="max", pool_size=2, pool_stride=None, head="fc", hidden=None,
                dropout=0.25, **rest) -> "ModelConfig":
        """One block per channel count, all alike (what the CLI's flags give). hidden None: (128,), () for GAP."""
        if isinstance(channels, Integral):
            channels = (channels,)
        blocks = tuple(ConvBlock(c, kernel_size, padding, stride, activation, batch_norm, pool, pool_size,
                                 pool_stride) for c in channels)
        if hidden is None:
            hidden = () if head == "gap" else (128,)
        return cls(blocks=blocks, head=head, hidden=tuple(hidden), dropout=dropout, **rest)

    @property
    def channels(self) -> tuple:
        """Each block's output channels, e.g. (16, 32)."""
        return tuple(b.channels for b in self.blocks)

    @property
    def activation(self) -> str:
        """The hidden layers' activation: the last block's."""
        return self.blocks[-1].activation

    @property
    def feature_size(self) -> int:
        """Spatial side after the last block (28 -> 14 -> 7 for the chapter's design)."""
        return self.sizes[-1]

    @property
    def flat_features(self) -> int:
        """What the head's first linear layer reads: C*H*W flattened (32 * 7 * 7 = 1568), or C after GAP."""
        c = self.blocks[-1].channels
        return c if self.head == "gap" else c * self.feature_size ** 2

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("sizes")
        d["blocks"], d["hidden"] = [asdict(b) for b in self.blocks], list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """A config from to_dict()'s output, or from the old flat format (channels, kernel_size, pool_size, ...)."""
        if not isinstance(d, dict):
            raise ValueError(f"a model config is a dict, got {type(d).__name__}")
        if "blocks" not in d:
            return _from_flat(d)
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "sizes"}
        blocks = known.get("blocks")
        if isinstance(blocks, list):
            fields = ConvBlock.__dataclass_fields__
            known["blocks"] = [{k: v for k, v in b.items() if k in fields} if isinstance(b, dict) else b
                               for b in blocks]
        return cls(**known)


def _block(i: int, d: dict) -> ConvBlock:
    try:
        return ConvBlock(**d)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"block {i}: {exc}") from None


def _from_flat(d: dict) -> ModelConfig:
    """The format of checkpoints saved before the design lab: two alike blocks with 'same' padding."""
    k, p, act = d.get("kernel_size", 3), d.get("pool_size", 2), d.get("activation", "relu")
    head, hidden = d.get("head", "fc"), d.get("hidden", 128)
    channels = d.get("channels", (16, 32))
    if not isinstance(channels, (list, tuple)):
        raise ValueError(f"channels must be a list, got {channels!r}")
    blocks = tuple(ConvBlock(c, k, "same", 1, act, False, "max", p) for c in channels)
    rest = {n: d[n] for n in ("in_channels", "image_size", "num_classes", "dropout") if n in d}
    return ModelConfig(blocks=blocks, head=head, hidden=() if head == "gap" else (hidden,), **rest)


CHAPTER_CONFIG = ModelConfig()
GAP_CONFIG = ModelConfig(head="gap", hidden=())
