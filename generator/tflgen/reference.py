"""The reference implementation of every pre/post-processing step the app performs.

The generated Kotlin does the same arithmetic in the same order; golden vectors prove it.
All image maths is float32, like the Kotlin side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tflgen.errors import OptionError

USUAL_NORMALIZATIONS = (
    "--mean 127.5 --std 127.5 (inputs in [-1, 1], e.g. MobileNet, EfficientDet-Lite)",
    "--mean 0 --std 255 (inputs in [0, 1])",
    "--mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 (ImageNet mean/std)",
    "--mean 0 --std 1 (raw 0..255 pixels as floats)",
)


@dataclass(frozen=True)
class Normalization:
    """`x = (pixel - mean[c]) / std[c]`, one value per channel."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def parse(cls, mean: str, std: str, channels: int) -> Normalization:
        return cls(
            _per_channel("--mean", mean, channels),
            _per_channel("--std", std, channels, nonzero=True),
        )

    def describe(self) -> str:
        return f"mean {_fmt(self.mean)}, std {_fmt(self.std)}"


def resolve_normalization(mean: str | None, std: str | None, channels: int, dtype: str, needed_for: str) -> Normalization | None:
    """The user's mean/std, or None for a raw-pixel (integer) input. Never guessed for a float input."""
    if mean is None and std is None:
        if dtype != "float32":
            return None  # integer input takes raw pixels
        raise OptionError(
            f"{needed_for} needs the model's input normalization (--mean and --std)",
            "tflgen never guesses it; the usual choices: " + "; ".join(USUAL_NORMALIZATIONS),
        )
    if mean is None or std is None:
        given, missing = ("--mean", "--std") if std is None else ("--std", "--mean")
        raise OptionError(f"{given} given without {missing}", "pass both, e.g. --mean 127.5 --std 127.5")
    return Normalization.parse(mean, std, channels)


def _fmt(values: Sequence[float]) -> str:
    return ",".join(f"{v:g}" for v in values)


def _per_channel(option: str, text: str, channels: int, nonzero: bool = False) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise OptionError(
            f"{option} {text!r} is not a number or a comma-separated list of numbers",
            f"give one value for all channels or {channels} comma-separated values, e.g. {option} 127.5",
        ) from None
    # Kept as float32, the precision every stage (and the metadata) computes and stores them in.
    values = tuple(float(np.float32(v)) for v in values)
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise OptionError(
            f"{option} has {len(values)} values but the model's input has {channels} channel(s)",
            f"give one value for all channels or exactly {channels} comma-separated values",
        )
    if not all(np.isfinite(values)):
        raise OptionError(f"{option} {text!r} is not finite", f"give finite numbers to {option}")
    if nonzero and any(v == 0 for v in values):
        raise OptionError(f"{option} {text!r} contains 0", "std divides the pixel values: it must not be 0")
    return values


def resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres of an [H, W, C] image, returned as float32.

    `src = (dst + 0.5) * in / out - 0.5`, clamped to the image; written out by hand (no
    library scaler) so that the Kotlin twin can reproduce it exactly.
    """
    in_h, in_w = image.shape[:2]
    pixels = image.astype(np.float32)
    ys, y0, y1 = _axis(in_h, height)
    xs, x0, x1 = _axis(in_w, width)
    top = pixels[y0][:, x0] + (pixels[y0][:, x1] - pixels[y0][:, x0]) * xs[None, :, None]
    bottom = pixels[y1][:, x0] + (pixels[y1][:, x1] - pixels[y1][:, x0]) * xs[None, :, None]
    return (top + (bottom - top) * ys[:, None, None]).astype(np.float32)


def _axis(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = np.float32(size_in) / np.float32(size_out)
    src = (np.arange(size_out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    src = np.clip(src, np.float32(0), np.float32(size_in - 1))
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, size_in - 1)
    return (src - low.astype(np.float32)).astype(np.float32), low, high


def normalize(pixels: np.ndarray, normalization: Normalization) -> np.ndarray:
    mean = np.asarray(normalization.mean, dtype=np.float32)
    std = np.asarray(normalization.std, dtype=np.float32)
    return ((pixels.astype(np.float32) - mean) / std).astype(np.float32)


def round_half_away(values: np.ndarray) -> np.ndarray:
    """Round half away from zero (numpy's own rounding is half-to-even; Kotlin's roundToInt is half-up)."""
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def quantize(values: np.ndarray, scale: float, zero_point: int, dtype: np.dtype | type) -> np.ndarray:
    """`q = clamp(round(x / scale) + zero_point)` with round-half-away-from-zero."""
    info = np.iinfo(dtype)
    q = round_half_away(values.astype(np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return ((values.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)


def image_to_input(
    image: np.ndarray,
    shape: tuple[int, ...],
    dtype: np.dtype | type,
    normalization: Normalization | None,
    quantization: tuple[float, int] | None = None,
) -> np.ndarray:
    """One [H, W, C] uint8 image to one model input batch of `shape` [1, H, W, C].

    float models: resize, normalize. Integer models: the normalized value quantized with the
    input's own scale/zero point; without a normalization (a model that takes raw pixels) the
    resized pixel is rounded.
    """
    _, height, width, _ = shape
    pixels = resize_bilinear(image, height, width)
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        if normalization is None:
            raise ValueError("a float input needs a normalization")
        return normalize(pixels, normalization)[None]
    if normalization is None:
        info = np.iinfo(dtype)
        return np.clip(round_half_away(pixels), info.min, info.max).astype(dtype)[None]
    if quantization is None:
        raise ValueError("an integer input with a normalization needs its quantization")
    scale, zero_point = quantization
    return quantize(normalize(pixels, normalization), scale, zero_point, dtype)[None]


# ---------------------------------------------------------------- post-processing


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float32) - np.max(logits)
    exp = np.exp(shifted)
    return (exp / np.sum(exp)).astype(np.float32)


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (class, score), highest first; equal scores keep the lower class first."""
    order = np.argsort(-scores, kind="stable")[:k]
    return [(int(i), float(scores[i])) for i in order]


def argmax_mask(scores: np.ndarray) -> np.ndarray:
    """[H, W, C] scores to an [H, W] class map; ties go to the lowest class index (numpy's argmax rule)."""
    if scores.shape[-1] == 1:
        return (scores[..., 0] > 0.5).astype(np.int32)  # one channel: foreground probability
    return np.argmax(scores, axis=-1).astype(np.int32)
