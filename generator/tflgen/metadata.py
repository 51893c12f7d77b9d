"""TFLite model metadata (the public `metadata_schema.fbs` format), written and read by tflgen itself.

tflite-support can't be installed beside current TensorFlow, so this module builds the
metadata flatbuffer with the plain `flatbuffers` runtime, following the schema's field order,
stores it in the model's `TFLITE_METADATA` buffer, and appends the associated files (labels)
as a zip, as Android Studio's ML binding, the Task Library and MediaPipe expect.

Writing never touches a tensor: the model is unpacked and packed again with every buffer
kept byte for byte and 16-byte aligned, and an existing metadata buffer is replaced in place,
so writing twice gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
from flatbuffers import table as fb_table

from tflgen.errors import SourceError
from tflgen.spec import ColorOrder, ModelSpec, Preprocessing, Role, SpecOptions, Task, build_spec
from tflgen.tflite_info import METADATA_NAME, check_flatbuffer, read_model

METADATA_IDENTIFIER = b"M001"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same inputs give the same bytes

# Enum values from the schema.
_FILE_TYPES = {"DESCRIPTIONS": 1, "TENSOR_AXIS_LABELS": 2, "TENSOR_VALUE_LABELS": 3}
_COLOR_SPACES = {"RGB": 1, "GRAYSCALE": 2}
_CONTENT = {"feature": 1, "image": 2, "bounding_box": 3}
_BOX_TYPES = {"BOUNDARIES": 1, "UPPER_LEFT": 2, "CENTER": 3}
_COORDINATES = {"RATIO": 0, "PIXEL": 1}
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions.NormalizationOptions


def _names(table: dict[str, int]) -> dict[int, str]:
    return {v: k for k, v in table.items()}


@dataclass(frozen=True)
class AssociatedFile:
    name: str
    description: str
    type: str  # TENSOR_AXIS_LABELS, TENSOR_VALUE_LABELS or DESCRIPTIONS


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    description: str = ""
    content: str | None = None  # image, feature, bounding_box or None
    color_space: str | None = None  # RGB or GRAYSCALE (image)
    box_index: tuple[int, ...] | None = None  # positions of left, top, right, bottom (bounding_box)
    box_type: str | None = None
    coordinate_type: str | None = None
    value_range: tuple[int, int] | None = None  # which dimension holds the values (detection outputs)
    mean: tuple[float, ...] | None = None  # NormalizationOptions
    std: tuple[float, ...] | None = None
    stats_min: tuple[float, ...] | None = None
    stats_max: tuple[float, ...] | None = None
    files: tuple[AssociatedFile, ...] = ()


@dataclass(frozen=True)
class ModelMetadata:
    name: str
    description: str
    version: str
    author: str
    license: str
    min_parser_version: str
    inputs: tuple[TensorMetadata, ...]
    outputs: tuple[TensorMetadata, ...]
    output_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    packed_files: tuple[str, ...] = field(default=())  # associated files found in the model's zip (reading only)


@dataclass(frozen=True)
class ModelInfoText:
    """The human facts the user gives (`--name`, `--description`, ...)."""

    name: str = ""
    description: str = ""
    author: str = ""
    license: str = ""
    version: str = ""


LABELS_FILE = "labels.txt"
DETECTION_GROUP = "detection_result"
# Names readers look tensors up by (MediaPipe's ObjectDetector finds outputs by these).
DETECTION_NAMES = {Role.BOXES: "location", Role.CLASSES: "category", Role.SCORES: "score", Role.COUNT: "number of detections"}
# A raw SSD's outputs are plain feature tensors named after their roles; its labels file lists
# the class scores' columns, so it starts with this row for the background column.
RAW_SSD_NAMES = {Role.BOX_ENCODINGS: Role.BOX_ENCODINGS.value, Role.CLASS_SCORES: Role.CLASS_SCORES.value}
BACKGROUND_LABEL = "background"


# ---------------------------------------------------------------- what to write, per task


def metadata_for_spec(spec: ModelSpec, text: ModelInfoText) -> tuple[ModelMetadata, dict[str, bytes]]:
    """The metadata that describes `spec` to the Task Library, MediaPipe and ML binding."""
    files: dict[str, bytes] = {}
    if spec.labels:
        column_labels = ((BACKGROUND_LABEL,) if spec.raw_detection else ()) + spec.class_labels()
        files[LABELS_FILE] = ("\n".join(column_labels) + "\n").encode("utf-8")
    outputs = tuple(_output_metadata(spec, o.role, o, bool(files)) for o in spec.outputs)
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if spec.task is Task.DETECTION and not spec.raw_detection:
        groups = ((DETECTION_GROUP, tuple(DETECTION_NAMES[r] for r in (Role.BOXES, Role.CLASSES, Role.SCORES))),)
    default_description = {
        Task.CLASSIFICATION: "Image classifier",
        Task.DETECTION: "Object detector (SSD with TFLite_Detection_PostProcess)",
        Task.SEGMENTATION: "Image segmenter",
    }[spec.task]
    if spec.raw_detection:
        default_description = "Object detector (raw SSD: box encodings and class scores per anchor, decoded by the app)"
    metadata = ModelMetadata(
        name=text.name or default_description,
        description=text.description or f"{default_description} converted by tflgen.",
        version=text.version,
        author=text.author,
        license=text.license,
        min_parser_version="1.2.0" if groups else "1.0.0",  # output_tensor_groups arrived in 1.2.0
        inputs=(_input_metadata(spec),),
        outputs=outputs,
        output_groups=groups,
    )
    return metadata, files


def _input_metadata(spec: ModelSpec) -> TensorMetadata:
    i = spec.input
    norm = i.normalization
    if i.dtype == "float32" and norm is not None:
        stats_min = tuple((0.0 - m) / s for m, s in zip(norm.mean, norm.std))
        stats_max = tuple((255.0 - m) / s for m, s in zip(norm.mean, norm.std))
    elif i.quantization is not None:
        info = np.iinfo(np.dtype(i.dtype))
        stats_min, stats_max = (float(info.min),), (float(info.max),)
    else:
        stats_min, stats_max = (0.0,), (255.0,)
    color = "GRAYSCALE" if i.channels == 1 else "RGB"  # BGR models are described as RGB + a tflgen note
    description = f"Input image, {i.width}x{i.height}, {color.lower()}"
    if i.color.value == "bgr":
        description += " (the model expects BGR channel order)"
    return TensorMetadata(
        name="image", description=description, content="image", color_space=color,
        mean=norm.mean if norm else None, std=norm.std if norm else None,
        stats_min=stats_min, stats_max=stats_max,
    )


def _real_range(output) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:  # noqa: ANN001 (OutputSpec)
    """For a quantized output, the real values its integers cover: min/max stats readers can trust."""
    if output.quantization is None:
        return None, None
    info = np.iinfo(np.dtype(output.dtype))
    q = output.quantization
    return ((info.min - q.zero_point) * q.scale,), ((info.max - q.zero_point) * q.scale,)


def _output_metadata(spec: ModelSpec, role: Role, output, has_labels: bool) -> TensorMetadata:  # noqa: ANN001
    stats_min, stats_max = _real_range(output)
    axis_labels = (AssociatedFile(LABELS_FILE, "Labels for the classes", "TENSOR_AXIS_LABELS"),) if has_labels else ()
    value_labels = (AssociatedFile(LABELS_FILE, "Labels for the classes", "TENSOR_VALUE_LABELS"),) if has_labels else ()
    if role in (Role.PROBABILITIES, Role.LOGITS):
        if role is Role.PROBABILITIES and stats_min is None:
            stats_min, stats_max = (0.0,), (1.0,)
        what = "Probabilities" if role is Role.PROBABILITIES else "Logits (apply softmax for probabilities)"
        return TensorMetadata("probability" if role is Role.PROBABILITIES else "logits", f"{what} of the {spec.num_classes} classes",
                              "feature", stats_min=stats_min, stats_max=stats_max, files=axis_labels)
    if role is Role.BOXES:
        return TensorMetadata(
            DETECTION_NAMES[role], "Boxes ymin, xmin, ymax, xmax in 0..1 of the input image", "bounding_box",
            box_index=(1, 0, 3, 2), box_type="BOUNDARIES", coordinate_type="RATIO", value_range=(2, 2),
            stats_min=stats_min, stats_max=stats_max,
        )
    if role is Role.CLASSES:
        return TensorMetadata(DETECTION_NAMES[role], "Class index of each detection", "feature", value_range=(2, 2),
                              stats_min=stats_min, stats_max=stats_max, files=value_labels)
    if role is Role.SCORES:
        return TensorMetadata(DETECTION_NAMES[role], "Score of each detection", "feature", value_range=(2, 2),
                              stats_min=stats_min, stats_max=stats_max)
    if role is Role.COUNT:
        return TensorMetadata(DETECTION_NAMES[role], "Number of valid detections", "feature")
    if role is Role.BOX_ENCODINGS:
        coder = f" with scales y, x, h, w = {', '.join(f'{v:g}' for v in spec.ssd.scales)}" if spec.ssd else ""
        return TensorMetadata(
            RAW_SSD_NAMES[role],
            f"Raw SSD box encodings ty, tx, th, tw, one row per anchor ({output.shape[1]} anchors): decode them "
            f"against the anchors (cy, cx, h, w) with the center-size box coder{coder}, then run NMS",
            "feature", stats_min=stats_min, stats_max=stats_max,
        )
    if role is Role.CLASS_SCORES:
        return TensorMetadata(
            RAW_SSD_NAMES[role],
            f"Raw SSD class scores, one row per anchor: column 0 is the background, then the {spec.num_classes} classes",
            "feature", stats_min=stats_min, stats_max=stats_max, files=axis_labels,
        )
    if role is Role.MASK:
        return TensorMetadata("segmentation_masks", "Per-pixel class scores; the class is the argmax over the last axis",
                              "image", color_space="GRAYSCALE", stats_min=stats_min, stats_max=stats_max, files=axis_labels)
    return TensorMetadata("segmentation_label_map", "Per-pixel class index", "image", color_space="GRAYSCALE", files=axis_labels)


# ---------------------------------------------------------------- building the metadata flatbuffer


def build_metadata_buffer(metadata: ModelMetadata) -> bytes:
    b = flatbuffers.Builder(1024)

    def string(text: str | None) -> int | None:
        return b.CreateString(text) if text else None

    def table(fields: list[tuple[str, int, Any]]) -> int:
        """fields: (kind, slot, value) with kind offset/int8/uint8/int32/uint32/float32; None values skipped."""
        b.StartObject(max((slot for _, slot, _ in fields), default=-1) + 1)
        for kind, slot, value in fields:
            if value is None:
                continue
            if kind == "offset":
                b.PrependUOffsetTRelativeSlot(slot, value, 0)
            elif kind == "int8":
                b.PrependInt8Slot(slot, value, 0)
            elif kind == "uint8":
                b.PrependUint8Slot(slot, value, 0)
            elif kind == "int32":
                b.PrependInt32Slot(slot, value, 0)
            elif kind == "uint32":
                b.PrependUint32Slot(slot, value, 0)
        return b.EndObject()

    def offsets(items: list[int]) -> int | None:
        if not items:
            return None
        b.StartVector(4, len(items), 4)
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    def floats(values: tuple[float, ...] | None) -> int | None:
        return b.CreateNumpyVector(np.asarray(values, dtype="<f4")) if values else None

    def files(items: tuple[AssociatedFile, ...]) -> int | None:
        built = []
        for f in items:
            name, description = string(f.name), string(f.description)
            built.append(table([("offset", 0, name), ("offset", 1, description), ("int8", 2, _FILE_TYPES[f.type])]))
        return offsets(built)

    def tensor(t: TensorMetadata) -> int:
        name, description = string(t.name), string(t.description)
        content = None
        if t.content is not None:
            properties = None
            if t.content == "image":
                properties = table([("int8", 0, _COLOR_SPACES[t.color_space] if t.color_space else None)])
            elif t.content == "bounding_box":
                index = b.CreateNumpyVector(np.asarray(t.box_index, dtype="<u4"))
                properties = table([("offset", 0, index), ("int8", 1, _BOX_TYPES[t.box_type]), ("int8", 2, _COORDINATES[t.coordinate_type])])
            else:
                properties = table([])
            value_range = table([("int32", 0, t.value_range[0]), ("int32", 1, t.value_range[1])]) if t.value_range else None
            content = table([("uint8", 0, _CONTENT[t.content]), ("offset", 1, properties), ("offset", 2, value_range)])
        process_units = None
        if t.mean is not None and t.std is not None:
            mean, std = floats(t.mean), floats(t.std)
            normalization = table([("offset", 0, mean), ("offset", 1, std)])
            process_units = offsets([table([("uint8", 0, _NORMALIZATION_OPTIONS), ("offset", 1, normalization)])])
        stats = None
        if t.stats_min is not None or t.stats_max is not None:
            stats_max, stats_min = floats(t.stats_max), floats(t.stats_min)
            stats = table([("offset", 0, stats_max), ("offset", 1, stats_min)])
        associated = files(t.files)
        return table([
            ("offset", 0, name), ("offset", 1, description), ("offset", 3, content),
            ("offset", 4, process_units), ("offset", 5, stats), ("offset", 6, associated),
        ])

    inputs = offsets([tensor(t) for t in metadata.inputs])
    outputs = offsets([tensor(t) for t in metadata.outputs])
    groups = []
    for group_name, tensor_names in metadata.output_groups:
        name = string(group_name)
        members = offsets([b.CreateString(n) for n in tensor_names])
        groups.append(table([("offset", 0, name), ("offset", 1, members)]))
    subgraph = table([("offset", 2, inputs), ("offset", 3, outputs), ("offset", 8, offsets(groups))])
    fields = [string(x) for x in (metadata.name, metadata.description, metadata.version, metadata.author, metadata.license, metadata.min_parser_version)]
    subgraphs = offsets([subgraph])
    root = table([
        ("offset", 0, fields[0]), ("offset", 1, fields[1]), ("offset", 2, fields[2]), ("offset", 3, subgraphs),
        ("offset", 4, fields[3]), ("offset", 5, fields[4]), ("offset", 7, fields[5]),
    ])
    b.Finish(root, file_identifier=METADATA_IDENTIFIER)
    return bytes(b.Output())


# ---------------------------------------------------------------- putting it into the model


def write_metadata(model: bytes, metadata: ModelMetadata, files: dict[str, bytes]) -> bytes:
    """The model with `metadata` in its TFLITE_METADATA buffer and `files` zipped at the end."""
    packed = with_metadata_entry(model, METADATA_NAME, build_metadata_buffer(metadata))
    return _append_zip(packed, files) if files else packed


def with_metadata_entry(model: bytes, name: str, content: bytes) -> bytes:
    """The model with the metadata entry `name` holding `content` (replaced in place if it exists:
    no buffer index moves, writing twice gives the same bytes). Other entries are kept."""
    from ai_edge_litert import schema_py_generated as schema

    check_flatbuffer(model, "model")
    unpacked = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    unpacked.buffers = [_AlignedBuffer.of(buffer) for buffer in (unpacked.buffers or [])]
    unpacked.metadata = list(unpacked.metadata or [])
    existing = [m for m in unpacked.metadata if (m.name or b"").decode() == name]
    if existing:
        unpacked.buffers[existing[0].buffer].data = np.frombuffer(content, dtype=np.uint8)
    else:
        buffer = _AlignedBuffer()
        buffer.data = np.frombuffer(content, dtype=np.uint8)
        unpacked.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = name.encode()
        entry.buffer = len(unpacked.buffers) - 1
        unpacked.metadata.append(entry)
    builder = flatbuffers.Builder(len(model) + len(content) + 1024)
    builder.Finish(unpacked.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _append_zip(model: bytes, files: dict[str, bytes]) -> bytes:
    stream = io.BytesIO(model)
    stream.seek(0, io.SEEK_END)
    with zipfile.ZipFile(stream, "a", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, files[name])
    return stream.getvalue()


class _AlignedBuffer:
    """A Buffer that packs its bytes 16-byte aligned, as TFLite lays weights out (the generated
    object API would align them to 1)."""

    def __init__(self) -> None:
        self.data: np.ndarray | None = None
        self.offset = 0
        self.size = 0

    @classmethod
    def of(cls, buffer: Any) -> _AlignedBuffer:
        aligned = cls()
        aligned.data = None if buffer.data is None else np.asarray(buffer.data, dtype=np.uint8)
        aligned.offset, aligned.size = buffer.offset, buffer.size
        return aligned

    def Pack(self, builder: flatbuffers.Builder) -> int:  # noqa: N802 (the object API's name)
        from ai_edge_litert import schema_py_generated as schema

        data = None
        if self.data is not None:
            payload = self.data.tobytes()
            builder.StartVector(1, len(payload), 16)
            builder.head -= len(payload)
            builder.Bytes[builder.head:builder.head + len(payload)] = payload
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        schema.BufferAddOffset(builder, self.offset)
        schema.BufferAddSize(builder, self.size)
        return schema.BufferEnd(builder)


# ---------------------------------------------------------------- reading it back


def metadata_buffer(model: bytes) -> bytes | None:
    from ai_edge_litert import schema_py_generated as schema

    check_flatbuffer(model, "model")
    root = schema.Model.GetRootAs(model, 0)
    for i in range(root.MetadataLength()):
        entry = root.Metadata(i)
        if (entry.Name() or b"").decode() == METADATA_NAME:
            return root.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None


def associated_files(model: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(model)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        return {}


def read_metadata(model: bytes, where: str = "model") -> ModelMetadata | None:
    """The model's metadata as data, or None when it has none."""
    content = metadata_buffer(model)
    if content is None:
        return None
    if content[4:8] != METADATA_IDENTIFIER:
        raise SourceError(f"{where}: its TFLITE_METADATA buffer is not metadata (no M001 identifier)", "write it again with 'tflgen metadata'")
    root = _Table(content, flatbuffers.encode.Get(flatbuffers.packer.uoffset, content, 0))
    subgraphs = root.tables(3)
    subgraph = subgraphs[0] if subgraphs else None
    groups = tuple((g.string(0), tuple(g.strings(1))) for g in subgraph.tables(8)) if subgraph else ()
    return ModelMetadata(
        name=root.string(0), description=root.string(1), version=root.string(2),
        author=root.string(4), license=root.string(5), min_parser_version=root.string(7),
        inputs=tuple(_read_tensor(t) for t in subgraph.tables(2)) if subgraph else (),
        outputs=tuple(_read_tensor(t) for t in subgraph.tables(3)) if subgraph else (),
        output_groups=groups,
        packed_files=tuple(sorted(associated_files(model))),
    )


def _read_tensor(t: _Table) -> TensorMetadata:
    content_kind = color = box_type = coordinate = None
    box_index = value_range = None
    content = t.table(3)
    if content is not None:
        content_kind = _names(_CONTENT).get(content.scalar(0, flatbuffers.number_types.Uint8Flags))
        properties = content.table(1)
        if properties is not None and content_kind == "image":
            color = _names(_COLOR_SPACES).get(properties.scalar(0, flatbuffers.number_types.Int8Flags))
        if properties is not None and content_kind == "bounding_box":
            box_index = tuple(int(v) for v in properties.vector(0, np.uint32))
            box_type = _names(_BOX_TYPES).get(properties.scalar(1, flatbuffers.number_types.Int8Flags))
            coordinate = _names(_COORDINATES).get(properties.scalar(2, flatbuffers.number_types.Int8Flags))
        value = content.table(2)
        if value is not None:
            value_range = (value.scalar(0, flatbuffers.number_types.Int32Flags), value.scalar(1, flatbuffers.number_types.Int32Flags))
    mean = std = None
    for unit in t.tables(4):
        if unit.scalar(0, flatbuffers.number_types.Uint8Flags) == _NORMALIZATION_OPTIONS:
            options = unit.table(1)
            mean, std = tuple(map(float, options.vector(0, np.float32))), tuple(map(float, options.vector(1, np.float32)))
    stats = t.table(5)
    stats_max = tuple(map(float, stats.vector(0, np.float32))) if stats and stats.has(0) else None
    stats_min = tuple(map(float, stats.vector(1, np.float32))) if stats and stats.has(1) else None
    files = tuple(
        AssociatedFile(f.string(0), f.string(1), _names(_FILE_TYPES).get(f.scalar(2, flatbuffers.number_types.Int8Flags), "UNKNOWN"))
        for f in t.tables(6)
    )
    return TensorMetadata(t.string(0), t.string(1), content_kind, color, box_index, box_type, coordinate, value_range,
                          mean, std, stats_min, stats_max, files)


class _Table:
    """Just enough of a flatbuffer table reader for the metadata schema."""

    def __init__(self, buf: bytes, position: int) -> None:
        self._t = fb_table.Table(bytearray(buf), position)

    def _offset(self, slot: int) -> int:
        return self._t.Offset(4 + 2 * slot)

    def has(self, slot: int) -> bool:
        return self._offset(slot) != 0

    def scalar(self, slot: int, flags: Any, default: int = 0) -> Any:
        o = self._offset(slot)
        return self._t.Get(flags, o + self._t.Pos) if o else default

    def string(self, slot: int) -> str:
        o = self._offset(slot)
        return self._t.String(o + self._t.Pos).decode("utf-8") if o else ""

    def table(self, slot: int) -> _Table | None:
        o = self._offset(slot)
        if not o:
            return None
        return _Table(self._t.Bytes, self._t.Indirect(o + self._t.Pos))

    def tables(self, slot: int) -> list[_Table]:
        o = self._offset(slot)
        if not o:
            return []
        start = self._t.Vector(o)
        return [_Table(self._t.Bytes, self._t.Indirect(start + 4 * i)) for i in range(self._t.VectorLen(o))]

    def strings(self, slot: int) -> list[str]:
        o = self._offset(slot)
        if not o:
            return []
        start = self._t.Vector(o)
        return [self._t.String(start + 4 * i).decode("utf-8") for i in range(self._t.VectorLen(o))]

    def vector(self, slot: int, dtype: Any) -> np.ndarray:
        o = self._offset(slot)
        if not o:
            return np.zeros(0, dtype=dtype)
        start = self._t.Vector(o)
        count = self._t.VectorLen(o)
        return np.frombuffer(bytes(self._t.Bytes[start:start + count * np.dtype(dtype).itemsize]), dtype=np.dtype(dtype).newbyteorder("<"))


def spec_options_from_metadata(metadata: ModelMetadata, files: dict[str, bytes]) -> SpecOptions:
    """What the metadata says about the model, as the options a user would have given."""
    raw_ssd = {t.name for t in metadata.outputs} == set(RAW_SSD_NAMES.values())
    if raw_ssd or any(name == DETECTION_GROUP for name, _ in metadata.output_groups):
        task = Task.DETECTION
    elif any(t.content == "image" for t in metadata.outputs):
        task = Task.SEGMENTATION
    else:
        task = Task.CLASSIFICATION
    image = metadata.inputs[0] if metadata.inputs else TensorMetadata("image")
    label_files = [f.name for t in metadata.outputs for f in t.files if f.type in ("TENSOR_AXIS_LABELS", "TENSOR_VALUE_LABELS")]
    labels: tuple[str, ...] = ()
    if label_files and label_files[0] in files:
        labels = tuple(line.strip() for line in files[label_files[0]].decode("utf-8").splitlines())
        if raw_ssd:
            labels = labels[1:]  # the background column's row: the spec's labels are per class
    color = ColorOrder.GRAY if image.color_space == "GRAYSCALE" else ColorOrder.RGB
    normalized = image.mean is not None and image.std is not None
    preprocessing = Preprocessing(tuple(image.mean) if normalized else None, tuple(image.std) if normalized else None, color)
    return SpecOptions(task=task, labels=labels, label_offset=0 if labels else None, preprocessing=preprocessing)


def spec_from_model(model: bytes, where: str = "model") -> ModelSpec | None:
    """The ModelSpec the model's own metadata describes, or None without metadata.

    A raw SSD's anchors and decoding settings are not part of the metadata: its spec has `ssd` None.
    """
    metadata = read_metadata(model, where)
    if metadata is None:
        return None
    return build_spec(read_model(model, where), spec_options_from_metadata(metadata, associated_files(model)), where)
