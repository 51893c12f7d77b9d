"""`--quantize int8 --keep-accuracy X`: int8 that keeps accuracy, with as little float as possible.

X is the accepted verified drop (1 - agreement, like --max-drop) or an output SQNR floor ("30dB").
Plain int8 (TensorFlow's converter, min/max calibration) is tried first; if it misses X:

1. Activation ranges are fitted. The converter quantizes each activation over the full min..max it
   saw in calibration, so a few outliers stretch the step for every other value. Here each range
   is shrunk to the one with the least squared quantization error over the calibration images'
   values (what PyTorch's histogram observer aims at); ranges that decide the outputs (model
   outputs, and what feeds SOFTMAX, LOGISTIC or a custom op such as the SSD post-process, through
   reshapes and concatenations) keep their min..max, because there the rare large values are the
   answers.
2. If that still misses X, layers are ranked by TensorFlow's quantization debugger, which runs
   each quantized op beside its float twin on the same (quantized) input; a layer's error is its
   noise-to-signal ratio there, mean((float - dequantized)^2) / mean(float^2), worst first, the
   layers with weights (and the ops making the outputs) ahead of the rest. (The debugger's own
   rmse/scale misses a layer whose range is blown up by outliers.) On 1000 images never used
   for anything (3000 pooled), that example's plain int8 has 29.8 dB and --keep-accuracy 30dB's
   model 30.7 dB.
3. The model is quantized again from the fitted ranges with the top k layers denylisted
   (`denylisted_nodes`: they stay float between DEQUANTIZE and QUANTIZE ops) and verified like
   `tflgen verify`. k = 0 (fitted ranges only), 1, 2, 4, ... until X is met, then a binary search
   for the smallest such k (the error is only roughly monotone in k; the search assumes it).
A layer kept in float still reads and writes int8 activations when its neighbours are integer, so
it removes its own weight and arithmetic error, not the activations' rounding: on a network whose
error is spread thin, float layers buy little and fitted ranges buy more.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tflgen.calibration import CalibrationSet
from tflgen.console import Reporter, import_tensorflow
from tflgen.convert import ConversionRequest, io_dtypes, make_converter
from tflgen.delegates import MAC_OPS
from tflgen.errors import ConversionError, OptionError
from tflgen.sources import SourceModel
from tflgen.verify import Verification

DEBUG_SAMPLES = 32  # calibration samples the debugger runs layer by layer (it keeps every tensor)
RANGE_SAMPLES = 32  # calibration samples whose activations the range fit looks at
RANGE_VALUES = 20_000  # values kept per tensor and sample (a fixed random subset: same model every run)
SHRINK_FACTORS = np.linspace(0.2, 1.0, 33)  # candidate ranges: the calibrated min..max scaled by these
# Ops whose inputs decide the answer (rare large values are the answer there), and ops that only
# move values around, through which that protection reaches back to the producing layer.
_DECIDING_OPS = {"SOFTMAX", "LOGISTIC", "ARG_MAX", "LOG_SOFTMAX"}
_PASS_THROUGH_OPS = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONCATENATION", "PACK", "TRANSPOSE", "QUANTIZE", "DEQUANTIZE"}


@dataclass(frozen=True)
class AccuracyTarget:
    """What --keep-accuracy asks: a verified drop (1 - agreement) of at most `max_drop`, or an
    output SQNR of at least `min_sqnr_db`."""

    max_drop: float | None = None
    min_sqnr_db: float | None = None

    @classmethod
    def parse(cls, text: str) -> AccuracyTarget:
        value = str(text).strip()
        unit = value[-2:].lower() == "db"
        try:
            number = float(value[:-2] if unit else value)
        except ValueError:
            number = float("nan")
        if unit and np.isfinite(number) and number > 0:
            return cls(min_sqnr_db=number)
        if not unit and 0.0 <= number <= 1.0:
            return cls(max_drop=number)
        raise OptionError(
            f"--keep-accuracy {text}: not a drop in 0..1 nor an SQNR like 30dB",
            "give the largest accepted 1 - agreement (e.g. --keep-accuracy 0.01) or the lowest output SQNR (e.g. --keep-accuracy 30dB)",
        )

    def met_by(self, verification: Verification) -> bool:
        if self.max_drop is not None:
            return verification.drop <= self.max_drop + 1e-12
        sqnr = verification.quantization.sqnr if verification.quantization else None
        if sqnr is None:
            raise OptionError(
                f"--keep-accuracy {self}: this model's output has no SQNR (it emits class indices, not scores)",
                "give the accepted drop instead, e.g. --keep-accuracy 0.01",
            )
        return sqnr.db >= self.min_sqnr_db

    def __str__(self) -> str:
        return f"{self.min_sqnr_db:g}dB" if self.min_sqnr_db is not None else f"{self.max_drop:g}"

    def to_json(self) -> dict:
        return {"max_drop": self.max_drop, "min_sqnr_db": self.min_sqnr_db}


@dataclass(frozen=True)
class LayerError:
    op: str  # e.g. CONV_2D
    tensor: str  # the op's output tensor, what `denylisted_nodes` names
    noise_to_signal: float  # mean over the debug samples


@dataclass(frozen=True)
class Trial:
    float_layers: int
    drop: float
    sqnr_db: float | str | None = None  # as in the report: "inf" for identical outputs, None: not applicable


class LayerRanking:
    """The calibrated model with fitted activation ranges, and its layers ranked by quantization
    error, worst first."""

    def __init__(self, source: SourceModel, request: ConversionRequest, calibration: CalibrationSet, reporter: Reporter) -> None:
        from tensorflow.lite.python.convert import mlir_quantize  # what the converter and the debugger call

        tf = import_tensorflow(reporter)
        self.source, self.request, self.reporter = source, request, reporter
        converter = make_converter(source, request, calibration, reporter)
        converter.inference_input_type = converter.inference_output_type = tf.float32  # calibration feeds float
        samples = calibration.samples
        converter.representative_dataset = lambda: ([sample] for sample in samples)
        converter.experimental_mlir_quantizer = True
        converter._experimental_calibrate_only = True  # noqa: SLF001 (as the quantization debugger does)
        debug_samples = _spread(samples, DEBUG_SAMPLES)

        def dataset():  # noqa: ANN202
            return ([sample] for sample in debug_samples)

        debugging = tf.lite.experimental
        try:
            with reporter.quiet_native():
                calibrated = converter.convert()
                self.calibrated_model, self.fitted_ranges, self.range_count = fit_activation_ranges(calibrated, _spread(samples, RANGE_SAMPLES))
                # The instrumented model runs each quantized op beside its float twin.
                layers = debugging.QuantizationDebugger(
                    quant_debug_model_content=mlir_quantize(self.calibrated_model, enable_numeric_verify=True), debug_dataset=dataset,
                    debug_options=debugging.QuantizationDebugOptions(layer_direct_compare_metrics={"noise_to_signal": _noise_to_signal}),
                )
                layers.run()
                table = io.StringIO()
                layers.layer_statistics_dump(table)
        except Exception as exc:  # the converter and the debugger raise ValueError, RuntimeError...
            raise ConversionError(
                f"TensorFlow's quantization debugger failed on this model: {str(exc).strip().splitlines()[0][:300]}",
                "drop --keep-accuracy (plain int8 works without it), or rerun with --verbose for TensorFlow's log",
            ) from exc
        table.seek(0)
        rows = [LayerError(row["op_name"], row["tensor_name"], _number(row["noise_to_signal"])) for row in csv.DictReader(table)]
        # Layers that multiply by weights first: their weight and accumulator error is what float
        # removes. An ADD or MEAN kept float between int8 neighbours re-rounds its output all the
        # same (its whole error), so it only helps once its neighbours are float too: those come
        # last. An op that makes a model output counts with the first (with float IO, its output
        # then isn't rounded at all).
        outputs = _output_names(calibrated)
        self.layers = tuple(sorted(rows, key=lambda layer: (layer.op not in MAC_OPS and layer.tensor not in outputs, -layer.noise_to_signal)))

    def quantize(self, float_layers: int) -> bytes:
        """The int8 model from the fitted ranges with the `float_layers` worst layers kept in float."""
        from tensorflow.lite.python.convert import mlir_quantize

        tf = import_tensorflow(self.reporter)
        input_type, output_type = io_dtypes(self.source, self.request, tf)
        with self.reporter.quiet_native():
            return mlir_quantize(self.calibrated_model, input_data_type=input_type, output_data_type=output_type,
                                 denylisted_nodes=[layer.tensor for layer in self.layers[:float_layers]])


def _output_names(content: bytes) -> set[str]:
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.ModelT.InitFromPackedBuf(content, 0).subgraphs[0]
    return {graph.tensors[i].name.decode() if isinstance(graph.tensors[i].name, bytes) else graph.tensors[i].name for i in graph.outputs}


def _spread(samples: np.ndarray, count: int) -> np.ndarray:
    return samples[np.linspace(0, len(samples) - 1, min(count, len(samples))).astype(int)]


# ---------------------------------------------------------------- activation ranges


def fit_activation_ranges(calibrated: bytes, samples: np.ndarray) -> tuple[bytes, int, int]:
    """The calibrated model (float, with each activation's min/max) with every range that doesn't
    decide the outputs shrunk to the least squared quantization error over the samples' values;
    returns (model, ranges changed, ranges considered)."""
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.lite.tools import flatbuffer_utils

    from tflgen.delegates import read_ops

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    graph = model.subgraphs[0]
    ops, tensors = read_ops(calibrated)
    protected = _deciding_tensors(ops, set(graph.inputs.tolist()) | set(graph.outputs.tolist()))
    produced = {t for op in ops for t in op.outputs}
    fitted = {
        i: t for i, t in enumerate(graph.tensors)
        if i in produced and i not in protected and t.quantization is not None
        and t.quantization.min is not None and len(t.quantization.min) == 1 and not tensors[i].constant
    }
    with warnings.catch_warnings():  # LiteRT warns that keeping every tensor costs memory: that is the point here
        warnings.simplefilter("ignore", UserWarning)
        interpreter = Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    values: dict[int, list[np.ndarray]] = {i: [] for i in fitted}
    pick = np.random.default_rng(0)
    for sample in samples:
        interpreter.set_tensor(input_index, sample)  # each sample is a batch of one
        interpreter.invoke()
        for i in fitted:
            flat = np.asarray(interpreter.get_tensor(i), np.float32).ravel()
            values[i].append(flat if flat.size <= RANGE_VALUES else pick.choice(flat, RANGE_VALUES, replace=False))
    changed = 0
    for i, tensor in fitted.items():
        low, high = float(tensor.quantization.min[0]), float(tensor.quantization.max[0])
        factor = best_shrink(np.concatenate(values[i]), low, high)
        if factor < 1.0:
            changed += 1
            tensor.quantization.min = np.array([low * factor], np.float32)
            tensor.quantization.max = np.array([high * factor], np.float32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), changed, len(fitted)


def _deciding_tensors(ops, protected: set[int]) -> set[int]:  # noqa: ANN001 (delegates.Op tuple)
    """`protected` (the graph's inputs and outputs) plus the inputs of deciding ops, followed back
    through ops that only move values."""
    protected = set(protected)
    for op in ops:
        if op.custom or op.name in _DECIDING_OPS:
            protected.update(t for t in op.inputs if t >= 0)
    changed = True
    while changed:
        changed = False
        for op in ops:
            if op.name in _PASS_THROUGH_OPS and protected.intersection(op.outputs):
                new = {t for t in op.inputs if t >= 0} - protected
                if new:
                    protected |= new
                    changed = True
    return protected


def quantization_error(values: np.ndarray, low: float, high: float) -> float:
    """Mean squared error of int8 quantization over low..high (widened to hold 0, as TFLite does)."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        return float(np.mean(values.astype(np.float64) ** 2))
    scale = (high - low) / 255.0
    zero_point = np.round(-128 - low / scale)
    quantized = (np.clip(np.round(values / scale) + zero_point, -128, 127) - zero_point) * scale
    return float(np.mean((quantized - values) ** 2, dtype=np.float64))


def best_shrink(values: np.ndarray, low: float, high: float) -> float:
    """The factor in SHRINK_FACTORS whose range (low, high) * factor quantizes `values` with the
    least squared error; the widest wins ties."""
    errors = [quantization_error(values, low * f, high * f) for f in SHRINK_FACTORS]
    best = min(errors)
    return float(max(f for f, e in zip(SHRINK_FACTORS, errors) if e <= best))


def _noise_to_signal(float_value: np.ndarray, quantized: np.ndarray, scale: float, zero_point: int) -> float:
    dequantized = (quantized.astype(np.float64) - zero_point) * scale
    signal = float(np.mean(np.square(float_value, dtype=np.float64)))
    noise = float(np.mean((float_value - dequantized) ** 2))
    return noise / signal if signal > 0 else (0.0 if noise == 0 else float("inf"))


def _number(text: str) -> float:
    value = float(text) if text else 0.0
    return 0.0 if np.isnan(value) else value


def fewest_float_layers(count: int, fits: Callable[[int], bool]) -> int | None:
    """The smallest k in 0..count for which fits(k), assuming fits is (close to) monotone; None
    when even k = count misses. Tries 0, 1, 2, 4, ... then bisects; calls fits once per k."""
    seen: dict[int, bool] = {}

    def check(k: int) -> bool:
        if k not in seen:
            seen[k] = fits(k)
        return seen[k]

    if check(0):
        return 0
    if count == 0:
        return None
    low, high = 0, 1
    while not check(high):
        if high == count:
            return None
        low, high = high, min(2 * high, count)
    while high - low > 1:
        middle = (low + high) // 2
        if check(middle):
            high = middle
        else:
            low = middle
    return high


# ---------------------------------------------------------------- how much still runs in integer

def integer_mac_share(content: bytes) -> tuple[int, int]:
    """(multiply-accumulates in ops with integer inputs, all multiply-accumulates) per inference,
    as tflgen.delegates.macs counts them (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL)."""
    from tflgen.delegates import activation_input, macs, read_ops
    from tflgen.tflite_info import INTEGER_DTYPES

    ops, tensors = read_ops(content)
    integer = total = 0
    for op in ops:
        count = macs(op, tensors)
        total += count
        if count and tensors[activation_input(op)].dtype in INTEGER_DTYPES:
            integer += count
    return integer, total


@dataclass(frozen=True)
class KeptFloat:
    """What --keep-accuracy did: fitted ranges, which layers stay float, and what that costs against plain int8."""

    target: AccuracyTarget
    plain: Verification  # plain int8 (tflgen convert --quantize int8), with latency
    chosen: Verification | None  # None: even every ranked layer in float misses the target
    float_layers: tuple[LayerError, ...] = ()
    ranked_layers: int = 0
    trials: tuple[Trial, ...] = ()  # k = 0 is the fitted ranges with no layer in float
    integer_macs: tuple[int, int] = (0, 0)  # (in ops with integer inputs, all)
    fitted_ranges: tuple[int, int] | None = None  # (ranges shrunk, ranges considered); None: plain int8 met the target

    @property
    def integer_mac_share(self) -> float | None:
        return self.integer_macs[0] / self.integer_macs[1] if self.integer_macs[1] else None

    def to_json(self) -> dict:
        def figures(v: Verification) -> dict:
            return {"size_bytes": v.size_bytes, "agreement": v.agreement, "drop": v.drop,
                    "sqnr_db": v.quantization.to_json()["sqnr_db"] if v.quantization else None,
                    "latency_ms": {str(run.threads): run.median_ms for run in v.latency}}

        data = {
            "target": self.target.to_json(), "plain_int8": figures(self.plain), "reached": self.chosen is not None,
            "fitted_ranges": {"shrunk": self.fitted_ranges[0], "considered": self.fitted_ranges[1]} if self.fitted_ranges else None,
            "float_layers": [{"op": layer.op, "tensor": layer.tensor, "noise_to_signal": layer.noise_to_signal} for layer in self.float_layers],
            "ranked_layers": self.ranked_layers, "trials": [{"float_layers": t.float_layers, "drop": t.drop, "sqnr_db": t.sqnr_db} for t in self.trials],
            "integer_macs": self.integer_macs[0], "total_macs": self.integer_macs[1], "integer_mac_share": self.integer_mac_share,
        }
        if self.chosen is not None:
            data["chosen"] = figures(self.chosen)
            data["size_ratio_vs_plain_int8"] = self.chosen.size_bytes / self.plain.size_bytes
            data["latency_ratio_vs_plain_int8"] = {
                str(c.threads): c.median_ms / p.median_ms for c, p in zip(self.chosen.latency, self.plain.latency) if p.median_ms > 0
            }
        return data
