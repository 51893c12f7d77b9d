"""Test helpers: run the CLI in-process, run a .tflite, make real preprocessed inputs."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*args: object) -> CliResult:
    from tflgen.cli import main

    out, err = io.StringIO(), io.StringIO()
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "250"  # rich tables: one line per row, so tests can search them
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        if columns is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = columns
    return CliResult(code, out.getvalue(), err.getvalue())


def sample_inputs(images: Path, size: int, channels: int = 3, count: int = 6, mean: float = 127.5, std: float = 127.5) -> np.ndarray:
    """Real images preprocessed like the app does, as a stack of [1, size, size, C] float32 batches."""
    from tflgen.images import find_images, load_image
    from tflgen.reference import Normalization, image_to_input

    norm = Normalization((mean,) * channels, (std,) * channels)
    paths = find_images(images)[-count:]  # the last ones: calibration uses an even spread, overlap is fine
    return np.stack([image_to_input(load_image(p, channels), (1, size, size, channels), np.float32, norm) for p in paths])


def tflite_io(path: Path) -> tuple[dict, list[dict]]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    return interpreter.get_input_details()[0], interpreter.get_output_details()


def run_tflite(path: Path, batch: np.ndarray) -> list[np.ndarray]:
    """Run one float batch through a .tflite, quantizing the input and dequantizing the outputs
    with the model's own parameters (read from LiteRT, not from tflgen)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    if detail["dtype"] != np.float32:
        scale, zero_point = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        batch = np.clip(np.round(batch / scale) + zero_point, info.min, info.max).astype(detail["dtype"])
    interpreter.set_tensor(detail["index"], batch)
    interpreter.invoke()
    outputs = []
    for out in interpreter.get_output_details():
        value = interpreter.get_tensor(out["index"])
        scale, zero_point = out["quantization"]
        outputs.append((value.astype(np.float32) - zero_point) * scale if scale else value.astype(np.float32))
    return outputs


def sqnr_db(actual: np.ndarray, expected: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of `actual` against `expected`, in dB."""
    noise = float(np.sum((np.asarray(actual, np.float64) - expected) ** 2))
    signal = float(np.sum(np.asarray(expected, np.float64) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)



def convert_or_fail(source: Path, out: Path, images: Path, int8: bool, calibration_count: int = 16, flags: tuple[str, ...] = ()) -> Path:
    """Convert with the CLI as float32, or int8 with uint8 IO calibrated on `images` ([-1, 1] inputs);
    `flags` go along (a TF1 graph's --inputs/--outputs/--input-shape). The session's conversions are
    kept: the same source and settings again give a copy of the first result (tests of other stages
    share their models; tflgen's determinism is tested in test_convert)."""
    key = (str(Path(source).resolve()), str(Path(images).resolve()), int8, calibration_count if int8 else None, tuple(map(str, flags)))
    if key not in _CONVERTED:
        args: list[object] = ["convert", source, "-o", out, *flags]
        if int8:
            args += ["-q", "int8", "--io-type", "uint8", "--calibration", images, "--calibration-count", calibration_count,
                     "--mean", "127.5", "--std", "127.5"]
        result = run_cli(*args)
        assert result.code == 0, result.err
        _CONVERTED[key] = out.read_bytes()
    else:
        out.write_bytes(_CONVERTED[key])
    return out


_CONVERTED: dict[tuple, bytes] = {}
