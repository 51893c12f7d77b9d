"""tflgen's built-in example models: small, genuinely trained, shipped inside the package.

Three Keras models trained by `scripts/train_examples.py` on synthetic images of coloured
geometric shapes (`tflgen.examples.shapes`: circle, square, triangle, star on photographic
backgrounds with clutter and noise). Each example folder holds:

    model.keras     the float Keras 3 model (the TensorFlow source tflgen converts)
    labels.txt      one label per line, in the model's class order
    anchors.npy     detection only: the SSD anchors [N, 4] cy, cx, h, w (normalized), model box order
    quality.json    held-out metrics of the float model and of tflgen's int8 conversion
    images/*.png    a few generated sample images

Every model takes RGB images normalized with `x = (pixel - 127.5) / 127.5` (mean 127.5,
std 127.5), resized by stretching to `input_size` x `input_size`.

This module imports neither TensorFlow nor the image generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent
SHAPE_CLASSES = ("circle", "square", "triangle", "star")  # the object classes, in model order
TASKS = ("classification", "detection", "segmentation")

# The seeds of `scripts/train_examples.py`, per example: training set, held-out set (quality.json),
# int8 calibration images, the sample images in images/, and the weights' initialisation.
# `shapes.write_images(folder, task, CALIBRATION_COUNT, SEEDS[name]["calibration"])` makes the very
# calibration set the script converted with, so the int8 model it measured can be made again.
SEEDS: dict[str, dict[str, int]] = {
    "classification": {"train": 11, "held_out": 111, "calibration": 211, "samples": 311, "weights": 1},
    "detection": {"train": 12, "held_out": 112, "calibration": 212, "samples": 312, "weights": 2},
    "segmentation": {"train": 13, "held_out": 113, "calibration": 213, "samples": 313, "weights": 3},
}
CALIBRATION_COUNT = 200  # int8 calibration images
VERIFY_COUNT = 100  # held-out images for a quick `tflgen verify` (quality.json used more: see its "held_out")


@dataclass(frozen=True)
class Example:
    name: str
    task: str  # "classification" | "detection" | "segmentation"
    description: str
    input_size: int  # square input: [1, input_size, input_size, 3]
    mean: float = 127.5  # x = (pixel - mean) / std, the same value for R, G, B
    std: float = 127.5
    source: str = "model.keras"
    labels: str = "labels.txt"
    anchors: str | None = None  # detection: the raw SSD's anchors file
    ssd_scales: tuple[float, float, float, float] | None = None  # detection: box coder scales y, x, h, w
    # The verify budget per recipe: the largest drop in agreement with the float model (1 - the task's
    # headline agreement) on the held-out images that `tflgen verify --example` uses.
    max_drop: dict[str, float] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return EXAMPLES_DIR / self.name

    @property
    def source_path(self) -> Path:
        return self.folder / self.source

    @property
    def labels_path(self) -> Path:
        return self.folder / self.labels

    @property
    def anchors_path(self) -> Path | None:
        return self.folder / self.anchors if self.anchors else None

    @property
    def quality_path(self) -> Path:
        return self.folder / "quality.json"

    @property
    def images_path(self) -> Path:
        return self.folder / "images"

    @property
    def mean_option(self) -> str:
        """The value for `--mean`."""
        return _number(self.mean)

    @property
    def std_option(self) -> str:
        """The value for `--std`."""
        return _number(self.std)

    @property
    def preprocessing(self):  # -> tflgen.spec.Preprocessing
        """How the example's images become its input: mean/std, RGB, stretched."""
        from tflgen.spec import Preprocessing

        return Preprocessing.parse(self.mean_option, self.std_option)

    @property
    def scales_option(self) -> str | None:
        """The value for `--ssd-scales`, for detection."""
        return ",".join(_number(s) for s in self.ssd_scales) if self.ssd_scales else None

    def read_labels(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.labels_path.read_text(encoding="utf-8").splitlines() if line.strip())

    def is_built(self) -> bool:
        """Whether the trained files are present (the training script writes them)."""
        needed = [self.source_path, self.labels_path] + ([self.anchors_path] if self.anchors_path else [])
        return all(p.is_file() for p in needed)


def _number(value: float) -> str:
    return f"{value:g}"


EXAMPLES: dict[str, Example] = {
    e.name: e
    for e in (
        Example(
            name="classification",
            task="classification",
            description="MobileNetV2 (alpha 0.35) shape classifier: circle, square, triangle, star; softmax probabilities [1, 4]",
            input_size=96,
            max_drop={"float32": 0.001, "float16": 0.01, "dynamic": 0.03, "int8": 0.05},  # measured 0, 0, 0, 0.03
        ),
        Example(
            name="detection",
            task="detection",
            description=(
                "SSD with a MobileNetV2 (alpha 0.35) backbone finding circles, squares, triangles, stars; raw outputs "
                "class scores [1, N, 5] (softmax, background first) and box encodings [1, N, 4]"
            ),
            input_size=160,
            anchors="anchors.npy",
            ssd_scales=(10.0, 10.0, 5.0, 5.0),
            max_drop={"float32": 0.001, "float16": 0.01, "dynamic": 0.02, "int8": 0.02},  # measured 0, 0.002, 0.008, 0.006
        ),
        Example(
            name="segmentation",
            task="segmentation",
            description="DeepLabV3+-style segmenter (MobileNetV2 alpha 0.35 encoder): per-pixel logits [1, H, W, 5], background first",
            input_size=128,
            max_drop={"float32": 0.001, "float16": 0.001, "dynamic": 0.002, "int8": 0.005},  # measured 0, 0, 0.0003, 0.0012
        ),
    )
}


def get_example(name: str) -> Example:
    """The example called `name`, or a KeyError listing the known names."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise KeyError(f"no example {name!r}; known: {', '.join(EXAMPLES)}") from None


def example_for_task(task: str) -> Example:
    for example in EXAMPLES.values():
        if example.task == task:
            return example
    raise KeyError(f"no example for task {task!r}; tasks: {', '.join(TASKS)}")


def example_path(name: str) -> Path:
    """The example's folder."""
    return get_example(name).folder


def example_model_path(name: str) -> Path:
    """The example's Keras model (`model.keras`)."""
    return get_example(name).source_path
