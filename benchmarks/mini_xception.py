"""A trained mini-Xception: the kind of model issue 16's --keep-accuracy target is about, trained here.

    .venv/bin/python benchmarks/mini_xception.py [--out DIR]

The issue measured a trained Keras 2 emotion classifier (mini-Xception, 64x64 grayscale faces, 7
classes) that can't be downloaded on these machines, nor can a face dataset. This script builds the
same architecture, as Arriaga, Ploeger and Valdenegro describe it ("Real-time Convolutional Neural
Networks for Emotion and Gender Classification", 2017: two 3x3 convolutions, four residual modules
of depthwise-separable convolutions with 16/32/64/128 filters, a 3x3 convolution to the classes,
global average pooling, softmax; batch norm after every convolution, L2 0.01 on the weights), and
trains it on generated 64x64 grayscale images of seven shapes (circle, triangle, square, pentagon,
hexagon, star, cross) on the example backgrounds, with x = (pixel - 127.5) / 127.5 as that model
takes. It is not the issue's model: same architecture, input and class count, other data.

Writes `<out>/model.keras`, `<out>/labels.txt` and `<out>/quality.json` (held-out accuracy), and
`images(purpose)` makes the calibration and held-out sets the accuracy benchmark uses.
Deterministic (seeds, TensorFlow op determinism, CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""
# TensorFlow 2.21's oneDNN kernels corrupt the heap training this model here ("malloc(): corrupted top size"):
# the plain Eigen kernels train it.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generator"))

CLASSES = ("circle", "triangle", "square", "pentagon", "hexagon", "star", "cross")
SIZE = 64
SEEDS = {"train": 21, "held_out": 121, "calibration": 221, "weights": 5}
TRAIN, HELD_OUT, EPOCHS, BATCH, LR = 16000, 1000, 12, 64, 3e-3
DEFAULT_OUT = Path.home() / ".cache" / "tflgen-benchmarks" / "mini_xception"


def _outline(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]] | None:
    corners = {"triangle": 3, "square": 4, "pentagon": 5, "hexagon": 6}
    if kind == "circle":
        return None
    if kind in corners:
        n = corners[kind]
        angles, radii = angle + np.arange(n) * 2 * np.pi / n, np.full(n, r)
    elif kind == "star":
        angles, radii = angle + np.arange(10) * np.pi / 5, np.where(np.arange(10) % 2 == 0, r, 0.42 * r)
    else:  # cross: 12 corners, arms a third of the width
        a = r / 3
        points = [(a, r), (a, a), (r, a), (r, -a), (a, -a), (a, -r), (-a, -r), (-a, -a), (-r, -a), (-r, a), (-a, a), (-a, r)]
        c, s = np.cos(angle), np.sin(angle)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in points]
    return [(float(cx + q * np.cos(t)), float(cy + q * np.sin(t))) for q, t in zip(radii, angles)]


def sample(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One [64, 64] uint8 grayscale image and its class: a shape of varied size, tone and rotation
    on a grey crop of an example background, with noise and sometimes a distracting line."""
    from tflgen.examples.shapes import background

    grey = background(rng, SIZE).mean(axis=2)
    kind = int(rng.integers(len(CLASSES)))
    r = float(rng.uniform(0.22, 0.42) * SIZE)
    cx, cy = rng.uniform(r + 1, SIZE - r - 1, 2)
    scale = 4  # drawn at 4x and box-filtered: anti-aliased edges
    canvas = Image.new("L", (SIZE * scale, SIZE * scale), 0)
    draw = ImageDraw.Draw(canvas)
    points = _outline(CLASSES[kind], cx * scale, cy * scale, r * scale, float(rng.uniform(0, 2 * np.pi)))
    if points is None:
        q = 0.9 * r * scale
        draw.ellipse((cx * scale - q, cy * scale - q, cx * scale + q, cy * scale + q), fill=255)
    else:
        draw.polygon(points, fill=255)
    alpha = np.asarray(canvas.resize((SIZE, SIZE), Image.BOX), np.float32) / 255.0
    behind = float(grey[alpha > 0.5].mean()) if (alpha > 0.5).any() else float(grey.mean())
    tone = float(rng.uniform(0, 255))
    while abs(tone - behind) < 60:
        tone = float(rng.uniform(0, 255))
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    shading = 1 + rng.uniform(0, 0.3) * ((xx - cx) * np.cos(tone) + (yy - cy) * np.sin(tone)) / r
    image = grey * (1 - alpha) + np.clip(tone * shading, 0, 255) * alpha
    if rng.random() < 0.4:
        line = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
        x0, y0, x1, y1 = rng.uniform(0, SIZE, 4)
        ImageDraw.Draw(line).line((x0, y0, x1, y1), fill=int(rng.integers(256)), width=int(rng.integers(1, 3)))
        image = np.asarray(line, np.float32)
    image = image * rng.uniform(0.7, 1.2) + rng.uniform(-25, 25) + rng.normal(0, rng.uniform(0, 8), image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8), kind


def dataset(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(images [count, 64, 64, 1] uint8, labels [count]); image i comes from default_rng([seed, i])."""
    pairs = [sample(np.random.default_rng([seed, i])) for i in range(count)]
    return np.stack([p[0] for p in pairs])[..., None], np.asarray([p[1] for p in pairs], np.int32)


def write_images(folder: Path, purpose: str, count: int) -> Path:
    """`count` grayscale PNGs for calibration or held-out verification (made once): half of them
    one shape as the model was trained on, half scenes it never saw (the detection example's 1-4
    small shapes among clutter, 160x160 RGB), like the issue's face and non-face photos. On those
    the model is unsure, and its soft probabilities are what int8 rounding disturbs."""
    from tflgen.examples import shapes

    folder = Path(folder)
    if folder.is_dir() and len(list(folder.glob("*.png"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    own, _ = dataset(count - count // 2, SEEDS[purpose])
    for i, image in enumerate(own):
        Image.fromarray(image[..., 0], mode="L").save(folder / f"shape_{i:04d}.png")
    for i, image in enumerate(shapes.images("detection", count // 2, SEEDS[purpose] + 1000)):
        Image.fromarray(image).convert("L").save(folder / f"scene_{i:04d}.png")
    return folder


def build(classes: int = len(CLASSES)):  # noqa: ANN201
    import keras
    from keras import layers

    l2 = keras.regularizers.L2(0.01)

    def bn(x):  # noqa: ANN001, ANN202
        return layers.BatchNormalization(momentum=0.99)(x)

    inputs = keras.Input((SIZE, SIZE, 1), name="face")
    x = layers.ReLU()(bn(layers.Conv2D(8, 3, use_bias=False, kernel_regularizer=l2)(inputs)))
    x = layers.ReLU()(bn(layers.Conv2D(8, 3, use_bias=False, kernel_regularizer=l2)(x)))
    for filters in (16, 32, 64, 128):
        residual = bn(layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x))
        x = layers.ReLU()(bn(layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                                    depthwise_regularizer=l2, pointwise_regularizer=l2)(x)))
        x = bn(layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=l2, pointwise_regularizer=l2)(x))
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        x = layers.Add()([x, residual])
    x = layers.Conv2D(classes, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Softmax(name="predictions")(x), name="mini_xception")


def train(out: Path) -> dict:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEEDS["weights"])
    tf.config.experimental.enable_op_determinism()
    started = time.monotonic()
    x, y = dataset(TRAIN, SEEDS["train"])
    hx, hy = dataset(HELD_OUT, SEEDS["held_out"])
    normalize = lambda images: (images.astype(np.float32) - 127.5) / 127.5  # noqa: E731
    model = build()
    steps = EPOCHS * (TRAIN // BATCH)
    schedule = keras.optimizers.schedules.CosineDecay(LR, steps, warmup_target=None)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    flips = np.random.default_rng(SEEDS["weights"])
    for epoch in range(EPOCHS):
        batch = x.copy()
        flip = flips.random(len(batch)) < 0.5  # the shapes are mirror-symmetric classes
        batch[flip] = batch[flip][:, :, ::-1]
        history = model.fit(normalize(batch), y, batch_size=BATCH, epochs=1, verbose=0, shuffle=True)
        print(f"epoch {epoch + 1}/{EPOCHS}: loss {history.history['loss'][-1]:.3f}, accuracy {history.history['accuracy'][-1]:.3f}", flush=True)
    accuracy = float(np.mean(np.argmax(model.predict(normalize(hx), verbose=0), axis=1) == hy))
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    (out / "labels.txt").write_text("\n".join(CLASSES) + "\n")
    quality = {"held_out_images": HELD_OUT, "held_out_seed": SEEDS["held_out"], "float_top1_accuracy": accuracy,
               "parameters": int(model.count_params()), "train_images": TRAIN, "epochs": EPOCHS, "train_seconds": round(time.monotonic() - started)}
    (out / "quality.json").write_text(json.dumps(quality, indent=2) + "\n")
    return quality


def trained(out: Path = DEFAULT_OUT) -> Path:
    """The trained model's folder, training it first if it isn't there."""
    if not (out / "model.keras").is_file():
        train(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    print(json.dumps(train(args.out), indent=2))


if __name__ == "__main__":
    main()
