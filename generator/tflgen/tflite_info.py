"""What a .tflite file holds, read from its flatbuffer (no TensorFlow needed).

IO tensors with their quantization, the op histogram, which ops compute in float inside an
integer model, custom ops, weight bytes per dtype, and the metadata entries present.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tflgen.console import Reporter
from tflgen.errors import SourceError
from tflgen.recipes import DETECTION_POSTPROCESS_OP

if TYPE_CHECKING:
    from tflgen.reference import Normalization

TFLITE_IDENTIFIER = b"TFL3"
METADATA_NAME = "TFLITE_METADATA"
PIXEL_INPUT_MARKER = "tflgen_pixel_input"  # tflgen.input_grid: the normalization a raw-pixel input has folded in

INTEGER_DTYPES = ("int8", "uint8", "int16")  # quantized tensor types
# Ops that exist to cross between float and integer at the edges, not compute.
_BOUNDARY_OPS = ("QUANTIZE", "DEQUANTIZE")


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float  # 0.0 when not quantized; per-axis tensors report their first scale
    zero_point: int
    producer: str | None  # op type that writes this tensor (None for graph inputs)
    producer_output: int | None  # which of that op's outputs it is (tells detection classes from scores)
    origin: str | None  # the producing op once QUANTIZE/DEQUANTIZE at the model's edges are looked through
    origin_output: int | None

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0

    def describe_type(self) -> str:
        if not self.quantized:
            return self.dtype
        return f"{self.dtype} (scale {self.scale:.6g}, zero point {self.zero_point})"


@dataclass(frozen=True)
class ModelInfo:
    size_bytes: int
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    op_counts: tuple[tuple[str, int], ...]  # by op type, most frequent first, then by name
    custom_ops: tuple[str, ...]
    float_ops: tuple[tuple[str, int], ...]  # ops computing in float inside an integer model
    integer_activations: bool
    weight_bytes: tuple[tuple[str, int], ...]  # constant tensor bytes per dtype
    parameter_count: int
    metadata_names: tuple[str, ...]
    detection_options: tuple[tuple[str, Any], ...]  # TFLite_Detection_PostProcess custom options, sorted
    float_tensors: tuple[str, ...] = ()  # the tensors the float_ops write
    int16_ops: tuple[tuple[str, int], ...] = ()  # ops writing int16 activations (16x8 kernels), by type
    folded_normalization: Normalization | None = None  # tflgen's exact input grid: raw pixels in, this folded into the model

    @property
    def detection(self) -> dict[str, Any]:
        return dict(self.detection_options)

    @property
    def has_metadata(self) -> bool:
        return METADATA_NAME in self.metadata_names

    @property
    def op_count(self) -> int:
        return sum(n for _, n in self.op_counts)

    def to_json(self) -> dict[str, Any]:
        tensor = lambda t: {  # noqa: E731
            "name": t.name, "shape": list(t.shape), "dtype": t.dtype,
            "scale": t.scale, "zero_point": t.zero_point, "producer": t.producer,
            "producer_output": t.producer_output, "origin": t.origin, "origin_output": t.origin_output,
        }
        return {
            "size_bytes": self.size_bytes,
            "inputs": [tensor(t) for t in self.inputs],
            "outputs": [tensor(t) for t in self.outputs],
            "ops": dict(self.op_counts),
            "op_count": self.op_count,
            "custom_ops": list(self.custom_ops),
            "integer_activations": self.integer_activations,
            "float_ops": dict(self.float_ops),
            "int16_ops": dict(self.int16_ops),
            "weight_bytes": dict(self.weight_bytes),
            "parameter_count": self.parameter_count,
            "metadata": {"present": self.has_metadata, "entries": list(self.metadata_names)},
            "folded_normalization": ({"mean": list(self.folded_normalization.mean), "std": list(self.folded_normalization.std)}
                                     if self.folded_normalization else None),
            "detection_options": self.detection,
        }


def check_flatbuffer(content: bytes, where: str) -> None:
    if len(content) < 8 or content[4:8] != TFLITE_IDENTIFIER:
        raise SourceError(
            f"{where}: not a TFLite model (no {TFLITE_IDENTIFIER.decode()} flatbuffer identifier)",
            "the file is corrupt, truncated or another format; convert the source model with 'tflgen convert'",
        )


def read_model(content: bytes, where: str) -> ModelInfo:
    check_flatbuffer(content, where)
    try:
        return _read(content)
    except SourceError:
        raise
    except Exception as exc:  # a damaged flatbuffer fails anywhere inside the generated reader
        raise SourceError(f"{where}: the TFLite flatbuffer is damaged ({type(exc).__name__})", "the file is corrupt or truncated; convert it again") from exc


def _read(content: bytes) -> ModelInfo:
    from ai_edge_litert import schema_py_generated as schema

    type_names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(content, 0)
    if model.SubgraphsLength() < 1:
        raise SourceError("the model has no subgraph", "the file is corrupt; convert it again")
    codes: list[tuple[str, bool]] = []  # (op type, is custom)
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = _builtin(code)
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(((code.CustomCode() or b"?").decode(), True))
        else:
            codes.append((op_names.get(builtin, f"BUILTIN_{builtin}"), False))
    graph = model.Subgraphs(0)
    tensors = [graph.Tensors(i) for i in range(graph.TensorsLength())]
    dtypes = [type_names.get(t.Type(), f"type{t.Type()}") for t in tensors]

    def has_data(tensor: Any) -> bool:
        index = tensor.Buffer()
        if index <= 0 or index >= model.BuffersLength():
            return False
        buffer = model.Buffers(index)
        return buffer.DataLength() > 0 or buffer.Offset() > 1

    constant = [has_data(t) for t in tensors]
    producers: dict[int, tuple[str, int]] = {}
    first_input: dict[int, int] = {}  # tensor -> first input tensor of the op that writes it
    detection_options: dict[str, Any] = {}
    op_counter: Counter[str] = Counter()
    float_counter: Counter[str] = Counter()
    int16_counter: Counter[str] = Counter()
    float_tensors: list[str] = []  # what the float ops write (in an int8 model: tensors without a range)
    custom: set[str] = set()
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        name, is_custom = codes[op.OpcodeIndex()]
        op_counter[name] += 1
        if is_custom:
            custom.add(name)
        outputs = [op.Outputs(j) for j in range(op.OutputsLength())]
        for position, index in enumerate(outputs):
            producers[index] = (name, position)
            if op.InputsLength() > 0:
                first_input[index] = op.Inputs(0)
        if name == DETECTION_POSTPROCESS_OP and op.CustomOptionsLength() > 0:
            from flatbuffers import flexbuffers

            detection_options = dict(flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes()))
        if name not in _BOUNDARY_OPS and name != DETECTION_POSTPROCESS_OP and any(
            index >= 0 and dtypes[index] == "float32" for index in outputs
        ):
            float_counter[name] += 1
            float_tensors.extend((tensors[index].Name() or b"").decode() for index in outputs if index >= 0)
        if name not in _BOUNDARY_OPS and any(index >= 0 and dtypes[index] == "int16" for index in outputs):
            int16_counter[name] += 1
    # Integer activations, not just integer IO: a float model fed raw uint8 pixels (DeepLab's whole graph) is not an integer model.
    graph_inputs = {graph.Inputs(i) for i in range(graph.InputsLength())}
    integer = any(dtypes[i] in INTEGER_DTYPES and not constant[i] and i not in graph_inputs for i in range(len(tensors)))

    def origin(index: int) -> tuple[str | None, int | None]:
        seen = 0
        while index in producers and producers[index][0] in _BOUNDARY_OPS and index in first_input and seen < 8:
            index, seen = first_input[index], seen + 1
        return producers.get(index, (None, None))

    def info(index: int) -> TensorInfo:
        tensor = tensors[index]
        scale, zero_point = 0.0, 0
        q = tensor.Quantization()
        if q is not None and q.ScaleLength() > 0:
            scale = float(q.Scale(0))
            zero_point = int(q.ZeroPoint(0)) if q.ZeroPointLength() > 0 else 0
        return TensorInfo(
            index, (tensor.Name() or b"").decode(), tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else (),
            dtypes[index], scale, zero_point, *producers.get(index, (None, None)), *origin(index),
        )

    weight_bytes: Counter[str] = Counter()
    params = 0
    for i, tensor in enumerate(tensors):
        if constant[i] and dtypes[i] in ("float32", "float16", "int8", "uint8", "int16", "int4"):
            elements = int(np.prod(tensor.ShapeAsNumpy())) if tensor.ShapeLength() else 1
            buffer = model.Buffers(tensor.Buffer())
            weight_bytes[dtypes[i]] += buffer.DataLength() or int(buffer.Size())
            params += elements
    metadata = tuple(
        sorted((model.Metadata(i).Name() or b"").decode() for i in range(model.MetadataLength()))
    )
    folded = None
    for i in range(model.MetadataLength()):
        if (model.Metadata(i).Name() or b"").decode() == PIXEL_INPUT_MARKER:
            from tflgen.input_grid import folded_normalization

            folded = folded_normalization(model.Buffers(model.Metadata(i).Buffer()).DataAsNumpy().tobytes())
    return ModelInfo(
        size_bytes=len(content),
        inputs=tuple(info(graph.Inputs(i)) for i in range(graph.InputsLength())),
        outputs=tuple(info(graph.Outputs(i)) for i in range(graph.OutputsLength())),
        op_counts=tuple(sorted(op_counter.items(), key=lambda kv: (-kv[1], kv[0]))),
        custom_ops=tuple(sorted(custom)),
        float_ops=tuple(sorted(float_counter.items(), key=lambda kv: (-kv[1], kv[0]))) if integer else (),
        int16_ops=tuple(sorted(int16_counter.items(), key=lambda kv: (-kv[1], kv[0]))),
        integer_activations=integer,
        weight_bytes=tuple(sorted(weight_bytes.items())),
        parameter_count=params,
        metadata_names=metadata,
        folded_normalization=folded,
        detection_options=tuple(sorted((k, v) for k, v in detection_options.items())),
        float_tensors=tuple(float_tensors) if integer else (),
    )


def load_interpreter(content: bytes, where: str, reporter: Reporter, threads: int | None = None) -> Any:
    """An allocated LiteRT interpreter, or a SourceError naming the file."""
    check_flatbuffer(content, where)
    from ai_edge_litert.interpreter import Interpreter

    with reporter.quiet_native():
        try:
            interpreter = Interpreter(model_content=content, num_threads=threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise SourceError(
                f"{where}: LiteRT cannot load the model: {str(exc).strip().splitlines()[0][:300]}",
                "the file is corrupt, or uses custom/Flex ops this runtime lacks",
            ) from exc
    return interpreter


def detection_anchors(content: bytes) -> np.ndarray | None:
    """The anchors [N, 4] (cy, cx, h, w) a model's TFLite_Detection_PostProcess op holds as its
    third input, dequantized if stored as integers or float16 (the float16 recipe stores them
    as float16 behind a DEQUANTIZE op); None without the op or constant anchors."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(content, 0)
    graph = model.Subgraphs(0)
    producers = {}
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        for k in range(op.OutputsLength()):
            producers[op.Outputs(k)] = op
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        if (code.CustomCode() or b"").decode() != DETECTION_POSTPROCESS_OP or op.InputsLength() < 3:
            continue
        index = op.Inputs(2)
        producer = producers.get(index)
        if producer is not None and _builtin(model.OperatorCodes(producer.OpcodeIndex())) == schema.BuiltinOperator.DEQUANTIZE:
            index = producer.Inputs(0)
        tensor = graph.Tensors(index)
        data = model.Buffers(tensor.Buffer()).DataAsNumpy() if tensor.Buffer() > 0 else None
        if data is None or isinstance(data, int) or len(data) == 0:
            return None
        dtype = {schema.TensorType.FLOAT32: np.float32, schema.TensorType.FLOAT16: np.float16,
                 schema.TensorType.UINT8: np.uint8, schema.TensorType.INT8: np.int8}.get(tensor.Type())
        if dtype is None:
            return None
        values = np.frombuffer(data.tobytes(), dtype=np.dtype(dtype).newbyteorder("<")).reshape(-1, 4).astype(np.float32)
        q = tensor.Quantization()
        if dtype in (np.uint8, np.int8) and q is not None and q.ScaleLength() > 0:
            values = (values - q.ZeroPoint(0)) * q.Scale(0)
        return values
    return None


def _builtin(code) -> int:  # noqa: ANN001 (schema.OperatorCode)
    """An operator code's builtin op (the deprecated 8-bit field holds it for the first 127 ops)."""
    return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
