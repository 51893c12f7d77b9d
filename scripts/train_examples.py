"""Train tflgen's three example models on generated shapes, check them, and write them into the package.

    .venv/bin/python scripts/train_examples.py [--only NAME] [--quick] [--out DIR]

For each example (`tflgen.examples.EXAMPLES`): generate a training set (`tflgen.examples.shapes`,
fixed seed), build and train the model on the CPU, evaluate the float Keras model on a held-out
set (another seed), convert it with tflgen's own pipeline to full-integer int8 with uint8 IO
(calibration on generated images written by `shapes.write_images`; the detector with
`--ssd-anchors`, which appends TFLite_Detection_PostProcess), evaluate the int8 model in LiteRT on
the same held-out set, and write `<out>/<name>/model.keras`, `labels.txt`, (`anchors.npy`),
`quality.json` and `images/*.png`.

- classification: keras.applications.MobileNetV2 (alpha 0.35, trained from scratch), 96x96, softmax [1, 4].
- detection: SSD, MobileNetV2 (alpha 0.35) backbone initialised from the trained classifier's,
  160x160, SSDLite heads on the stride-16 (10x10) and stride-32 (5x5) maps, 3 square anchors per
  cell (375 in all); raw outputs class scores [1, 375, 5] (softmax, background first) and box
  encodings [1, 375, 4] (ty, tx, th, tw with scales 10, 10, 5, 5). Loss: smooth-L1 on the
  encodings of positive anchors + softmax cross-entropy with 3:1 hard-negative mining.
- segmentation: DeepLabV3+-style, MobileNetV2 (alpha 0.35) encoder to stride 16 (initialised from
  the classifier), ASPP-lite (1x1, dilated separable 3x3, image pooling), decoder with the stride-4
  skip, bilinear upsampling; logits [1, 128, 128, 5], background first.

All models take RGB, x = (pixel - 127.5) / 127.5. Training is deterministic (seeds, TensorFlow
op determinism, CPU only). `--quick` trains tiny versions into /tmp (a smoke test of the script).
The background photos (`tflgen/examples/backgrounds/*.jpg`, crops of scikit-image's sample
data) are saved on the first run only; scikit-image is needed then, never at run time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("PYTHONHASHSEED", "0")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generator"))

from tflgen.examples import CALIBRATION_COUNT, EXAMPLES, EXAMPLES_DIR, SEEDS, SHAPE_CLASSES, Example  # noqa: E402

PLAN = {  # training images, epochs, batch, peak learning rate, held-out images
    "classification": {"train": 12000, "epochs": 8, "batch": 64, "lr": 3e-3, "held_out": 1000},
    "detection": {"train": 6000, "epochs": 8, "batch": 32, "lr": 2e-3, "held_out": 500},
    "segmentation": {"train": 5000, "epochs": 8, "batch": 32, "lr": 2e-3, "held_out": 300},
}
QUICK = {"train": 0.05, "epochs": 1, "held_out": 0.1}
ALPHA = 0.35
BN_MOMENTUM = 0.99  # Keras' MobileNetV2 uses 0.999: too slow for a few thousand steps
BACKGROUND_PHOTOS = (
    "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
    "camera", "coins", "moon", "page", "text", "grass", "gravel", "brick", "colorwheel",
)

# detection: anchors (cy, cx, h, w) per feature map, in the heads' output order (row, column, anchor)
DETECTION_MAPS = ((10, (0.12, 0.17, 0.24)), (5, (0.32, 0.42, 0.55)))
POSITIVE_IOU, NEGATIVE_IOU = 0.5, 0.4  # in between: ignored
NEGATIVES_PER_POSITIVE = 3


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------- backgrounds (once)


def save_backgrounds(folder: Path, crop: int = 176, per_photo: int = 2, quality: int = 78) -> None:
    """Crops of scikit-image's sample photos as small JPEGs (shapes.py reads them at run time)."""
    if any(folder.glob("*.jpg")):
        return
    import skimage.data
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    for name in BACKGROUND_PHOTOS:
        photo = np.asarray(getattr(skimage.data, name)())
        if photo.ndim == 2:
            photo = np.stack([photo] * 3, axis=-1)
        image = Image.fromarray(photo[..., :3].astype(np.uint8))
        scale = 256 / min(image.size)
        image = image.resize((max(crop, round(image.size[0] * scale)), max(crop, round(image.size[1] * scale))), Image.LANCZOS)
        pixels = np.asarray(image)
        for k in range(per_photo):
            y = int(rng.integers(0, pixels.shape[0] - crop + 1))
            x = int(rng.integers(0, pixels.shape[1] - crop + 1))
            Image.fromarray(pixels[y:y + crop, x:x + crop]).save(folder / f"{name}_{k}.jpg", quality=quality, optimize=True)
    total = sum(p.stat().st_size for p in folder.glob("*.jpg"))
    log(f"saved {len(list(folder.glob('*.jpg')))} background photos ({total / 1024:.0f} KB) into {folder}")


# ---------------------------------------------------------------- shared model parts


def backbone(size: int):
    import keras

    base = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=ALPHA, weights=None, include_top=False)
    return base


def set_bn_momentum(model, momentum: float = BN_MOMENTUM) -> None:
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def warm_start(model, donor_path: Path) -> int:
    """Copy the trained classifier's backbone weights (same layer names) into `model`; returns layers copied."""
    import keras

    if not donor_path.is_file():
        log(f"  (no {donor_path}: backbone starts from random weights)")
        return 0
    donor = keras.saving.load_model(donor_path, compile=False)
    by_name = {layer.name: layer for layer in donor.layers}
    copied = 0
    for layer in model.layers:
        other = by_name.get(layer.name)
        if other is None or not layer.weights:
            continue
        weights = other.get_weights()
        if [w.shape for w in weights] == [w.shape for w in layer.get_weights()]:
            layer.set_weights(weights)
            copied += 1
    log(f"  backbone initialised from {donor_path} ({copied} layers)")
    return copied


def optimizer(lr: float, steps: int):
    import keras

    warmup = max(1, steps // 20)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr * 0.05, decay_steps=max(1, steps - warmup), alpha=0.01, warmup_target=lr, warmup_steps=warmup
    )
    return keras.optimizers.AdamW(learning_rate=schedule, weight_decay=1e-4)


def separable(x, filters: int, name: str, dilation: int = 1, stride: int = 1):
    from keras import layers

    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", dilation_rate=dilation, use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu")(x)
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    x = layers.BatchNormalization(name=f"{name}_pw_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_pw_relu")(x)


def conv_bn(x, filters: int, name: str):
    from keras import layers

    x = layers.Conv2D(filters, 1, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


# ---------------------------------------------------------------- augmentation (tf.data, on the fly)
# The 8 flips/rotations of the square (shapes keep their class) and a channel permutation
# (colours change, shapes don't): more variety for the same generated set.


def _coin():
    import tensorflow as tf

    return tf.random.uniform([]) < 0.5


def _dihedral(tensors: list, transpose, flip_x, flip_y) -> list:
    """The same transposition/flips of several [H, W, ...] tensors."""
    import tensorflow as tf

    out = []
    for t in tensors:
        perm = [1, 0] + list(range(2, len(t.shape)))
        t = tf.cond(transpose, lambda t=t: tf.transpose(t, perm), lambda t=t: t)  # noqa: B023 (tf.cond calls it at once)
        t = tf.cond(flip_x, lambda t=t: tf.reverse(t, [1]), lambda t=t: t)
        t = tf.cond(flip_y, lambda t=t: tf.reverse(t, [0]), lambda t=t: t)
        out.append(t)
    return out


def _colours(image):
    """A random channel order, then the models' normalization (pixel - 127.5) / 127.5."""
    import tensorflow as tf

    image = tf.gather(image, tf.argsort(tf.random.uniform([3])), axis=-1)
    return (image - 127.5) / 127.5


def dataset(images: np.ndarray, targets: np.ndarray, batch: int, seed: int, augment):
    """Shuffled, augmented, normalized batches from uint8 images and their targets."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((images, targets)).shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    data = data.map(lambda x, y: augment(tf.cast(x, tf.float32), y), num_parallel_calls=1, deterministic=True)
    return data.batch(batch).prefetch(2)


def augment_label(image, label):
    image, = _dihedral([image], _coin(), _coin(), _coin())
    return _colours(image), label


def augment_mask(image, mask):
    image, mask = _dihedral([image, mask], _coin(), _coin(), _coin())
    return _colours(image), mask


def augment_ssd(image, targets):
    """Image and per-anchor targets together: anchors are square and on symmetric grids, so a
    flip or transposition permutes them; the encodings change sign (flip) or swap (transpose)."""
    import tensorflow as tf

    transpose, flip_x, flip_y = _coin(), _coin(), _coin()
    image, = _dihedral([image], transpose, flip_x, flip_y)
    parts, start = [], 0
    for grid, scales in DETECTION_MAPS:
        count = grid * grid * len(scales)
        block = tf.reshape(targets[start:start + count], [grid, grid, len(scales), -1])
        ty, tx, th, tw, rest = block[..., 0:1], block[..., 1:2], block[..., 2:3], block[..., 3:4], block[..., 4:]
        block = tf.cond(transpose, lambda: tf.concat([tx, ty, tw, th, rest], -1), lambda: block)  # noqa: B023 (called at once)
        block, = _dihedral([block], transpose, tf.constant(False), tf.constant(False))
        sign_x = tf.where(flip_x, -1.0, 1.0)
        sign_y = tf.where(flip_y, -1.0, 1.0)
        block = tf.concat([block[..., 0:1] * sign_y, block[..., 1:2] * sign_x, block[..., 2:]], -1)
        block, = _dihedral([block], tf.constant(False), flip_x, flip_y)
        parts.append(tf.reshape(block, [count, -1]))
        start += count
    return _colours(image), tf.concat(parts, 0)


# ---------------------------------------------------------------- classification


def build_classifier(size: int):
    import keras
    from keras import layers

    base = backbone(size)
    x = layers.GlobalAveragePooling2D(name="pool")(base.output)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(len(SHAPE_CLASSES), activation="softmax", name="probabilities")(x)
    return keras.Model(base.input, outputs, name="shapes_classifier")


def train_classification(example: Example, plan: dict, seeds: dict, out: Path) -> tuple:  # noqa: ARG001 (TRAIN's signature)
    import keras

    from tflgen.examples import shapes

    started = time.perf_counter()
    x, y = shapes.classification_images(plan["train"], seeds["train"])
    log(f"  {len(x)} training images generated in {time.perf_counter() - started:.0f} s (class counts {np.bincount(y).tolist()})")
    keras.utils.set_random_seed(seeds["weights"])
    model = build_classifier(example.input_size)
    set_bn_momentum(model)
    steps = plan["epochs"] * int(np.ceil(len(x) / plan["batch"]))
    model.compile(optimizer(plan["lr"], steps), keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"], jit_compile=False)
    model.fit(dataset(x, y, plan["batch"], seeds["train"], augment_label), epochs=plan["epochs"], verbose=2)
    return model, {}


# ---------------------------------------------------------------- detection


def detection_anchors() -> np.ndarray:
    """[N, 4] cy, cx, h, w: per map (10x10 then 5x5), row-major cells, then the cell's anchors."""
    rows = []
    for grid, scales in DETECTION_MAPS:
        centres = (np.arange(grid) + 0.5) / grid
        for cy in centres:
            for cx in centres:
                rows.extend([cy, cx, s, s] for s in scales)
    return np.asarray(rows, dtype=np.float32)


def _corners(anchors: np.ndarray) -> np.ndarray:
    cy, cx, h, w = anchors.T
    return np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=1)


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of corner boxes a [N, 4] x b [M, 4]."""
    top = np.maximum(a[:, None, 0], b[None, :, 0])
    left = np.maximum(a[:, None, 1], b[None, :, 1])
    bottom = np.minimum(a[:, None, 2], b[None, :, 2])
    right = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(bottom - top, 0, None) * np.clip(right - left, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def encode(boxes: np.ndarray, anchors: np.ndarray, scales) -> np.ndarray:
    """Corner boxes [N, 4] to CenterSize encodings relative to anchors (the inverse of the op's decoding)."""
    ymin, xmin, ymax, xmax = boxes.T
    cy, cx, h, w = (ymin + ymax) / 2, (xmin + xmax) / 2, ymax - ymin, xmax - xmin
    ya, xa, ha, wa = anchors.T
    return np.stack([
        (cy - ya) / ha * scales[0], (cx - xa) / wa * scales[1], np.log(h / ha) * scales[2], np.log(w / wa) * scales[3],
    ], axis=1).astype(np.float32)


def detection_targets(boxes: list[np.ndarray], classes: list[np.ndarray], anchors: np.ndarray, scales) -> np.ndarray:
    """[count, N, 4 + K] targets: encodings, then the anchor's label (0 background, c + 1, -1 ignored), zeros."""
    corners = _corners(anchors)
    k = len(SHAPE_CLASSES) + 1
    targets = np.zeros((len(boxes), len(anchors), 4 + k), dtype=np.float32)
    for i, (gt, cls) in enumerate(zip(boxes, classes)):
        iou = _iou_matrix(corners, gt)  # [N, M]
        best_gt = iou.argmax(axis=1)
        best_iou = iou.max(axis=1)
        best_gt[iou.argmax(axis=0)] = np.arange(len(gt))  # every object gets its best anchor
        best_iou[iou.argmax(axis=0)] = 1.0
        labels = np.where(best_iou >= POSITIVE_IOU, cls[best_gt] + 1, np.where(best_iou < NEGATIVE_IOU, 0, -1))
        targets[i, :, :4] = encode(gt[best_gt], anchors, scales)
        targets[i, :, 4] = labels
    return targets


def ssd_loss(y_true, y_pred):
    """Per image: (smooth-L1 of the positives' encodings + CE of positives + CE of the hardest
    negatives, 3 per positive) / number of positives."""
    import tensorflow as tf

    labels = tf.cast(y_true[..., 4], tf.int32)
    positive = tf.cast(labels > 0, tf.float32)
    negative = labels == 0
    count = tf.reduce_sum(positive, axis=1)
    error = tf.abs(y_true[..., :4] - y_pred[..., :4])
    smooth_l1 = tf.reduce_sum(tf.where(error < 1.0, 0.5 * error * error, error - 0.5), axis=-1)
    loc = tf.reduce_sum(smooth_l1 * positive, axis=1)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.maximum(labels, 0), y_pred[..., 4:])
    negative_ce = tf.where(negative, ce, tf.zeros_like(ce))
    rank = tf.argsort(tf.argsort(negative_ce, axis=1, direction="DESCENDING", stable=True), axis=1, stable=True)
    keep = tf.cast(rank, tf.float32) < tf.maximum(NEGATIVES_PER_POSITIVE * count, 8.0)[:, None]
    hard = tf.reduce_sum(tf.where(keep & negative, ce, tf.zeros_like(ce)), axis=1)
    return (loc + tf.reduce_sum(ce * positive, axis=1) + hard) / tf.maximum(count, 1.0)


def build_detector(size: int, anchors_per_cell: int):
    """(training model: image -> [B, N, 4 + K] encodings and logits; export model: image -> [class scores, box encodings])."""
    import keras
    from keras import layers

    k = len(SHAPE_CLASSES) + 1
    base = backbone(size)
    features = [base.get_layer("block_13_expand_relu").output, base.get_layer("block_16_project_BN").output]
    boxes, logits = [], []
    for i, feature in enumerate(features):
        x = separable(feature, 96, f"ssd_head{i}")
        box = layers.Conv2D(anchors_per_cell * 4, 1, name=f"ssd_box{i}")(separable(x, 96, f"ssd_boxtower{i}"))
        cls = layers.Conv2D(anchors_per_cell * k, 1, name=f"ssd_cls{i}", bias_initializer=keras.initializers.Constant(
            np.tile(np.array([np.log(99.0)] + [0.0] * (k - 1), dtype=np.float32), anchors_per_cell)))(separable(x, 96, f"ssd_clstower{i}"))
        cells = feature.shape[1] * feature.shape[2] * anchors_per_cell
        boxes.append(layers.Reshape((cells, 4), name=f"ssd_box{i}_reshape")(box))
        logits.append(layers.Reshape((cells, k), name=f"ssd_cls{i}_reshape")(cls))
    box_encodings = layers.Concatenate(axis=1, name="box_encodings")(boxes)
    class_logits = layers.Concatenate(axis=1, name="class_logits")(logits)
    scores = layers.Softmax(axis=-1, name="class_scores")(class_logits)
    training = keras.Model(base.input, layers.Concatenate(axis=-1, name="training_output")([box_encodings, class_logits]))
    export = keras.Model(base.input, [scores, box_encodings], name="shapes_ssd")
    return training, export


def train_detection(example: Example, plan: dict, seeds: dict, out: Path) -> tuple:
    import keras

    from tflgen.examples import shapes

    anchors = detection_anchors()
    started = time.perf_counter()
    data = shapes.detection_images(plan["train"], seeds["train"])
    targets = detection_targets(data.boxes, data.classes, anchors, example.ssd_scales)
    positives = (targets[..., 4] > 0).sum(axis=1)
    log(f"  {len(data.images)} training images generated in {time.perf_counter() - started:.0f} s; {len(anchors)} anchors, "
        f"{sum(len(b) for b in data.boxes)} objects, positive anchors per image: mean {positives.mean():.1f}, min {positives.min()}")
    keras.utils.set_random_seed(seeds["weights"])
    training, export = build_detector(example.input_size, len(DETECTION_MAPS[0][1]))
    warm_start(training, out / "classification" / "model.keras")
    set_bn_momentum(training)
    steps = plan["epochs"] * int(np.ceil(len(data.images) / plan["batch"]))
    training.compile(optimizer(plan["lr"], steps), ssd_loss, jit_compile=False)
    training.fit(dataset(data.images, targets, plan["batch"], seeds["train"], augment_ssd), epochs=plan["epochs"], verbose=2)
    return export, {"anchors": anchors}


# ---------------------------------------------------------------- segmentation


def build_segmenter(size: int):
    import keras
    from keras import layers

    k = len(SHAPE_CLASSES) + 1
    base = backbone(size)
    high = base.get_layer("block_13_expand_relu").output  # stride 16
    low = base.get_layer("block_3_expand_relu").output  # stride 4
    # ASPP-lite
    a = conv_bn(high, 64, "aspp_1x1")
    b = separable(high, 64, "aspp_d2", dilation=2)
    pooled = layers.GlobalAveragePooling2D(keepdims=True, name="aspp_pool")(high)
    pooled = conv_bn(pooled, 64, "aspp_pool_conv")
    pooled = layers.UpSampling2D(size=(high.shape[1], high.shape[2]), name="aspp_pool_up")(pooled)
    x = layers.Concatenate(name="aspp_concat")([a, b, pooled])
    x = conv_bn(x, 64, "aspp_project")
    # decoder
    x = layers.UpSampling2D(size=4, interpolation="bilinear", name="decoder_up")(x)
    skip = conv_bn(low, 24, "decoder_skip")
    x = layers.Concatenate(name="decoder_concat")([x, skip])
    x = separable(x, 64, "decoder_conv1")
    x = separable(x, 64, "decoder_conv2")
    x = layers.Conv2D(k, 1, name="decoder_logits")(x)
    logits = layers.UpSampling2D(size=4, interpolation="bilinear", name="logits")(x)
    return keras.Model(base.input, logits, name="shapes_deeplab")


def train_segmentation(example: Example, plan: dict, seeds: dict, out: Path) -> tuple:
    import keras

    from tflgen.examples import shapes

    started = time.perf_counter()
    x, masks = shapes.segmentation_images(plan["train"], seeds["train"])
    share = np.bincount(masks.ravel(), minlength=len(SHAPE_CLASSES) + 1) / masks.size
    log(f"  {len(x)} training images generated in {time.perf_counter() - started:.0f} s (pixel shares {np.round(share, 3).tolist()})")
    keras.utils.set_random_seed(seeds["weights"])
    model = build_segmenter(example.input_size)
    warm_start(model, out / "classification" / "model.keras")
    set_bn_momentum(model)
    steps = plan["epochs"] * int(np.ceil(len(x) / plan["batch"]))
    model.compile(optimizer(plan["lr"], steps), keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)
    model.fit(dataset(x, masks.astype(np.int32), plan["batch"], seeds["train"], augment_mask), epochs=plan["epochs"], verbose=2)
    return model, {}


TRAIN = {"classification": train_classification, "detection": train_detection, "segmentation": train_segmentation}
HELD_OUT = {"classification": "classification_images", "detection": "detection_images", "segmentation": "segmentation_images"}


# ---------------------------------------------------------------- convert, evaluate, write


def convert_int8(example: Example, model_path: Path, anchors_path: Path | None, calibration: Path, output: Path) -> bytes:
    """tflgen's own pipeline: int8, uint8 IO, calibrated on generated images (+ the SSD op for detection)."""
    from tflgen.console import Reporter
    from tflgen.pipeline import ConvertOptions, convert_model
    from tflgen.recipes import IoType, Recipe
    from tflgen.ssd import SsdOptions

    options = ConvertOptions(
        source=model_path, output=output, force=True, recipe=Recipe.INT8, io_type=IoType.UINT8,
        calibration=calibration, calibration_count=CALIBRATION_COUNT, preprocessing=example.preprocessing,
        ssd=SsdOptions(anchors=anchors_path, scales=example.scales_option) if anchors_path else None,
    )
    convert_model(options, Reporter())
    return output.read_bytes()


def convert_command(example: Example, folder: Path) -> str:
    parts = [".venv/bin/tflgen convert", str(folder / "model.keras")]
    if example.anchors:
        parts += ["--ssd-anchors", str(folder / example.anchors), "--ssd-scales", example.scales_option]
    parts += ["--quantize int8 --io-type uint8 --calibration CALIBRATION_DIR", f"--mean {example.mean_option} --std {example.std_option}",
              f"-o {example.name}.tflite"]
    return " ".join(parts)


def labels_for(example: Example) -> list[str]:
    return ["background", *SHAPE_CLASSES] if example.task == "segmentation" else list(SHAPE_CLASSES)


def run_example(example: Example, out: Path, quick: bool) -> dict:
    import keras
    import tensorflow as tf

    from tflgen.examples import quality, shapes

    plan = dict(PLAN[example.name])
    if quick:
        plan.update(train=max(64, int(plan["train"] * QUICK["train"])), epochs=QUICK["epochs"], held_out=max(20, int(plan["held_out"] * QUICK["held_out"])))
    seeds = SEEDS[example.name]
    folder = out / example.name
    log(f"\n=== {example.name}: {plan['train']} images x {plan['epochs']} epochs, input {example.input_size}x{example.input_size}")
    keras.utils.set_random_seed(seeds["weights"])
    started = time.perf_counter()
    model, extra = TRAIN[example.name](example, plan, seeds, out)
    seconds = time.perf_counter() - started
    log(f"  trained in {seconds:.0f} s")

    staging = Path(tempfile.mkdtemp(prefix=f"tflgen-example-{example.name}-"))
    try:
        model_path = staging / "model.keras"
        shipped = keras.Model.from_config(model.get_config())  # uncompiled: the file holds no optimizer state
        shipped.set_weights(model.get_weights())
        shipped.save(model_path)
        anchors_path = None
        if "anchors" in extra:
            anchors_path = staging / "anchors.npy"
            np.save(anchors_path, extra["anchors"])
        (staging / "labels.txt").write_text("\n".join(labels_for(example)) + "\n", encoding="utf-8")

        held_out = getattr(shapes, HELD_OUT[example.name])(plan["held_out"], seeds["held_out"])
        reloaded = keras.saving.load_model(model_path, compile=False)  # evaluate what is shipped
        evaluation_example = _at(example, staging)
        started = time.perf_counter()
        float_metrics = quality.evaluate_keras(evaluation_example, reloaded, held_out)
        log(f"  float: {_brief(float_metrics)} ({time.perf_counter() - started:.0f} s)")

        calibration = staging / "calibration"
        shapes.write_images(calibration, example.task, CALIBRATION_COUNT, seeds["calibration"])
        started = time.perf_counter()
        content = convert_int8(example, model_path, anchors_path, calibration, staging / "model_int8.tflite")
        log(f"  int8 conversion: {len(content) / 1024:.0f} KB in {time.perf_counter() - started:.0f} s")
        int8_metrics = quality.evaluate_tflite(evaluation_example, content, held_out)
        log(f"  int8:  {_brief(int8_metrics)}")

        head = quality.headline(example)
        target = quality.TARGETS[example.task]
        report = {
            "example": example.name, "task": example.task, "description": example.description,
            "input": {"shape": [1, example.input_size, example.input_size, 3], "color": "RGB",
                      "normalization": {"mean": example.mean, "std": example.std, "formula": "(pixel - mean) / std"}},
            "labels": labels_for(example),
            "parameters": int(model.count_params()),
            "keras_file_bytes": model_path.stat().st_size,
            "int8_tflite_bytes": len(content),
            "headline": head, "target": target,
            "float": float_metrics, "int8": int8_metrics,
            "meets_target": {"float": float_metrics[head] >= target, "int8": int8_metrics[head] >= target},
            "held_out": {"count": plan["held_out"], "seed": seeds["held_out"]},
            "training": {"images": plan["train"], "epochs": plan["epochs"], "batch": plan["batch"], "peak_learning_rate": plan["lr"],
                         "seed_images": seeds["train"], "seed_weights": seeds["weights"], "seconds": round(seconds, 1), "quick": quick},
            "int8_conversion": {"recipe": "int8", "io_type": "uint8", "calibration_images": CALIBRATION_COUNT,
                                "calibration_seed": seeds["calibration"], "command": convert_command(example,
                                    Path("generator/tflgen/examples") / example.name)},
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
        }
        if example.task == "detection":
            report["ssd"] = {
                "anchors": len(extra["anchors"]), "anchor_layout": "cy, cx, h, w normalized; maps 10x10 then 5x5, row-major cells, "
                "3 square anchors per cell (sizes " + "; ".join(f"{g}x{g}: {', '.join(map(str, s))}" for g, s in DETECTION_MAPS) + ")",
                "scales": list(example.ssd_scales), "class_scores": "softmax over 5, background first",
                "postprocess": {"max_detections": quality.SSD_MAX_DETECTIONS, "score_threshold": quality.SSD_SCORE_THRESHOLD,
                                "iou_threshold": quality.SSD_IOU_THRESHOLD},
            }
        (staging / "quality.json").write_text(json.dumps(report, indent=2, default=_json) + "\n", encoding="utf-8")
        images = staging / "images"
        shapes.write_images(images, example.task, 4, seeds["samples"])

        folder.mkdir(parents=True, exist_ok=True)
        for name in ("model.keras", "labels.txt", "quality.json", *(("anchors.npy",) if anchors_path else ())):
            shutil.copyfile(staging / name, folder / name)
        if (folder / "images").exists():
            shutil.rmtree(folder / "images")
        shutil.copytree(images, folder / "images")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"  wrote {folder}")
    return report


def _at(example: Example, folder: Path) -> Example:
    """The example with its files read from `folder` (the staging copy) instead of the package."""

    class Staged(Example):
        @property
        def folder(self) -> Path:  # type: ignore[override]
            return folder

    return Staged(**{f: getattr(example, f) for f in example.__dataclass_fields__})


def _brief(metrics: dict) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))


def _json(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(type(value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=list(EXAMPLES), help="train only this example (repeatable)")
    parser.add_argument("--quick", action="store_true", help="tiny sets and one epoch, written to /tmp unless --out: a smoke test")
    parser.add_argument("--out", type=Path, help=f"where to write the examples (default {EXAMPLES_DIR}, or a temp folder with --quick)")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    save_backgrounds(EXAMPLES_DIR / "backgrounds")
    out = args.out or (Path(tempfile.gettempdir()) / "tflgen-examples-quick" if args.quick else EXAMPLES_DIR)
    names = args.only or list(EXAMPLES)
    if args.quick and args.out is None and "classification" not in names and (EXAMPLES_DIR / "classification" / "model.keras").is_file():
        (out / "classification").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXAMPLES_DIR / "classification" / "model.keras", out / "classification" / "model.keras")
    started = time.perf_counter()
    reports = [run_example(EXAMPLES[name], out, args.quick) for name in names]
    log(f"\n=== done in {(time.perf_counter() - started) / 60:.1f} min; written to {out}")
    missed = False
    for report in reports:
        head, target = report["headline"], report["target"]
        ok = report["meets_target"]["float"] and report["meets_target"]["int8"]
        missed |= not ok
        log(f"  {report['example']:<15} {head} float {report['float'][head]:.4f}  int8 {report['int8'][head]:.4f}  "
            f"(target {target}) {'ok' if ok else 'MISSED'}  train {report['training']['seconds']:.0f} s, "
            f"{report['parameters']:,} params, keras {report['keras_file_bytes'] / 1e6:.2f} MB, int8 {report['int8_tflite_bytes'] / 1e6:.2f} MB")
    return 1 if missed and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
