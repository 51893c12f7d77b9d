"""`ModelSpec`: what a .tflite expects and emits, the one description every later stage uses.

Output roles come from shapes, dtypes and the ops that produce the outputs, never from output
order or tensor names: converted SSDs list their four detection outputs in scrambled order,
so detection outputs are told apart by which output of `TFLite_Detection_PostProcess` they are.
A raw SSD (no such op) has box encodings [1, N, 4] and class scores [1, N, classes + 1],
told apart by shape; given its anchors (`SpecOptions.ssd`), the spec carries the decoding and
NMS settings (`SsdSpec`) the app runs, and names the anchors file the app loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tflgen.errors import OptionError, SourceError
from tflgen.recipes import DETECTION_POSTPROCESS_OP
from tflgen.reference import Normalization, _one_without_other, parse_values, resolve_normalization
from tflgen.tflite_info import ModelInfo, TensorInfo

if TYPE_CHECKING:
    from tflgen.ssd import SsdParams

SPEC_VERSION = 1


class Task(StrEnum):
    CLASSIFICATION = "classification"
    DETECTION = "detection"
    SEGMENTATION = "segmentation"


class Role(StrEnum):
    LOGITS = "logits"  # classification, before softmax
    PROBABILITIES = "probabilities"  # classification, after softmax/sigmoid
    BOXES = "boxes"  # detection [1, N, 4] ymin, xmin, ymax, xmax in 0..1
    CLASSES = "classes"  # detection [1, N] class index as float
    SCORES = "scores"  # detection [1, N]
    COUNT = "count"  # detection [1] number of valid detections
    MASK = "mask"  # segmentation [1, H, W, C] per-class scores (C == 1: foreground probability)
    LABEL_MAP = "label_map"  # segmentation [1, H, W] class index per pixel
    BOX_ENCODINGS = "box_encodings"  # raw SSD [1, N, 4] ty, tx, th, tw per anchor
    CLASS_SCORES = "class_scores"  # raw SSD [1, N, classes + 1], background first


class ColorOrder(StrEnum):
    RGB = "rgb"
    BGR = "bgr"
    GRAY = "gray"


class ResizeMode(StrEnum):
    STRETCH = "stretch"
    LETTERBOX = "letterbox"
    CENTER_CROP = "center-crop"


# The fixed output order of TFLite_Detection_PostProcess (see the op's kernel).
DETECTION_OUTPUT_ROLES = (Role.BOXES, Role.CLASSES, Role.SCORES, Role.COUNT)
RAW_DETECTION_ROLES = (Role.BOX_ENCODINGS, Role.CLASS_SCORES)
RAW_OUTPUT_TYPES = ("float32", "uint8", "int8")  # a quantized raw SSD's outputs are integers
# The anchors of a raw SSD, float32 little-endian [N, 4] cy, cx, h, w: a resource of the
# processing module beside its classes (too many numbers for Kotlin source: a JVM method holds 64 KB).
ANCHORS_FILE = "anchors.bin"


@dataclass(frozen=True)
class Quantization:
    scale: float
    zero_point: int


@dataclass(frozen=True)
class InputSpec:
    name: str
    height: int
    width: int
    channels: int
    dtype: str  # float32, uint8 or int8
    quantization: Quantization | None
    color: ColorOrder
    normalization: Normalization | None  # None: the input takes raw pixels
    resize: ResizeMode
    folded_normalization: Normalization | None = None  # raw pixels in, this normalization inside (tflgen.input_grid): the source's

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (1, self.height, self.width, self.channels)


@dataclass(frozen=True)
class OutputSpec:
    name: str
    index: int  # position among the model's outputs (what the interpreter calls output i)
    role: Role
    shape: tuple[int, ...]
    dtype: str
    quantization: Quantization | None


@dataclass(frozen=True)
class SsdSpec:
    """How the app decodes a raw SSD: TFLite_Detection_PostProcess's settings (fast NMS, one class
    per box), run in Kotlin on the model's box encodings and class scores. The anchors themselves
    are not here: they are shipped as `anchors_file` ([anchor_count, 4] float32 little-endian)."""

    anchor_count: int
    scales: tuple[float, float, float, float]  # y, x, h, w
    max_detections: int
    score_threshold: float  # keep best scores >= this
    iou_threshold: float  # suppress when IoU > this
    anchors_file: str = ANCHORS_FILE
    background: bool = True  # the class scores' first column is the background (else one column per class)

    @property
    def use_regular_nms(self) -> bool:  # `reference.PostprocessSettings`: the fast path only
        return False

    def to_dict(self) -> dict[str, Any]:
        return {
            "anchor_count": self.anchor_count, "anchors_file": self.anchors_file, "scales": list(self.scales),
            "max_detections": self.max_detections, "score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
            "background": self.background,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SsdSpec:
        y, x, h, w = (float(v) for v in data["scales"])
        return cls(
            int(data["anchor_count"]), (y, x, h, w), int(data["max_detections"]), float(data["score_threshold"]),
            float(data["iou_threshold"]), str(data["anchors_file"]), bool(data.get("background", True)),
        )


@dataclass(frozen=True)
class ModelSpec:
    task: Task
    input: InputSpec
    outputs: tuple[OutputSpec, ...]
    labels: tuple[str, ...]
    # label of model class i is labels[i + label_offset]: 1 when the file starts with a
    # background/"???" row the model's classes don't have, -1 when the model has a background
    # class the file doesn't list.
    label_offset: int
    num_classes: int
    ssd: SsdSpec | None = None  # a raw SSD decoded by the app: its settings (None: anchors unknown, or no raw SSD)

    @property
    def raw_detection(self) -> bool:
        """Detection from raw box encodings and class scores (no TFLite_Detection_PostProcess in the model)."""
        return self.has(Role.BOX_ENCODINGS)

    def output(self, role: Role) -> OutputSpec:
        for output in self.outputs:
            if output.role is role:
                return output
        raise KeyError(role)

    def has(self, role: Role) -> bool:
        return any(o.role is role for o in self.outputs)

    def label(self, class_index: int) -> str:
        position = class_index + self.label_offset
        return self.labels[position] if 0 <= position < len(self.labels) else f"class {class_index}"

    def class_labels(self) -> tuple[str, ...]:
        """One label per model class index, as metadata readers expect them."""
        return tuple(self.label(i) for i in range(self.num_classes)) if self.labels else ()

    def canonical(self) -> ModelSpec:
        """The same spec with labels aligned to class indices (offset 0), as metadata stores them."""
        return replace(self, labels=self.class_labels(), label_offset=0)

    def to_dict(self) -> dict[str, Any]:
        i = self.input
        data: dict[str, Any] = {
            "version": SPEC_VERSION,
            "task": self.task.value,
            "input": {
                "name": i.name, "height": i.height, "width": i.width, "channels": i.channels, "dtype": i.dtype,
                "color": i.color.value, "resize": i.resize.value,
            },
            "outputs": [],
            "labels": {"offset": self.label_offset, "num_classes": self.num_classes, "names": list(self.labels)},
        }
        if i.quantization is not None:
            data["input"]["quantization"] = {"scale": i.quantization.scale, "zero_point": i.quantization.zero_point}
        if i.normalization is not None:
            data["input"]["normalization"] = {"mean": list(i.normalization.mean), "std": list(i.normalization.std)}
        if i.folded_normalization is not None:
            data["input"]["folded_normalization"] = {"mean": list(i.folded_normalization.mean), "std": list(i.folded_normalization.std)}
        for o in self.outputs:
            entry: dict[str, Any] = {"name": o.name, "index": o.index, "role": o.role.value, "shape": list(o.shape), "dtype": o.dtype}
            if o.quantization is not None:
                entry["quantization"] = {"scale": o.quantization.scale, "zero_point": o.quantization.zero_point}
            data["outputs"].append(entry)
        if self.ssd is not None:
            data["ssd"] = self.ssd.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        def quantization(entry: dict[str, Any]) -> Quantization | None:
            q = entry.get("quantization")
            return Quantization(float(q["scale"]), int(q["zero_point"])) if q else None

        i = data["input"]
        norm, folded = i.get("normalization"), i.get("folded_normalization")
        return cls(
            task=Task(data["task"]),
            input=InputSpec(
                i["name"], int(i["height"]), int(i["width"]), int(i["channels"]), i["dtype"], quantization(i),
                ColorOrder(i["color"]),
                Normalization(tuple(map(float, norm["mean"])), tuple(map(float, norm["std"]))) if norm else None,
                ResizeMode(i["resize"]),
                Normalization(tuple(map(float, folded["mean"])), tuple(map(float, folded["std"]))) if folded else None,
            ),
            outputs=tuple(
                OutputSpec(o["name"], int(o["index"]), Role(o["role"]), tuple(o["shape"]), o["dtype"], quantization(o))
                for o in data["outputs"]
            ),
            labels=tuple(data["labels"]["names"]),
            label_offset=int(data["labels"]["offset"]),
            num_classes=int(data["labels"]["num_classes"]),
            ssd=SsdSpec.from_dict(data["ssd"]) if "ssd" in data else None,
        )


@dataclass(frozen=True)
class Preprocessing:
    """How the app turns pixels into the model's input, as the user gave it (--mean, --std, --color,
    --resize): parsed and checked when the command starts, before any model loads; `normalization`
    fits it to the model's channels once the model is known."""

    mean: tuple[float, ...] | None = None  # one value, or one per channel
    std: tuple[float, ...] | None = None
    color: ColorOrder | None = None  # None: rgb, or gray for one channel
    resize: ResizeMode = ResizeMode.STRETCH

    @classmethod
    def parse(cls, mean: str | None, std: str | None, color: ColorOrder | None = None,
              resize: ResizeMode = ResizeMode.STRETCH) -> Preprocessing:
        if (mean is None) != (std is None):
            raise _one_without_other(std is None)
        return cls(
            parse_values("--mean", mean) if mean is not None else None,
            parse_values("--std", std, nonzero=True) if std is not None else None,
            color, resize,
        )

    def normalization(self, channels: int, dtype: str, needed_for: str) -> Normalization | None:
        """x = (pixel - mean) / std for this input, None for raw integer pixels; a float input without
        --mean/--std is an error (never guessed)."""
        return resolve_normalization(self.mean, self.std, channels, dtype, needed_for)


@dataclass(frozen=True)
class SpecOptions:
    """What the user says about the model (CLI options), None where not said."""

    task: Task | None = None
    labels: tuple[str, ...] = ()
    labels_path: Path | None = None  # where the labels came from, for messages
    label_offset: int | None = None
    preprocessing: Preprocessing = field(default_factory=lambda: Preprocessing())
    ssd: SsdParams | None = None  # a raw SSD's anchors and settings, for the app to decode it (--ssd-anchors)

    def over(self, known: SpecOptions) -> SpecOptions:
        """These options, with what `known` (a model's own metadata) says where these say nothing."""
        mine, theirs = self.preprocessing, known.preprocessing
        given = {k: v for k, v in vars(self).items() if v not in (None, ()) and k != "preprocessing"}
        normalization = (mine.mean, mine.std) if mine.mean is not None else (theirs.mean, theirs.std)
        return replace(known, **given, preprocessing=Preprocessing(*normalization, mine.color or theirs.color, mine.resize))


def _quantization(t: TensorInfo) -> Quantization | None:
    return Quantization(t.scale, t.zero_point) if t.quantized else None


def describe_outputs(info: ModelInfo) -> str:
    return ", ".join(f"{list(t.shape)} {t.dtype}" + (f" from {t.origin}" if t.origin else "") for t in info.outputs)


def infer_task(info: ModelInfo) -> Task | None:
    """The task the outputs imply, or None when they could be several things."""
    if DETECTION_POSTPROCESS_OP in info.custom_ops:
        return Task.DETECTION
    if len(info.outputs) == 1:
        shape = info.outputs[0].shape
        if len(shape) == 2 and shape[0] == 1:
            return Task.CLASSIFICATION
        if (len(shape) == 4 and shape[0] == 1 and shape[1] > 1 and shape[2] > 1) or (len(shape) == 3 and shape[0] == 1 and shape[1] > 1):
            return Task.SEGMENTATION
    return None


def resolve_output_roles(info: ModelInfo, task: Task) -> tuple[tuple[OutputSpec, ...], int]:
    """Each output's role for `task`, and the number of classes, or an OptionError saying what was found."""
    outputs = info.outputs
    found = describe_outputs(info)

    def spec(position: int, role: Role) -> OutputSpec:
        t = outputs[position]
        return OutputSpec(t.name, position, role, t.shape, t.dtype, _quantization(t))

    if task is Task.DETECTION:
        if DETECTION_POSTPROCESS_OP not in info.custom_ops:
            return _raw_detection_roles(info)
        detection = [p for p, t in enumerate(outputs) if t.origin == DETECTION_POSTPROCESS_OP]
        if len(detection) != 4:
            raise OptionError(
                f"--task detection: the model's outputs are not the 4 outputs of its {DETECTION_POSTPROCESS_OP} (outputs: {found})",
                "export the detector so that the op's boxes, classes, scores and count are the model's outputs",
            )
        by_output = {outputs[p].origin_output: p for p in detection}
        specs = tuple(sorted(
            (replace(spec(by_output[k], role), shape=detection_output_shape(role, outputs[by_output[k]].shape, info.detection))
             for k, role in enumerate(DETECTION_OUTPUT_ROLES)),
            key=lambda s: s.index,
        ))
        return specs, int(info.detection.get("num_classes", 0))
    if task is Task.CLASSIFICATION:
        if len(outputs) != 1 or len(outputs[0].shape) != 2 or outputs[0].shape[0] != 1:
            raise OptionError(f"--task classification: expected one [1, classes] output, the model has: {found}", "pick the task the outputs fit")
        role = Role.PROBABILITIES if outputs[0].origin in ("SOFTMAX", "LOGISTIC") else Role.LOGITS
        return (spec(0, role),), outputs[0].shape[1]
    # segmentation
    if len(outputs) != 1:
        raise OptionError(f"--task segmentation: expected one mask output, the model has: {found}", "pick the task the outputs fit")
    shape, dtype = outputs[0].shape, outputs[0].dtype
    if len(shape) == 4 and shape[0] == 1:
        return (spec(0, Role.MASK),), max(shape[3], 2)  # one channel: background + foreground
    if len(shape) == 3 and shape[0] == 1 and dtype in ("int32", "int64", "uint8", "int8") and not outputs[0].quantized:
        return (spec(0, Role.LABEL_MAP),), 0  # classes known only from the labels
    raise OptionError(
        f"--task segmentation: expected [1, H, W, C] scores or a [1, H, W] integer label map, the model has: {found}",
        "pick the task the outputs fit",
    )


def detection_output_shape(role: Role, declared: tuple[int, ...], options: dict[str, Any]) -> tuple[int, ...]:
    """The shape of one of TFLite_Detection_PostProcess's outputs. Exporters whose placeholder for the op
    returns scalars leave the .tflite declaring them as [] (the interpreter resizes them when it runs):
    then the op's own options decide, as its kernel does (max_detections x max_classes_per_detection)."""
    if declared:
        return declared
    if "max_detections" not in options:
        raise SourceError(
            f"the {DETECTION_POSTPROCESS_OP} outputs have no shape and the op has no max_detections option",
            "export the detector with the op's attributes (max_detections, max_classes_per_detection)",
        )
    detections = int(options["max_detections"]) * int(options.get("max_classes_per_detection", 1))
    return {Role.BOXES: (1, detections, 4), Role.COUNT: (1,)}.get(role, (1, detections))


def _raw_detection_roles(info: ModelInfo) -> tuple[tuple[OutputSpec, ...], int]:
    """A raw SSD's box encodings and class scores (by shape), and its classes (background excluded)."""
    from tflgen.ssd import ANCHORS_OPTION, split_raw_outputs

    boxes, scores = split_raw_outputs(
        info.outputs, RAW_OUTPUT_TYPES, f"--task detection: the model has no {DETECTION_POSTPROCESS_OP} outputs",
        "pick the task the outputs fit (--task classification/segmentation); a raw SSD is decoded by the app with "
        f"'tflgen app MODEL.tflite {ANCHORS_OPTION} anchors.npy', or gets the op with 'tflgen convert SOURCE {ANCHORS_OPTION} anchors.npy'",
    )
    specs = []
    for position, role in zip((boxes, scores), RAW_DETECTION_ROLES):
        t = info.outputs[position]
        specs.append(OutputSpec(t.name, position, role, t.shape, t.dtype, _quantization(t)))
    return tuple(sorted(specs, key=lambda s: s.index)), info.outputs[scores].shape[2] - 1


def _ssd_spec(params: SsdParams | None, task: Task, outputs: tuple[OutputSpec, ...], background: bool) -> SsdSpec | None:
    """The app's decoding settings for a raw SSD, checked against its outputs; None without --ssd-anchors."""
    from tflgen.ssd import ANCHORS_OPTION, check_anchor_count

    if params is None:
        return None
    if task is not Task.DETECTION:
        raise OptionError(f"{ANCHORS_OPTION} with --task {task.value}", f"anchors belong to a raw SSD detector: drop {ANCHORS_OPTION} or pass --task detection")
    if not any(o.role is Role.BOX_ENCODINGS for o in outputs):
        raise OptionError(f"{ANCHORS_OPTION}: the model already ends in {DETECTION_POSTPROCESS_OP}",
            f"drop {ANCHORS_OPTION}: the model decodes its boxes itself")
    if params.use_regular_nms:
        raise OptionError("regular (per-class) NMS for a raw SSD", "the app runs the op's fast NMS (one class per box, classes compete)")
    check_anchor_count(params.anchor_count, next(o for o in outputs if o.role is Role.BOX_ENCODINGS).shape[1])
    return SsdSpec(params.anchor_count, params.scales, int(params.max_detections), float(params.score_threshold), float(params.iou_threshold),
                   background=background)


def read_labels(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        raise OptionError(f"--labels {path}: no such file", "give a text file with one label per line")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OptionError(f"--labels {path}: not UTF-8 text (byte {exc.start})", "save the labels file as UTF-8, one label per line") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    labels = tuple(line.strip() for line in lines)
    if not labels:
        raise OptionError(f"--labels {path}: the file is empty", "give one label per line")
    return labels


def _fit_labels(labels: tuple[str, ...], num_classes: int, offset: int | None, path: Path | None) -> tuple[int, int]:
    """Check the label count against the classes; return (offset, num_classes)."""
    where = f"--labels {path}" if path else "labels"
    if not labels:
        return offset or 0, num_classes
    if num_classes == 0:  # a label map: the labels say how many classes there are
        return offset or 0, len(labels) - (offset or 0)
    if offset is None:
        if len(labels) == num_classes:
            return 0, num_classes
        difference = len(labels) - num_classes
        advice = {
            1: "if its first line is a background/??? row the model has no class for, pass --label-offset 1",
            -1: "if the model's class 0 is a background class the file doesn't list, pass --label-offset -1",
        }.get(difference, "give one label per model class")
        raise OptionError(f"{where}: {len(labels)} labels for {num_classes} model classes", advice)
    if len(labels) - offset != num_classes:
        raise OptionError(
            f"{where} with --label-offset {offset}: {len(labels)} labels cover {len(labels) - offset} classes, the model has {num_classes}",
            "the labels file needs exactly classes + offset lines",
        )
    return offset, num_classes


def build_spec(info: ModelInfo, options: SpecOptions, needed_for: str = "the app") -> ModelSpec:
    """The ModelSpec of a converted model plus what the user said."""
    if len(info.inputs) != 1:
        raise SourceError(f"the model has {len(info.inputs)} inputs", "tflgen handles image models with one input")
    t = info.inputs[0]
    if len(t.shape) != 4 or t.shape[0] != 1 or t.shape[3] not in (1, 3):
        raise SourceError(f"the model's input {list(t.shape)} is not an image [1, H, W, 1 or 3]", "tflgen handles image models with NHWC input")
    task = options.task or (Task.DETECTION if options.ssd is not None else infer_task(info))
    if task is None:
        raise OptionError(
            f"can't tell the task from the outputs ({describe_outputs(info)})",
            "pass --task classification, --task detection or --task segmentation",
        )
    outputs, num_classes = resolve_output_roles(info, task)
    labels = options.labels
    scores = next((o for o in outputs if o.role is Role.CLASS_SCORES), None)
    if scores is not None:  # a raw SSD: the labels say whether its first score column is the background
        from tflgen.ssd import classes_for_labels

        where = f"--labels {options.labels_path}" if options.labels_path else "labels"
        num_classes = classes_for_labels(scores.shape[2], len(labels) or None, options.label_offset, where)
    ssd = _ssd_spec(options.ssd, task, outputs, background=scores is None or num_classes == scores.shape[2] - 1)
    offset, num_classes = _fit_labels(labels, num_classes, options.label_offset, options.labels_path)
    channels = t.shape[3]
    preprocessing = options.preprocessing
    color = preprocessing.color or (ColorOrder.GRAY if channels == 1 else ColorOrder.RGB)
    if (color is ColorOrder.GRAY) != (channels == 1):
        raise OptionError(f"--color {color.value} for an input with {channels} channel(s)", "use --color gray for 1 channel, rgb or bgr for 3")
    normalization = preprocessing.normalization(channels, t.dtype, needed_for)
    folded = info.folded_normalization
    if folded is not None:  # tflgen's exact input grid: the app feeds raw pixels; the normalization is the source's
        if normalization is not None and not (_close(normalization.mean, folded.mean) and _close(normalization.std, folded.std)):
            raise OptionError(
                f"--mean/--std {_values(normalization.mean)}/{_values(normalization.std)}: this model takes raw pixels with the normalization "
                f"{_values(folded.mean)}/{_values(folded.std)} folded in (tflgen's exact input grid)",
                "drop --mean/--std (the model says its own), or give the ones it was converted with",
            )
        normalization = None
    return ModelSpec(
        task=task,
        input=InputSpec(t.name, t.shape[1], t.shape[2], channels, t.dtype, _quantization(t), color, normalization, preprocessing.resize, folded),
        outputs=outputs,
        labels=labels,
        label_offset=offset,
        num_classes=num_classes,
        ssd=ssd,
    )


def _close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 1e-6 * max(1.0, abs(y)) for x, y in zip(a, b))


def _values(values: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in values)


def spec_to_toml(spec: ModelSpec) -> str:
    import tomli_w

    return tomli_w.dumps({"spec": spec.to_dict()})


def spec_from_toml(text: str) -> ModelSpec:
    import tomllib

    return ModelSpec.from_dict(tomllib.loads(text)["spec"])
