"""Turn a drawing or an uploaded picture into the 28x28 input MNIST's own preprocessing would give.

MNIST digits were cropped to their ink, scaled (keeping the aspect ratio) into a 20x20 box with
anti-aliasing, and pasted into a 28x28 field so that their centre of mass sits at the centre.
A digit drawn small in a corner or large and off-centre ends up looking like a centred one.
"""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnviz.data import IMAGE_SIZE, PIXEL_MAX, scale_pixels, standardize_

BOX_SIZE = 20            # MNIST fits each digit into a 20x20 box
INK_THRESHOLD = 0.2      # a pixel counts as ink above this fraction of the brightest pixel
MIN_INK_PIXELS = 0.002   # less ink than this fraction of the image counts as blank
MIN_EXTENT = 0.15        # ink spanning less than this fraction of the image's side is a dot, not a digit
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any HxW, HxWx3 or HxWx4 uint8 image -> float32 HxW in [0, 1] with bright ink on a dark ground.

    Transparent pixels take the colour that contrasts with the opaque ones, and a bright
    background (dark ink on paper) is inverted, so pen-on-paper photos work as well as the canvas.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        gray, alpha = a.astype(np.float32), None
    elif a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = a[..., :3].astype(np.float32)
        gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # [H, W]
        alpha = scale_pixels(a[..., 3]) if a.shape[2] == 4 else None
    else:
        raise ValueError(f"expected a grayscale, RGB or RGBA image, got an array of shape {a.shape}")
    if alpha is not None and alpha.min() < 1.0:
        opaque = alpha > 0.5
        ground = float(PIXEL_MAX) if opaque.any() and gray[opaque].mean() < 128 else 0.0
        gray = alpha * gray + (1.0 - alpha) * ground
    gray = scale_pixels(gray)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:
        gray = 1.0 - gray
    return gray


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Pixels that count as ink (relative to the brightest pixel, so faint pencil still counts)."""
    peak = float(gray.max())
    if peak <= 0.05:
        return np.zeros_like(gray, dtype=bool)
    return gray > INK_THRESHOLD * peak


def is_blank(image: np.ndarray | None) -> bool:
    """True for no image, an empty canvas, a few stray pixels or a single dot: nothing worth predicting on."""
    if image is None:
        return True
    gray = to_gray(image)
    mask = ink_mask(gray)
    if int(mask.sum()) < max(4, MIN_INK_PIXELS * gray.size):
        return True
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    extent = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    return extent < MIN_EXTENT * max(gray.shape)


def fit_mnist(gray: np.ndarray) -> np.ndarray:
    """Bright-ink grayscale image -> 28x28 float32 in [0, 1]: cropped, fitted to 20x20, centred by mass."""
    mask = ink_mask(gray)
    if not mask.any():
        raise ValueError("the image has no ink: draw or upload a digit first")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # [h, w]
    h, w = crop.shape
    scale = BOX_SIZE / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    pil = Image.fromarray(np.clip(crop * PIXEL_MAX, 0, PIXEL_MAX).astype(np.uint8))
    box = scale_pixels(pil.resize((new_w, new_h), Image.LANCZOS))  # [new_h, new_w]
    box = np.clip(box, 0.0, 1.0)
    total = box.sum()
    ys, xs = np.indices(box.shape)
    com_y, com_x = (ys * box).sum() / total, (xs * box).sum() / total
    top = int(round(IMAGE_SIZE / 2 - com_y))
    left = int(round(IMAGE_SIZE / 2 - com_x))
    top = min(max(top, 0), IMAGE_SIZE - new_h)    # keep the whole digit inside the field
    left = min(max(left, 0), IMAGE_SIZE - new_w)
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    out[top:top + new_h, left:left + new_w] = box
    return out


def normalize_image28(image28: np.ndarray) -> torch.Tensor:
    """One 28x28 picture in [0, 1] -> the model's input tensor [1, 1, 28, 28], normalised like the training data."""
    x = torch.tensor(np.asarray(image28), dtype=torch.float32)  # a copy: standardize_ works in place
    return standardize_(x).reshape(1, 1, IMAGE_SIZE, IMAGE_SIZE)  # [1, 1, 28, 28]


def resize_nearest(image: np.ndarray, size: int) -> np.ndarray:
    """A square image resized to size x size, each new pixel copying the old pixel it falls in (float)."""
    image = np.asarray(image, dtype=float)
    if image.ndim != 2 or image.shape[0] != image.shape[1]:
        raise ValueError(f"expected a square grayscale image [H, H], got shape {image.shape}")
    if image.shape[0] == size:
        return image
    idx = np.minimum((np.arange(size) * image.shape[0] / size).astype(int), image.shape[0] - 1)  # [size]
    return image[np.ix_(idx, idx)]  # [size, size]


def preprocess(image: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
    """A drawing (RGBA canvas, RGB or grayscale) -> (28x28 picture in [0, 1], model input [1, 1, 28, 28])."""
    image28 = fit_mnist(to_gray(image))
    return image28, normalize_image28(image28)


def read_upload(data: bytes) -> np.ndarray:
    """Bytes of an uploaded PNG/JPEG -> an RGBA uint8 array; a clear ValueError for anything else."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file is {len(data) / 1e6:.1f} MB; please upload an image under "
                         f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("PNG", "JPEG"):
                raise ValueError(f"only PNG and JPEG images are accepted, this file is {probe.format}")
            if probe.width * probe.height > MAX_UPLOAD_PIXELS:
                raise ValueError(f"the image is {probe.width}x{probe.height} pixels; please upload one "
                                 f"under {int(MAX_UPLOAD_PIXELS ** 0.5)}x{int(MAX_UPLOAD_PIXELS ** 0.5)}")
            if min(probe.width, probe.height) < 8:
                raise ValueError(f"the image is only {probe.width}x{probe.height} pixels; a digit needs "
                                 "at least 8x8")
            probe.load()
            img = ImageOps.exif_transpose(probe).convert("RGBA")
    except UnidentifiedImageError:
        raise ValueError("this file is not an image Pillow can read; upload a PNG or JPEG") from None
    except Image.DecompressionBombError:
        raise ValueError("the image is far too large (a decompression bomb?); upload a small PNG or JPEG") from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"the image file is damaged or truncated ({exc}); try saving it again") from None
    return np.asarray(img)
