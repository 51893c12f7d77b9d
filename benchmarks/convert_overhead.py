"""What tflgen's conversion costs on top of the bare converter, measured in one run.

    .venv/bin/python benchmarks/convert_overhead.py

For MobileNetV2 (alpha 1.0, 224x224, seeded random weights; nothing is downloaded) it prints:
- the wall time of `tflgen convert --quantize int8` (in-process, from the .keras file and an
  image folder) against the bare TFLiteConverter call on the same frozen function with the
  same preprocessed calibration data; ratio target <= 1.2;
- the wall time of `tflgen --help` in a fresh process; target <= 0.5 s;
- the int8 file size divided by the parameter count (TFLite's own structure puts it near
  1.15-1.2 for MobileNetV2), and what tflgen adds beyond the bare converter's bytes.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import numpy as np  # noqa: E402

import models  # noqa: E402

CALIBRATION_COUNT = 100
ROUNDS = 2


def bare_convert(keras_path: Path, samples: np.ndarray) -> bytes:
    import keras
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    model = keras.saving.load_model(str(keras_path), compile=False)
    # Named like the Keras input, as tflgen does, so that the two flatbuffers can be compared byte for byte.
    spec = tf.TensorSpec([1, 224, 224, 3], tf.float32, name=model.inputs[0].name)
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([convert_variables_to_constants_v2(function)], model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([s] for s in samples)
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    return converter.convert()


def tflgen_convert(keras_path: Path, images: Path, out: Path) -> None:
    from tflgen.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["convert", str(keras_path), "-o", str(out), "-q", "int8", "--io-type", "uint8", "--calibration", str(images),
                     "--calibration-count", str(CALIBRATION_COUNT), "--mean", "127.5", "--std", "127.5", "--force"])
    if code != 0:
        raise SystemExit(f"tflgen convert failed with exit code {code}")


def main() -> None:
    from tflgen.calibration import load_calibration
    from tflgen.console import Reporter
    from tflgen.reference import Normalization

    work = Path(tempfile.mkdtemp(prefix="tflgen-bench-"))
    images = models.write_images(work / "images", CALIBRATION_COUNT)
    model = models.mobilenet_v2(input_size=224, alpha=1.0, classes=1000, classifier_activation="softmax")
    keras_path = work / "mobilenet_v2.keras"
    model.save(keras_path)
    parameters = model.count_params()
    norm = Normalization((127.5,) * 3, (127.5,) * 3)
    with contextlib.redirect_stderr(io.StringIO()):
        samples = load_calibration(images, CALIBRATION_COUNT, (1, 224, 224, 3), np.dtype("float32"), norm, Reporter()).samples

    out = work / "tflgen.tflite"
    bare_times, tflgen_times = [], []
    bare_bytes = b""
    for _ in range(ROUNDS):  # interleaved, so that warm-up and machine load hit both alike
        start = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):
            bare_bytes = bare_convert(keras_path, samples)
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        tflgen_convert(keras_path, images, out)
        tflgen_times.append(time.perf_counter() - start)

    help_times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tflgen", "--help"], check=True, capture_output=True)
        help_times.append(time.perf_counter() - start)

    tflgen_size = out.stat().st_size
    bare, ours = min(bare_times), min(tflgen_times)
    print(f"MobileNetV2 1.0 224, {parameters:,} parameters, int8 with uint8 IO, {CALIBRATION_COUNT} calibration images")
    print(f"bare TFLiteConverter      {bare:7.2f} s (best of {ROUNDS})")
    print(f"tflgen convert            {ours:7.2f} s (best of {ROUNDS}; includes reading the images)")
    print(f"convert overhead ratio    {ours / bare:7.3f}   (target <= 1.2)")
    print(f"tflgen --help             {statistics.median(help_times):7.3f} s (median of 5 fresh processes; target <= 0.5)")
    print(f"int8 bytes / parameters   {tflgen_size / parameters:7.3f}   ({tflgen_size:,} bytes)")
    print(f"bytes beyond the bare converter: {tflgen_size - len(bare_bytes):+,} (identical model: {out.read_bytes() == bare_bytes})")


if __name__ == "__main__":
    main()
