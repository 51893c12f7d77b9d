"""Mixed-precision integer models through Google's AI Edge Quantizer (`ai-edge-quantizer`).

TensorFlow's converter quantizes a whole model to int8 (or, experimentally, the whole model to
16-bit activations); it can't give one layer int16 activations and its neighbours int8. The AI
Edge Quantizer, maintained for LiteRT, takes a recipe per op (selected by a regex on the op's
output tensor names): int8 ("a8w8"), int16 activations with int8 weights ("w8a16", LiteRT's 16x8
kernels), or float. tflgen hands it the activation ranges its own calibration measured (TensorFlow's
calibration, with ranges fitted by `keep_accuracy.fit_activation_ranges`), not the quantizer's own
calibration, whose moving average of per-sample min/max clips rare large values, such as a
classifier's logits before its softmax (measured on tflgen's classification example: 26.0 dB
against TensorFlow's 31.3 dB; with TensorFlow's ranges, the quantizer's int8 layers come out with
the same scales, weights and biases as TensorFlow's).

The quantizer makes the graph's inputs and outputs integer tensors of the first and last ops'
precision; `with_io_types` then gives the model the IO the request asked for (float32, uint8 or
int8) with QUANTIZE / DEQUANTIZE ops at its edges, as TensorFlow's converter does.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from tflgen.errors import OptionError

# LiteRT tensor types (schema TensorType)
FLOAT32, UINT8, INT8, INT16 = 0, 3, 9, 7


class Precision(str, enum.Enum):
    INT8 = "int8"  # int8 activations and weights
    INT16 = "int16"  # int16 activations, int8 weights: LiteRT's 16x8 kernels ("w8a16")
    FLOAT = "float"  # not quantized: float32 between DEQUANTIZE and QUANTIZE


def scope_regex(scope: str) -> str:
    """The quantizer's regex for exactly the op with this scope (its output names, ';'-joined; the
    quantizer matches them with a ';' after the last)."""
    return "^" + re.escape(scope) + ";$"


@cache
def supports_int16(op: str) -> bool:
    """Whether LiteRT has 16x8 kernels for `op` (as the quantizer's policy knows them)."""
    from ai_edge_quantizer import algorithm_manager, qtyping
    from ai_edge_quantizer.recipe_manager import RecipeManager

    manager = RecipeManager()
    manager.add_static_config(".*", qtyping.TFLOperationName.ALL_SUPPORTED, activation_num_bits=16, weight_num_bits=8)
    config = manager.get_quantization_recipe()[0]
    try:
        name = qtyping.TFLOperationName(op)
        algorithm_manager.check_op_quantization_config(config["algorithm_key"], name, _op_config(config["op_config"]))
    except ValueError:
        return False
    return True


def _op_config(data: dict):  # noqa: ANN202
    from ai_edge_quantizer import qtyping

    return qtyping.OpQuantizationConfig.from_dict(data)


def split_statistics(calibrated: bytes) -> tuple[bytes, dict[str, dict[str, np.ndarray]]]:
    """TensorFlow's calibrated model (float, each activation's min/max recorded in its
    quantization field) as a plain float model and the quantizer's ranges {tensor name: {min, max}}."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(calibrated, 0)
    ranges = {}
    for graph in model.subgraphs:
        for tensor in graph.tensors:
            q = tensor.quantization
            if q is not None and q.min is not None and len(q.min):
                name = tensor.name.decode() if isinstance(tensor.name, bytes) else tensor.name
                shape = (1,) * max(len(tensor.shape), 1) if len(q.min) == 1 else (-1,)
                ranges[name] = {"min": np.asarray(q.min, np.float32).reshape(shape), "max": np.asarray(q.max, np.float32).reshape(shape)}
                tensor.quantization = None
    return pack(model), ranges


def pack(model) -> bytes:  # noqa: ANN001 (schema.ModelT)
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def quantize(float_model: bytes, ranges: Mapping[str, Mapping[str, np.ndarray]], precision: Mapping[str, Precision],
             input_type: np.dtype, output_type: np.dtype) -> bytes:
    """The model with every op in int8 except the ops (named by their scope, the ';'-joined output
    names) in `precision`, and IO of the given types. A float input takes its readers' precision."""
    from ai_edge_quantizer import qtyping, recipe

    if np.dtype(input_type) == np.float32:
        precision = {**precision, **_input_precision(float_model, precision)}

    def configure(qt) -> None:  # noqa: ANN001 (quantizer.Quantizer)
        qt.load_quantization_recipe(recipe.static_wi8_ai8())
        for scope, chosen in precision.items():
            if chosen is Precision.INT16:
                qt.add_static_config(scope_regex(scope), qtyping.TFLOperationName.ALL_SUPPORTED, activation_num_bits=16, weight_num_bits=8)
            elif chosen is Precision.FLOAT:
                qt.update_quantization_recipe(scope_regex(scope), qtyping.TFLOperationName.ALL_SUPPORTED, algorithm_key="no_quantize")

    return _run_quantizer(float_model, ranges, configure, input_type, output_type)


def _input_precision(float_model: bytes, precision: Mapping[str, Precision]) -> dict[str, Precision]:
    """The graph inputs whose readers compute in int16 (all of them) or in float (any), by name (the
    quantizer's INPUT op has the input's name for scope). Left to the int8 default, a float input is
    rounded to int8 before an int16 or float layer reads it: on a random-weight MobileNetV2 that
    alone held every layer in float to 18.8 dB output SQNR (45.4 dB without it, benchmarks/RESULTS.md).
    With 8-bit IO the input has 8 bits anyway."""
    from tflgen.keep_accuracy import op_graph

    graph = op_graph(float_model)
    found = {}
    for name in graph.inputs:
        readers = {precision.get(op.scope, Precision.INT8) for op in graph.ops if name in op.inputs}
        if Precision.FLOAT in readers:
            found[name] = Precision.FLOAT
        elif readers == {Precision.INT16}:
            found[name] = Precision.INT16
    return found


def _run_quantizer(float_model: bytes, ranges: Mapping[str, Mapping[str, np.ndarray]], configure, input_type: np.dtype,  # noqa: ANN001
                   output_type: np.dtype) -> bytes:
    """The AI Edge Quantizer on `float_model` with tflgen's `ranges`, its recipe set by `configure`,
    and the IO types asked for."""
    from ai_edge_quantizer import quantizer

    qt = quantizer.Quantizer(bytearray(float_model))
    configure(qt)
    # A deep copy: the quantizer rewrites some ranges in place (an int16 SOFTMAX's output to -1..1).
    private = {name: {key: np.array(value) for key, value in entry.items()} for name, entry in ranges.items()}
    content = bytes(qt.quantize(private, enable_progress_report=False).quantized_model)
    return with_io_types(content, np.dtype(input_type), np.dtype(output_type), ranges)


# ---------------------------------------------------------------- --quantizer-recipe

RECIPE_OPTION = "--quantizer-recipe"
RECIPE_HINT = ("give the AI Edge Quantizer's recipe format: a JSON list of entries with regex, operation, algorithm_key and op_config, "
               'e.g. [{"regex": ".*", "operation": "*", "algorithm_key": "min_max_uniform_quantize", "op_config": {...}}]')
_ENTRY_KEYS = ("regex", "operation", "algorithm_key", "op_config")


@dataclass(frozen=True)
class QuantizerRecipe:
    """An AI Edge Quantizer recipe (`--quantizer-recipe FILE`), checked when the command starts:
    each entry applies its op_config to the ops whose output names match `regex` (re.search, as the
    quantizer does) and whose type is `operation` ("*": every op that has a kernel for it)."""

    path: Path
    entries: tuple[dict, ...]

    @classmethod
    def load(cls, path: Path) -> QuantizerRecipe:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OptionError(f"{RECIPE_OPTION} {path}: no such file", RECIPE_HINT) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise OptionError(f"{RECIPE_OPTION} {path}: cannot read it ({exc})", RECIPE_HINT) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OptionError(f"{RECIPE_OPTION} {path}: not JSON (line {exc.lineno}: {exc.msg})", RECIPE_HINT) from None
        if not isinstance(data, list) or not data or not all(isinstance(entry, dict) for entry in data):
            raise OptionError(f"{RECIPE_OPTION} {path}: not a list of recipe entries", RECIPE_HINT)
        for number, entry in enumerate(data, 1):
            _check_entry(path, number, entry)
        return cls(Path(path), tuple(data))

    def check_against(self, ops: Iterable) -> list[str]:  # of keep_accuracy.GraphOp
        """An error for an entry that names an op type and asks it for a precision LiteRT has no
        kernel for (int16 activations on HARD_SWISH, say); notes for entries that match no op, and for
        ops a "*" entry passes over for want of a kernel (the quantizer then leaves them to the
        entries before it, or float)."""
        from ai_edge_quantizer import algorithm_manager, qtyping

        ops = list(ops)
        notes = []
        for number, entry in enumerate(self.entries, 1):
            regex, operation = re.compile(entry["regex"]), entry["operation"]
            matched = [op for op in ops if not op.custom and regex.search(op.scope + ";") and operation in ("*", op.name)]
            if not matched:
                notes.append(f"{RECIPE_OPTION} entry {number} (regex {entry['regex']!r}, operation {operation}) matches no op of this model")
                continue
            algorithm = entry.get("algorithm_key", "min_max_uniform_quantize")
            if algorithm == "no_quantize":
                continue
            config = _op_config(entry["op_config"])
            skipped: dict[str, int] = {}
            for op in matched:
                try:
                    algorithm_manager.check_op_quantization_config(algorithm, qtyping.TFLOperationName(op.name), config)
                except ValueError:
                    if operation != "*":
                        raise OptionError(
                            f"{RECIPE_OPTION} {self.path}: entry {number} asks {_describe(config)} of {op.name} ({op.scope[:120]}), "
                            f"and LiteRT has no such {op.name} kernel",
                            f"leave {op.name} out of that entry (its regex or operation), or ask int8 of it",
                        ) from None
                    skipped[op.name] = skipped.get(op.name, 0) + 1
            if skipped:
                passed = ", ".join(f"{name}x{count}" for name, count in sorted(skipped.items()))
                notes.append(f"{RECIPE_OPTION} entry {number}: {passed} have no kernel for {_describe(config)}; the quantizer passes over them")
        return notes


def _check_entry(path: Path, number: int, entry: dict) -> None:
    from ai_edge_quantizer import algorithm_manager, qtyping

    where = f"{RECIPE_OPTION} {path}: entry {number}"
    unknown = sorted(set(entry) - set(_ENTRY_KEYS))
    if unknown:
        raise OptionError(f"{where} has unknown key {unknown[0]!r}", RECIPE_HINT)
    for key in ("regex", "operation"):
        if not isinstance(entry.get(key), str):
            raise OptionError(f"{where} has no {key}", RECIPE_HINT)
    try:
        re.compile(entry["regex"])
    except re.error as exc:
        raise OptionError(f"{where}: regex {entry['regex']!r} is not a regular expression ({exc})", "regex is a Python regular expression") from None
    names = [name.value for name in qtyping.TFLOperationName]
    if entry["operation"] not in names:
        raise OptionError(f"{where}: unknown operation {entry['operation']!r}",
                          "operation is \"*\" or a TFLite op the quantizer knows, e.g. CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD")
    algorithms = [name.value for name in algorithm_manager.AlgorithmName]
    algorithm = entry.get("algorithm_key", "min_max_uniform_quantize")
    if algorithm not in algorithms:
        raise OptionError(f"{where}: unknown algorithm_key {algorithm!r}", f"one of {', '.join(algorithms)}")
    if algorithm == "no_quantize":
        return
    config = entry.get("op_config")
    if not isinstance(config, dict):
        raise OptionError(f"{where} has no op_config", RECIPE_HINT)
    _check_keys(where, "op_config", config, qtyping.OpQuantizationConfig)
    for key in ("activation_tensor_config", "weight_tensor_config"):
        if key in config and config[key] is not None:
            if not isinstance(config[key], dict):
                raise OptionError(f"{where}: op_config.{key} is not an object", RECIPE_HINT)
            _check_keys(where, f"op_config.{key}", config[key], qtyping.TensorQuantizationConfig)
    try:
        _op_config(config)
    except (KeyError, ValueError, TypeError) as exc:
        raise OptionError(f"{where}: op_config is not one the quantizer takes ({type(exc).__name__}: {exc})", RECIPE_HINT) from None


def _check_keys(where: str, name: str, given: dict, dataclass_type: type) -> None:
    known = {field.name for field in dataclasses.fields(dataclass_type)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise OptionError(f"{where}: unknown quantizer option {name}.{unknown[0]}", f"{name} takes {', '.join(sorted(known))}")


def _describe(config) -> str:  # noqa: ANN001 (qtyping.OpQuantizationConfig)
    activation = config.activation_tensor_config
    if activation is not None and activation.num_bits == 16:
        return "int16 activations (w8a16)"
    if activation is not None:
        return f"{activation.num_bits}-bit activations"
    weight = config.weight_tensor_config
    return f"{weight.num_bits}-bit weights" if weight is not None else "this op_config"


def quantize_with_recipe(float_model: bytes, ranges: Mapping[str, Mapping[str, np.ndarray]], recipe: QuantizerRecipe,
                         input_type: np.dtype, output_type: np.dtype) -> bytes:
    """The model quantized by the user's recipe with tflgen's ranges, and IO of the given types."""
    return _run_quantizer(float_model, ranges, lambda qt: qt.load_quantization_recipe([dict(e) for e in recipe.entries]),
                          input_type, output_type)


# ---------------------------------------------------------------- IO types

def with_io_types(content: bytes, input_type: np.dtype, output_type: np.dtype,
                  ranges: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> bytes:
    """The model with its integer graph inputs and outputs turned into `input_type` / `output_type`
    tensors (float32, uint8 or int8) by QUANTIZE and DEQUANTIZE ops at the graph's edges. A uint8
    tensor keeps the int8 tensor's scale, its zero point + 128 (an exact requantization). An 8-bit
    edge of an int16 tensor spans the tensor's calibrated range from `ranges` (a softmax's 0..1, not
    the symmetric -1..1 of its int16 format), else the int16 format's range."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(content, 0)
    for buffer in model.buffers:  # the quantizer writes constants after the flatbuffer; packing inlines them
        if buffer.offset and buffer.offset > 1:
            buffer.data = np.frombuffer(content, np.uint8, buffer.size, buffer.offset)
            buffer.offset = buffer.size = 0
    graph = model.subgraphs[0]
    wanted_in, wanted_out = _tensor_type(input_type), _tensor_type(output_type)
    original = (list(graph.inputs), list(graph.outputs))
    graph.inputs, graph.outputs = list(graph.inputs), list(graph.outputs)
    new_ops_front, new_ops_back = [], []
    for position, index in enumerate(list(graph.inputs)):
        inner = graph.tensors[index]
        for edge_type in _edge_types(inner.type, wanted_in):
            outer = _edge_tensor(schema, inner, edge_type, "_inner", ranges or {})
            graph.tensors.append(outer)
            new_ops_front.insert(0, _op(schema, model, "QUANTIZE", len(graph.tensors) - 1, index))
            index = len(graph.tensors) - 1
            inner = outer
        graph.inputs[position] = index
    for position, index in enumerate(list(graph.outputs)):
        inner = graph.tensors[index]
        for edge_type in _edge_types(inner.type, wanted_out):
            outer = _edge_tensor(schema, inner, edge_type, "_inner", ranges or {})
            graph.tensors.append(outer)
            new_ops_back.append(_op(schema, model, "DEQUANTIZE" if edge_type == FLOAT32 else "QUANTIZE", index, len(graph.tensors) - 1))
            index = len(graph.tensors) - 1
            inner = outer
        graph.outputs[position] = index
    graph.operators = new_ops_front + list(graph.operators) + new_ops_back
    for signature in model.signatureDefs or ():
        for tensor_maps, old, new in ((signature.inputs, original[0], graph.inputs), (signature.outputs, original[1], graph.outputs)):
            moved = dict(zip(old, new))
            for tensor_map in tensor_maps:
                tensor_map.tensorIndex = moved.get(tensor_map.tensorIndex, tensor_map.tensorIndex)
    return pack(model)


def _tensor_type(dtype: np.dtype) -> int:
    types = {np.dtype(np.float32): FLOAT32, np.dtype(np.uint8): UINT8, np.dtype(np.int8): INT8}
    if dtype not in types:
        raise OptionError(f"IO type {dtype}: not one the mixed-precision model can take", "use float32, uint8 or int8 IO")
    return types[dtype]


def _edge_types(inner: int, wanted: int) -> list[int]:
    """The chain of tensor types from the graph's own tensor out to the wanted IO type (each step
    one QUANTIZE/DEQUANTIZE LiteRT has a kernel for)."""
    if inner == wanted or inner not in (INT8, INT16):
        return []
    if wanted == FLOAT32:
        return [FLOAT32]
    if inner == INT16:  # LiteRT requantizes int16 <-> int8, not int16 <-> uint8
        return [INT8] if wanted == INT8 else [INT8, UINT8]
    return [wanted]


def _edge_tensor(schema, inner, tensor_type: int, suffix: str, ranges: Mapping[str, Mapping[str, np.ndarray]]):  # noqa: ANN001, ANN202
    outer = schema.TensorT()
    outer.shape, outer.shapeSignature, outer.type, outer.buffer = inner.shape, inner.shapeSignature, tensor_type, 0
    # The graph's IO keeps its name (metadata and apps may name it); the inner tensor is renamed.
    outer.name = inner.name.decode() if isinstance(inner.name, bytes) else inner.name
    inner.name = outer.name + suffix
    if tensor_type != FLOAT32:
        q = schema.QuantizationParametersT()
        scale = np.asarray(inner.quantization.scale, np.float32)
        zero = np.asarray(inner.quantization.zeroPoint, np.int64)
        if inner.type == INT16 and outer.name in ranges:  # an 8-bit edge for a 16-bit tensor: its calibrated range in 256 steps
            low = min(float(np.min(ranges[outer.name]["min"])), 0.0)
            high = max(float(np.max(ranges[outer.name]["max"])), 0.0)
            scale = np.array([(high - low) / 255 or 1.0], np.float32)
            zero = np.array([int(np.round(-128 - low / scale[0]))], np.int64)
        elif inner.type == INT16:  # the int16 format's range in 256 steps
            scale, zero = scale * (65535 / 255), np.round(zero * 255 / 65535).astype(np.int64)
        q.scale, q.zeroPoint = scale, zero + 128 if tensor_type == UINT8 else zero
        outer.quantization = q
    return outer


def _op(schema, model, name: str, input_index: int, output_index: int):  # noqa: ANN001, ANN202
    code = getattr(schema.BuiltinOperator, name)
    found = [i for i, existing in enumerate(model.operatorCodes) if max(existing.builtinCode, existing.deprecatedBuiltinCode) == code]
    if not found:
        opcode = schema.OperatorCodeT()
        opcode.builtinCode, opcode.deprecatedBuiltinCode, opcode.version = code, min(code, 127), 1
        model.operatorCodes.append(opcode)
        found = [len(model.operatorCodes) - 1]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = found[0], [input_index], [output_index]
    return op
