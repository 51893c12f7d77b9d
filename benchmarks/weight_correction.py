"""What channel equalization and bias correction buy tflgen's int8 models, measured in one run.

    .venv/bin/python benchmarks/weight_correction.py

Issue 16 asked for both where int8 stays, kept only where they earn their place. Both rewrite
TensorFlow's calibrated model (float, each activation's min/max recorded) before its quantizer runs:

- Channel equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and
  Bias Correction", ICCV, section 4.1; the scale from measured activations as in Xiao et al. 2023,
  "SmoothQuant", ICML). A convolution whose output goes, through nothing or a fused ReLU, only into
  convolutions or fully connected layers scales its output channel i by 1/s_i and the readers their
  input channel i by s_i: ReLU(x / s) = ReLU(x) / s for s > 0, so the float model is unchanged.
  s_i = a_i^alpha / w_i^(1 - alpha), a_i the channel's largest |activation| on the calibration
  images, w_i the readers' largest |weight| on it; alpha 0.5 shares the range between the
  activation (quantized per tensor) and the readers' weights (per output channel); alpha 1 makes
  every channel of the activation span the same range. ReLU6 pairs can't be scaled (the clip at 6
  would move), which leaves MobileNetV2 few pairs.
- Bias correction (Nagel et al. 2019, section 4.2; Banner et al. 2019, "Post training 4-bit
  quantization of convolutional networks for rapid-deployment", NeurIPS). Rounding the weights to
  int8 moves each layer's mean output by E[(W_q - W) * x] per output channel. It is measured for the
  int8 weights TensorFlow's quantizer makes (the layer run with W_q - W on its mean input over the
  calibration images, padding included) and subtracted from the bias.

Each variant is quantized by TensorFlow's quantizer (min/max ranges, float IO, per-channel int8
weights as tflgen converts) and compared with the float source on held-out images: the SQNR of the
logits (the last layer with weights, before the softmax) and of the output.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

_EQUALIZED_ACTIVATIONS = {0, 1}  # fused NONE or RELU: positively homogeneous, so a channel's scale passes through
_EQUALIZING_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D"}
_READER_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
_CORRECTED_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
_SCALE_LIMIT = 100.0  # no channel is scaled by more than this either way (a dead channel keeps 1)


def equalize_channels(calibrated: bytes, samples: np.ndarray, alpha: float = 0.5) -> tuple[bytes, int]:
    """The calibrated model with each equalizable pair's channels balanced (s_i = a_i^alpha /
    w_i^(1 - alpha)), and the number of pairs."""
    from ai_edge_litert import schema_py_generated as schema

    from tflgen.delegates import read_ops
    from tflgen.mixed_precision import pack

    model = schema.ModelT.InitFromPackedBuf(calibrated, 0)
    graph = model.subgraphs[0]
    ops, _ = read_ops(calibrated)
    outputs = set(graph.outputs.tolist())
    pairs = []
    for op in ops:
        if op.name not in _EQUALIZING_OPS or op.options.get("fusedActivationFunction") not in _EQUALIZED_ACTIVATIONS:
            continue
        middle = op.outputs[0]
        readers = [r for r in ops if middle in r.inputs]
        if (middle in outputs or not readers or not _float_weights(model, graph, op)
                or not all(_reads_channels(model, graph, r, middle) for r in readers)):
            continue
        pairs.append((op, middle, readers))
    if not pairs:
        return calibrated, 0
    ranges = _channel_ranges(calibrated, samples, [middle for _, middle, _ in pairs])
    for op, middle, readers in pairs:
        low, high = ranges[middle]
        activation = np.maximum(np.abs(low), np.abs(high))
        reader_weights = np.max([_input_column_max(_weights(model, graph, r), r.name) for r in readers], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = activation ** alpha / reader_weights ** (1 - alpha)
        scale = np.where(np.isfinite(scale) & (scale > 0), np.clip(scale, 1 / _SCALE_LIMIT, _SCALE_LIMIT), 1.0)
        weights = _weights(model, graph, op)
        _set_input(model, graph, op, 1, weights / _output_axis(scale, op.name, weights.ndim))
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            _set_input(model, graph, op, 2, _constant(model, graph, int(graph.operators[op.index].inputs[2])) / scale)
        for reader in readers:
            w = _weights(model, graph, reader)
            _set_input(model, graph, reader, 1, w * _input_axis(scale, w.ndim))
        quantization = graph.tensors[middle].quantization
        quantization.min = np.array([float(np.min(low / scale))], np.float32)
        quantization.max = np.array([float(np.max(high / scale))], np.float32)
    return pack(model), len(pairs)


def correct_bias(calibrated: bytes, samples: np.ndarray, quantized: bytes) -> tuple[bytes, int]:
    """The calibrated model with each layer's bias corrected for its weights' int8 rounding in
    `quantized` (TensorFlow's int8 model of `calibrated`), and the number of layers corrected."""
    from ai_edge_litert import schema_py_generated as schema

    from tflgen.delegates import read_ops
    from tflgen.mixed_precision import pack

    model = schema.ModelT.InitFromPackedBuf(calibrated, 0)
    graph = model.subgraphs[0]
    ops, _ = read_ops(calibrated)
    rounded = _int8_weights(quantized)
    layers = [op for op in ops if op.name in _CORRECTED_OPS and len(op.inputs) > 2 and op.inputs[2] >= 0
              and _float_weights(model, graph, op) and _name(graph, op.outputs[0]) in rounded]
    if not layers:
        return calibrated, 0
    means = _mean_inputs(calibrated, samples, {op.inputs[0] for op in layers})
    for op in layers:
        weights = _weights(model, graph, op)
        error = rounded[_name(graph, op.outputs[0])] - weights
        bias = _constant(model, graph, op.inputs[2])
        _set_input(model, graph, op, 2, bias - _mean_output(op, means[op.inputs[0]], error))
    return pack(model), len(layers)


# ---------------------------------------------------------------- measuring the float model


def _run(calibrated: bytes, samples: np.ndarray, tensors: Iterable[int]):  # noqa: ANN202 (a generator of {tensor: value})
    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():  # LiteRT warns that keeping every tensor costs memory: that is the point here
        warnings.simplefilter("ignore", UserWarning)
        interpreter = Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    wanted = list(tensors)
    for sample in samples:
        interpreter.set_tensor(input_index, sample)  # each sample is a batch of one
        interpreter.invoke()
        yield {i: np.asarray(interpreter.get_tensor(i), np.float64) for i in wanted}


def _channel_ranges(calibrated: bytes, samples: np.ndarray, tensors: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per-channel (last axis) min and max of each tensor over the samples."""
    ranges: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for values in _run(calibrated, samples, tensors):
        for i, value in values.items():
            flat = value.reshape(-1, value.shape[-1])
            low, high = flat.min(axis=0), flat.max(axis=0)
            ranges[i] = (np.minimum(ranges[i][0], low), np.maximum(ranges[i][1], high)) if i in ranges else (low, high)
    return ranges


def _mean_inputs(calibrated: bytes, samples: np.ndarray, tensors: set[int]) -> dict[int, np.ndarray]:
    total: dict[int, np.ndarray] = {}
    for values in _run(calibrated, samples, tensors):
        for i, value in values.items():
            total[i] = total[i] + value if i in total else value
    return {i: value / len(samples) for i, value in total.items()}


def _mean_output(op, mean_input: np.ndarray, weights: np.ndarray) -> np.ndarray:  # noqa: ANN001 (delegates.Op)
    """Per output channel, the mean of what the layer computes with `weights` (no bias) on `mean_input`."""
    if op.name == "FULLY_CONNECTED":
        return (mean_input.reshape(-1, weights.shape[1]) @ weights.T).mean(axis=0)
    import tensorflow as tf

    options = op.options
    padding = "SAME" if options.get("padding", 0) == 0 else "VALID"
    strides = (1, options.get("strideH", 1), options.get("strideW", 1), 1)
    dilations = (options.get("dilationHFactor", 1), options.get("dilationWFactor", 1))
    x = tf.constant(mean_input, tf.float64)
    kernel = tf.constant(np.transpose(weights, (1, 2, 3, 0)), tf.float64)  # TFLite [O|1, H, W, I|C] -> TF [H, W, I|C, O|1]
    if op.name == "CONV_2D":
        y = tf.nn.conv2d(x, kernel, strides, padding, dilations=dilations)
    else:
        multiplier = weights.shape[3] // mean_input.shape[3]
        kernel = tf.reshape(kernel, (*weights.shape[1:3], mean_input.shape[3], multiplier))
        y = tf.nn.depthwise_conv2d(x, kernel, strides, padding, dilations=dilations)
    return y.numpy().reshape(-1, y.shape[-1]).mean(axis=0)


# ---------------------------------------------------------------- reading and writing constants


def _name(graph, index: int) -> str:  # noqa: ANN001 (schema.SubGraphT)
    name = graph.tensors[index].name
    return name.decode() if isinstance(name, bytes) else name


def _constant(model, graph, index: int) -> np.ndarray:  # noqa: ANN001
    tensor = graph.tensors[index]
    return np.frombuffer(bytes(model.buffers[tensor.buffer].data), np.float32).reshape(tensor.shape).astype(np.float64)


def _float_weights(model, graph, op) -> bool:  # noqa: ANN001
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        return False
    tensor = graph.tensors[op.inputs[1]]
    return tensor.type == 0 and model.buffers[tensor.buffer].data is not None and (
        len(op.inputs) < 3 or op.inputs[2] < 0 or graph.tensors[op.inputs[2]].type == 0)


def _weights(model, graph, op) -> np.ndarray:  # noqa: ANN001
    return _constant(model, graph, int(graph.operators[op.index].inputs[1]))  # the live graph: an earlier pair may have replaced them


def _set_input(model, graph, op, position: int, values: np.ndarray) -> None:  # noqa: ANN001
    """Point the op's input at a new float32 constant: the converter shares equal constants (all-zero
    biases) between layers, so a constant is never changed in place."""
    from ai_edge_litert import schema_py_generated as schema

    old = graph.tensors[op.inputs[position]]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(values.astype(np.float32).tobytes(), np.uint8)
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.shape, tensor.type, tensor.buffer = np.array(old.shape), 0, len(model.buffers) - 1
    tensor.name = _name(graph, op.inputs[position]) + "_corrected"
    graph.tensors.append(tensor)
    inputs = list(graph.operators[op.index].inputs)
    inputs[position] = len(graph.tensors) - 1
    graph.operators[op.index].inputs = inputs


def _reads_channels(model, graph, reader, tensor: int) -> bool:  # noqa: ANN001
    """The reader takes `tensor` as its data input and its weights have one slice per channel of it."""
    if reader.name not in _READER_OPS or reader.inputs[0] != tensor or tensor in reader.inputs[1:] or not _float_weights(model, graph, reader):
        return False
    channels = int(graph.tensors[tensor].shape[-1])
    shape = tuple(graph.tensors[reader.inputs[1]].shape)
    if reader.name == "FULLY_CONNECTED":
        return len(graph.tensors[tensor].shape) == 2 and shape[1] == channels
    return shape[3] == channels  # CONV_2D [O, H, W, I]; DEPTHWISE_CONV_2D [1, H, W, C] with multiplier 1


def _input_column_max(weights: np.ndarray, op_name: str) -> np.ndarray:
    """Largest |weight| per input channel."""
    if op_name == "FULLY_CONNECTED":
        return np.abs(weights).max(axis=0)
    return np.abs(weights).max(axis=(0, 1, 2))


def _input_axis(scale: np.ndarray, ndim: int) -> np.ndarray:
    return scale.reshape((1,) * (ndim - 1) + (-1,))  # the input channel is the last axis of CONV_2D, DEPTHWISE_CONV_2D and FC weights


def _output_axis(scale: np.ndarray, op_name: str, ndim: int) -> np.ndarray:
    if op_name == "DEPTHWISE_CONV_2D":
        return scale.reshape((1,) * (ndim - 1) + (-1,))
    return scale.reshape((-1,) + (1,) * (ndim - 1))


def _int8_weights(quantized: bytes) -> dict[str, np.ndarray]:
    """The dequantized int8 weights of each layer in `quantized`, by the layer's output name."""
    from ai_edge_litert import schema_py_generated as schema

    from tflgen.delegates import read_ops

    model = schema.ModelT.InitFromPackedBuf(quantized, 0)
    graph = model.subgraphs[0]
    ops, _ = read_ops(quantized)
    found = {}
    for op in ops:
        if op.name not in _CORRECTED_OPS or len(op.inputs) < 2:
            continue
        tensor = graph.tensors[op.inputs[1]]
        q = tensor.quantization
        if tensor.type != 9 or q is None or q.scale is None or model.buffers[tensor.buffer].data is None:  # 9: INT8
            continue
        values = np.frombuffer(bytes(model.buffers[tensor.buffer].data), np.int8).reshape(tensor.shape).astype(np.float64)
        scale = np.asarray(q.scale, np.float64)
        zero = np.asarray(q.zeroPoint if q.zeroPoint is not None else np.zeros_like(scale), np.float64)
        if scale.size > 1:
            shape = [1] * values.ndim
            shape[q.quantizedDimension] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        found[_name(graph, op.outputs[0])] = (values - zero) * scale
    return found


# ---------------------------------------------------------------- the measurement

SAMPLES = 32  # calibration samples the rewrites look at (as --keep-accuracy's range fit)


def calibrated_model(keras_model, samples: np.ndarray) -> bytes:  # noqa: ANN001
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([sample] for sample in samples)
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True  # noqa: SLF001 (as tflgen.keep_accuracy.calibrated_model)
    return converter.convert()


def outputs(content: bytes, samples: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """The named tensors (dequantized) over the samples."""
    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        interpreter = Interpreter(model_content=content, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    details = {d["name"]: d for d in interpreter.get_tensor_details()}
    found: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for sample in samples:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], sample)
        interpreter.invoke()
        for name in names:
            d = details[name]
            value = interpreter.get_tensor(d["index"]).astype(np.float64)
            scale, zero = d["quantization"]
            found[name].append((value - zero) * scale if d["dtype"] != np.float32 else value)
    return {name: np.concatenate(values) for name, values in found.items()}


def sqnr_db(reference: np.ndarray, value: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(reference ** 2) / np.mean((value - reference) ** 2)))


def measure(title: str, keras_model, calibration: np.ndarray, held_out: np.ndarray) -> None:  # noqa: ANN001
    from ai_edge_litert import schema_py_generated as schema
    from tensorflow.lite.python.convert import mlir_quantize as quantize

    from tflgen.console import Reporter
    from tflgen.delegates import read_ops

    quiet = Reporter().quiet_native  # the converter prints to fds 1 and 2

    def mlir_quantize(model: bytes) -> bytes:
        with quiet():
            return quantize(model)

    with quiet():
        calibrated = calibrated_model(keras_model, calibration)
    ops, _ = read_ops(calibrated)
    graph = schema.ModelT.InitFromPackedBuf(calibrated, 0).subgraphs[0]
    logits = _name(graph, [op for op in ops if op.name in _CORRECTED_OPS][-1].outputs[0])
    output = _name(graph, graph.outputs[0])
    reference = outputs(calibrated, held_out, [logits, output])
    seen = calibration[np.linspace(0, len(calibration) - 1, min(SAMPLES, len(calibration))).astype(int)]

    def corrected(model: bytes) -> tuple[bytes, int]:
        return correct_bias(model, seen, mlir_quantize(model))

    equalized = {alpha: equalize_channels(calibrated, seen, alpha) for alpha in (0.5, 1.0)}
    variants = {
        "plain int8": (calibrated, ""),
        "bias correction": (lambda m: (m[0], f"{m[1]} layers"))(corrected(calibrated)),
        "equalization, alpha 0.5": (equalized[0.5][0], f"{equalized[0.5][1]} pairs"),
        "equalization, alpha 1": (equalized[1.0][0], f"{equalized[1.0][1]} pairs"),
        "equalization 0.5 + bias correction": (corrected(equalized[0.5][0])[0], ""),
    }
    print(f"## {title}")
    print()
    print("| variant | changed | logits SQNR | output SQNR |")
    print("|---|---|---|---|")
    for name, (model, changed) in variants.items():
        got = outputs(mlir_quantize(model), held_out, [logits, output])
        print(f"| {name} | {changed} | {sqnr_db(reference[logits], got[logits]):.2f} dB | {sqnr_db(reference[output], got[output]):.2f} dB |")
    print()


def main() -> None:
    import keras

    import mini_xception
    import models
    from tflgen.calibration import load_calibration
    from tflgen.console import Reporter
    from tflgen.examples import CALIBRATION_COUNT, get_example
    from tflgen.examples.defaults import example, generated_images
    from tflgen.reference import Normalization
    from tflgen.spec import ColorOrder

    work = Path(tempfile.mkdtemp(prefix="tflgen-weights-"))
    reporter = Reporter()
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print()

    def load(folder: Path, count: int, size: int, channels: int, color: ColorOrder | None = None) -> np.ndarray:
        normalization = Normalization((127.5,) * channels, (127.5,) * channels)
        return load_calibration(folder, count, (1, size, size, channels), np.float32, normalization, reporter, color=color).samples

    trained = example("classification")
    size = trained.input_size
    measure(f"tflgen's trained classification example (MobileNetV2 0.35 {size}), {CALIBRATION_COUNT} calibration images, "
            "100 held-out", keras.models.load_model(get_example("classification").source_path),
            load(generated_images(trained, "calibration"), CALIBRATION_COUNT, size, 3), load(generated_images(trained, "held-out"), 100, size, 3))
    folder = mini_xception.trained()
    measure("mini-Xception 64x64 grayscale (benchmarks/mini_xception.py), 100 calibration images, 100 held-out",
            keras.models.load_model(folder / "model.keras"),
            load(mini_xception.write_images(work / "cal", "calibration", 100), 100, 64, 1, ColorOrder.GRAY),
            load(mini_xception.write_images(work / "held", "held_out", 100), 100, 64, 1, ColorOrder.GRAY))
    measure("MobileNetV2 1.0 224, 1000 classes, random weights, 60 calibration images, 40 others",
            models.mobilenet_v2(input_size=224, alpha=1.0, classes=1000, classifier_activation="softmax"),
            load(models.write_images(work / "mcal", 60, seed=4), 60, 224, 3), load(models.write_images(work / "mimg", 40, seed=3), 40, 224, 3))


if __name__ == "__main__":
    main()
