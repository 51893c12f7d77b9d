"""Size, size / weight limit, latency and agreement of every recipe, measured in one run.

    .venv/bin/python benchmarks/quantization_table.py > benchmarks/quantization_table.txt

For MobileNetV2 (alpha 1.0, 224x224, 1000 classes) and a DeepLabV3-style segmenter
(MobileNetV2 alpha 0.5 backbone at output stride 16, an ASPP-like head, 257x257, 21 classes),
both with seeded random weights and batch-norm statistics from images (nothing is downloaded),
it runs `tflgen convert --quantize auto` machinery with an open budget so that every recipe
is converted and verified against the source on the same generated images.
Agreement on random-weight models is far below what trained models reach; it shows the method
and the relative cost of each recipe, not the accuracy of a real model.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import models  # noqa: E402

IMAGES = 40


def deeplab_style(size: int = 257, classes: int = 21):
    import keras
    from keras import layers

    keras.utils.set_random_seed(11)
    backbone = keras.applications.MobileNetV2(alpha=0.5, weights=None, include_top=False, input_shape=(size, size, 3))
    features = backbone.get_layer("block_13_expand_relu").output  # output stride 16
    branches = [layers.Conv2D(64, 1, padding="same", activation="relu")(features)]
    for rate in (2, 4):
        branches.append(layers.Conv2D(64, 3, padding="same", dilation_rate=rate, activation="relu")(features))
    pooled = layers.GlobalAveragePooling2D(keepdims=True)(features)
    pooled = layers.Conv2D(64, 1, activation="relu")(pooled)
    branches.append(layers.UpSampling2D(size=features.shape[1:3])(pooled))
    x = layers.Conv2D(64, 1, activation="relu")(layers.Concatenate()(branches))
    x = layers.Conv2D(classes, 1)(x)
    x = layers.Resizing(size, size, interpolation="bilinear")(x)
    model = keras.Model(backbone.input, layers.Softmax()(x))
    models.set_batchnorm_statistics(model, models.image_batch(size, 16))
    return model


def main() -> None:
    from tflgen.console import Reporter
    from tflgen.pipeline import ConvertOptions, convert_model
    from tflgen.recipes import Recipe
    from tflgen.spec import Preprocessing

    work = Path(tempfile.mkdtemp(prefix="tflgen-quant-"))
    images = models.write_images(work / "images", IMAGES, seed=3)
    calibration = models.write_images(work / "calibration", 60, seed=4)
    cases = {
        "MobileNetV2 1.0 224": models.mobilenet_v2(input_size=224, alpha=1.0, classes=1000, classifier_activation="softmax"),
        "DeepLabV3-style 257 (MobileNetV2 0.5)": deeplab_style(),
    }
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"images: {IMAGES} generated for verification, 60 others for int8 calibration; latency: median of 30 invoke() after 5 warm-up, XNNPACK")
    print()
    for name, model in cases.items():
        path = work / (name.split()[0] + ".keras")
        model.save(path)
        options = ConvertOptions(
            source=path, output=work / "chosen.tflite", force=True, recipe=Recipe.AUTO, calibration=calibration,
            calibration_count=60, preprocessing=Preprocessing.parse("127.5", "127.5"), images=images, max_drop=1.0,
        )
        with contextlib.redirect_stderr(io.StringIO()):
            result = convert_model(options, Reporter())
        print(f"## {name}, {result.source.parameter_count:,} parameters")
        print()
        print("| recipe | size (bytes) | size / weight limit | agreement | latency 1 thread (ms) | latency 2 threads (ms) |")
        print("|---|---|---|---|---|---|")
        for candidate in result.candidates:
            v = candidate.verification
            if v is None:
                print(f"| {candidate.recipe} | failed: {candidate.failure} | | | | |")
                continue
            latency = {run.threads: run.median_ms for run in v.latency}
            one, two = latency.get(1, float("nan")), latency.get(2, float("nan"))
            print(f"| {candidate.recipe} | {v.size_bytes:,} | {v.size_ratio:.3f} | {v.headline} {v.agreement:.4f} | {one:.2f} | {two:.2f} |")
        print()


if __name__ == "__main__":
    main()
