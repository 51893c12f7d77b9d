"""Calibration data for int8: the user's images, preprocessed exactly as the app will."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tflgen.console import Reporter
from tflgen.errors import CalibrationError
from tflgen.images import read_images
from tflgen.geometry import preprocess
from tflgen.reference import Normalization, image_to_input
from tflgen.spec import ColorOrder, InputSpec, ResizeMode

RANDOM_SEED = 0


@dataclass(frozen=True)
class CalibrationSet:
    samples: np.ndarray  # [N, 1, H, W, C], each one model input batch
    origin: str  # said in the summary, e.g. "100 images from ./photos"
    is_random: bool


def image_layout(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(height, width, channels) of an image input [1, H, W, C], or a CalibrationError."""
    if len(shape) != 4 or shape[0] != 1 or shape[3] not in (1, 3):
        raise CalibrationError(
            f"the model's input has shape {list(shape)}, not an image [1, height, width, 1 or 3]",
            "tflgen calibrates image models with NHWC input; pass --input-shape 1,H,W,C if the shape is dynamic",
        )
    return shape[1], shape[2], shape[3]


def load_calibration(
    folder: Path,
    count: int,
    shape: tuple[int, ...],
    dtype: np.dtype,
    normalization: Normalization | None,
    reporter: Reporter,
    color: ColorOrder | None = None,
    resize: ResizeMode = ResizeMode.STRETCH,
) -> CalibrationSet:
    """Images through the app's own preprocessing (`geometry.preprocess`: channel order, resize
    mode, normalization), so int8 ranges are calibrated on what the model will really see."""
    height, width, channels = image_layout(shape)
    input_spec = InputSpec(
        "input", height, width, channels, np.dtype(dtype).name, None,
        color or (ColorOrder.GRAY if channels == 1 else ColorOrder.RGB), normalization, resize,
    )
    images = read_images(folder, count, "--calibration", 3, reporter, progress="Reading calibration images")
    samples = [preprocess(image, input_spec)[0] for _, image in images]
    return CalibrationSet(
        np.stack(samples), f"{len(samples)} images from {folder}", is_random=False
    )


def random_calibration(
    count: int, shape: tuple[int, ...], dtype: np.dtype, normalization: Normalization | None
) -> CalibrationSet:
    """Uniform random pixels through the same preprocessing: the model runs, accuracy is unknown."""
    height, width, channels = image_layout(shape)
    rng = np.random.default_rng(RANDOM_SEED)
    samples = [
        image_to_input(rng.integers(0, 256, (height, width, channels), dtype=np.uint8), shape, dtype, normalization)
        for _ in range(count)
    ]
    return CalibrationSet(np.stack(samples), f"{count} random images (seed {RANDOM_SEED})", is_random=True)
