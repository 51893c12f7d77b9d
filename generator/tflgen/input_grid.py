"""The exact input grid: a uint8 input that carries the camera's pixels exactly.

An int8 model with uint8 IO quantizes its normalized input x = (pixel - mean) / std. With the usual
mean 127.5 and std 127.5 the input step is 1/127.5 and every pixel falls exactly half a step
between two codes: q = round(x / scale) + zero_point rounds ties away from zero (TFLite's reference
QUANTIZE, and tflgen's app with it), so pixels above the mean move up half a step and pixels below
move down; 127 and 128 end a whole step apart, and 0 and 1 share a code. A reader that feeds raw
pixels (MediaPipe) is half a step off the other way.

The exact grid: the input's range is set to what pixels 0..255 normalize to with the mean rounded to
a whole pixel (mean' = 128 for 127.5), so the uint8 input's scale is 1/std and its zero point mean':
the code is the pixel itself, q = p, and the app feeds raw pixels. The model then sees
x' = (p - mean') / std = x - (mean' - mean) / std; the first layers add that back through their
biases, b += (mean' - mean) / std * sum(W) per output channel, so they compute exactly what they
computed on x. (Where a SAME-padded convolution reads past the image edge, the zeros it pads with
stand for mean' rather than mean: half a pixel level, at the border only.)

The model records the normalization it folded in a metadata entry (`tflgen_pixel_input`), so tflgen
feeds it raw pixels and its source the normalized ones (`tflite_info`, `spec.build_spec`), and the
app's spec, metadata, Kotlin preprocessing and golden vectors say: raw pixels.

int8 with uint8 IO is made on this grid wherever the model allows it (`tflgen.convert`). It is about
the contract, not accuracy: every reader feeds the exact input. The output SQNR it moved on tflgen's
examples stayed within what another set of images moves it (benchmarks/input_grid.py: classification
-2.0 to +2.2 dB over three sets, detection and segmentation within 0.6 dB, the mini-Xception -0.8 dB).
"""

from __future__ import annotations

import json

import numpy as np

from tflgen.reference import Normalization
from tflgen.tflite_info import PIXEL_INPUT_MARKER as MARKER  # metadata entry: {"mean": [...], "std": [...]}, the normalization folded in
_FOLDING_OPS = {"CONV_2D": (1, 2, 3), "DEPTHWISE_CONV_2D": (0, 1, 2)}  # weight axes summed per output channel


def exact_grid(calibrated: bytes, normalization: Normalization) -> tuple[bytes | None, str]:
    """TensorFlow's calibrated model (float, activation min/max recorded) with the input range set
    to the pixel grid and the mean's fraction folded into the first layers' biases, and what was
    done; (None, why not) when the model doesn't allow it."""
    from ai_edge_litert import schema_py_generated as schema

    from tflgen.mixed_precision import pack

    if len(set(normalization.mean)) > 1 or len(set(normalization.std)) > 1:
        return None, "the normalization differs per channel (one input scale can't hold it)"
    mean, std = float(normalization.mean[0]), float(normalization.std[0])
    whole = float(round(mean))
    model = schema.ModelT.InitFromPackedBuf(calibrated, 0)
    graph = model.subgraphs[0]
    if len(graph.inputs) != 1:
        return None, "the model has more than one input"
    source = graph.inputs[0]
    names = {i: max(c.builtinCode, c.deprecatedBuiltinCode) for i, c in enumerate(model.operatorCodes)}
    codes = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    readers = [op for op in graph.operators if source in list(op.inputs)]
    if not readers:
        return None, "nothing reads the input"
    shift = (whole - mean) / std
    for op in readers:
        name = codes.get(names[op.opcodeIndex])
        if name not in _FOLDING_OPS or list(op.inputs).index(source) != 0 or len(op.inputs) < 3 or op.inputs[2] < 0:
            return None, f"the input is read by {name}, not only by convolutions with a bias to fold the mean into"
        weights, bias = graph.tensors[op.inputs[1]], graph.tensors[op.inputs[2]]
        if weights.type != 0 or bias.type != 0 or model.buffers[weights.buffer].data is None or model.buffers[bias.buffer].data is None:
            return None, f"the {name} reading the input has no constant float weights and bias"
    for op in readers if shift else ():
        weights, bias = graph.tensors[op.inputs[1]], graph.tensors[op.inputs[2]]
        w = np.frombuffer(bytes(model.buffers[weights.buffer].data), np.float32).reshape(weights.shape)
        b = np.frombuffer(bytes(model.buffers[bias.buffer].data), np.float32).astype(np.float64)
        b = b + shift * w.astype(np.float64).sum(axis=_FOLDING_OPS[codes.get(names[op.opcodeIndex])])
        # A new bias tensor and buffer: the converter shares equal constants (all-zero biases) between layers.
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(b.astype(np.float32).tobytes(), np.uint8)
        model.buffers.append(buffer)
        folded = schema.TensorT()
        folded.shape, folded.type, folded.buffer = np.array(bias.shape), 0, len(model.buffers) - 1
        folded.name = (bias.name.decode() if isinstance(bias.name, bytes) else bias.name) + "_pixel_grid"
        graph.tensors.append(folded)
        op.inputs = [*op.inputs[:2], len(graph.tensors) - 1, *op.inputs[3:]]
    q = graph.tensors[source].quantization
    if q is None or q.min is None:
        return None, "the calibration recorded no range for the input"
    q.min = np.array([(0.0 - whole) / std], np.float32)
    q.max = np.array([(255.0 - whole) / std], np.float32)
    done = (f"uint8 input = pixels (scale 1/{std:g}, zero point {whole:g})"
            + (f"; mean {mean:g} -> {whole:g} folded into {len(readers)} first layer(s)' bias" if shift else ""))
    return pack(model), done


def shifted_samples(samples: np.ndarray, normalization: Normalization) -> np.ndarray:
    """Calibration samples (normalized with `normalization`) as the exact-grid model takes them."""
    mean, std = float(normalization.mean[0]), float(normalization.std[0])
    return (samples - np.float32((round(mean) - mean) / std)).astype(np.float32)


def mark_pixel_input(content: bytes, normalization: Normalization) -> bytes:
    """The model with the `tflgen_pixel_input` metadata entry: it takes raw pixels, `normalization` folded in."""
    from tflgen.metadata import with_metadata_entry

    record = {"mean": [float(v) for v in normalization.mean], "std": [float(v) for v in normalization.std]}
    return with_metadata_entry(content, MARKER, json.dumps(record, sort_keys=True).encode())


def folded_normalization(record: bytes) -> Normalization:
    data = json.loads(record.decode())
    return Normalization(tuple(float(v) for v in data["mean"]), tuple(float(v) for v in data["std"]))
