"""`--quantize int8 --keep-accuracy X`: int8 that keeps accuracy, with as little left int8 as needed.

X is the accepted verified drop (1 - agreement, like --max-drop) or an output SQNR floor ("30dB").
Plain int8 (TensorFlow's converter, min/max calibration) is tried first; if it misses X, these
levers, each verified like `tflgen verify`, in this order (an SQNR floor must hold on the pooled
images and on each half apart):

Plain int8 with uint8 IO is already on the exact input grid where the model allows it (the input
code is the pixel itself, the normalization's half step folded into the first layers' biases:
`tflgen.input_grid`, `tflgen.convert`); every lever builds on it.
1. Activation ranges are fitted. The converter quantizes each activation over the full min..max it
   saw in calibration, so a few outliers stretch the step for every other value. Here each range
   is shrunk to the one with the least squared quantization error over the calibration images'
   values (the MSE-optimal clipping of Choukroun et al. 2019, "Low-bit Quantization of Neural
   Networks for Efficient Inference", ICCV workshops; what PyTorch's histogram observer aims at).
   Ranges that decide the outputs (model outputs, and what feeds SOFTMAX, LOGISTIC or a custom op
   such as the SSD post-process, through reshapes and concatenations) keep their min..max, because
   there the rare large values are the answers. TensorFlow's quantizer makes this model (`mlir_quantize`).
2. int16 activations ("w8a16": int8 weights, LiteRT's 16x8 kernels) for the k worst activations,
   made by Google's AI Edge Quantizer (`tflgen.mixed_precision`) from the same fitted ranges.
   Activations are ranked by TensorFlow's quantization debugger, which runs each quantized op
   beside its float twin on the same (quantized) input: an activation's error is its
   noise-to-signal ratio there, mean((float - dequantized)^2) / mean(float^2). An int16 activation
   helps only if the ops reading it compute in int16 too (an int8 reader rounds it back to int8),
   so the op making it and every op reading it get int16 activations. k = 1, 2, 4, ... up to every
   activation, then a binary search for the smallest k that meets X. Every multiply-accumulate
   stays integer; the 16x8 kernels run outside XNNPACK (slower: the report gives each trial's latency).
3. If every activation in int16 still misses X, the worst layers with weights (by the same
   debugger) also compute in float, between int16 activations: j = 1, 2, 4, ... then bisected.
A layer kept in float between int8 neighbours (what this module did before int16) removes only its
own weight and arithmetic error, not the rounding of the int8 activations around it; on a network
whose error is spread thin (mini-Xception, MobileNetV2) that bought little, and the AI Edge
Quantizer's float layers between int8 ones measured worse than plain int8. So float comes last,
and only between int16 activations.
Bias correction and channel equalization (Nagel et al. 2019) were measured under TensorFlow's
per-channel int8 weights and left out: within +0.4 dB of plain int8's logits at best, and
equalization cost the mini-Xception 2.6 dB (benchmarks/weight_correction.py). Paring the k int16
activations down to fewer int16 MACs (each put back in int8 while X held) was tried and left out
too: on the mini-Xception it kept 9 of 13 (55 % of MACs int8 instead of 9 %) but stopped at the
edge of X on the search images, 29.0 dB on unseen ones against 30.9 dB, for 8.1 ms against 8.8 ms.
"""

from __future__ import annotations

import csv
import enum
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tflgen.calibration import CalibrationSet
from tflgen.console import Reporter, import_tensorflow
from tflgen.convert import ConversionRequest, calibrated_model, io_dtypes
from tflgen.delegates import MAC_OPS
from tflgen.errors import ConversionError, OptionError
from tflgen.recipes import IoType
from tflgen.reference import Normalization
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
        check = verification.quantization
        sqnr = check.sqnr if check else None
        if sqnr is None:
            raise OptionError(
                f"--keep-accuracy {self}: this model's output has no SQNR (it emits class indices, not scores)",
                "give the accepted drop instead, e.g. --keep-accuracy 0.01",
            )
        # Met on the pooled images and on each half apart: a softmax's SQNR rests on a set's few near
        # ties, so a model that meets the target on one set of images alone may miss it on the next.
        return sqnr.db >= self.min_sqnr_db and all(half.db >= self.min_sqnr_db for half in check.halves or ())

    def __str__(self) -> str:
        return f"{self.min_sqnr_db:g}dB" if self.min_sqnr_db is not None else f"{self.max_drop:g}"

    def to_json(self) -> dict:
        return {"max_drop": self.max_drop, "min_sqnr_db": self.min_sqnr_db}


@dataclass(frozen=True)
class LayerError:
    op: str  # e.g. CONV_2D
    tensor: str  # the op's output tensor, what `denylisted_nodes` names
    noise_to_signal: float  # mean over the debug samples


class Lever(str, enum.Enum):
    """What a --keep-accuracy trial changed, in the order the search pulls them."""

    RANGES = "fitted ranges"  # int8 with fitted activation ranges (on the exact input grid, as plain int8, where it applies)
    INT16 = "int16"  # + the k worst activations (and their ops) in int16
    FLOAT = "float"  # every activation in int16 + the j worst layers with weights in float


@dataclass(frozen=True)
class Trial:
    lever: Lever
    count: int  # int16 activations (INT16) or float layers (FLOAT); 0 for RANGES
    drop: float
    sqnr_db: float | str | None  # as in the report: "inf" for identical outputs, None: not applicable
    size_bytes: int
    macs: MacShares
    latency_ms: float | None  # median at 1 thread

    def to_json(self) -> dict:
        return {"lever": self.lever.value, "count": self.count, "drop": self.drop, "sqnr_db": self.sqnr_db, "size_bytes": self.size_bytes,
                **self.macs.to_json(), "latency_ms": self.latency_ms}


class LayerRanking:
    """The calibrated model with fitted activation ranges, and its layers ranked by quantization
    error, worst first."""

    def __init__(self, source: SourceModel, request: ConversionRequest, calibration: CalibrationSet, reporter: Reporter,
                 normalization: Normalization | None = None) -> None:
        from tensorflow.lite.python.convert import mlir_quantize  # what the converter and the debugger call

        from tflgen.input_grid import exact_grid, shifted_samples

        tf = import_tensorflow(reporter)
        self.source, self.request, self.reporter = source, request, reporter
        samples = calibration.samples
        self.normalization = normalization
        self.grid: str | None = None  # what the exact input grid did
        self.grid_missing = "not uint8 IO" if request.io_type is not IoType.UINT8 else "no --mean/--std" if normalization is None else None

        def dataset():  # noqa: ANN202
            return ([sample] for sample in debug_samples)

        debugging = tf.lite.experimental
        try:
            calibrated = calibrated_model(source, request, calibration, reporter)
            if self.grid_missing is None:
                gridded, what = exact_grid(calibrated, normalization)
                if gridded is None:
                    self.grid_missing = what
                else:
                    calibrated, self.grid, samples = gridded, what, shifted_samples(samples, normalization)
            self.unfitted_model = calibrated
            debug_samples = _spread(samples, DEBUG_SAMPLES)
            with reporter.quiet_native():
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
        # removes (float is the last lever, between int16 activations, where only that error is left).
        # An op that makes a model output counts with them (with float IO, its output then isn't rounded).
        outputs = _output_names(calibrated)
        self.layers = tuple(sorted((r for r in rows if r.op in MAC_OPS or r.tensor in outputs), key=lambda layer: -layer.noise_to_signal))
        # Activations for int16: every quantized op's output, worst first.
        self.activations = tuple(sorted(rows, key=lambda layer: -layer.noise_to_signal))
        self.graph = op_graph(self.calibrated_model)
        self._mixed: tuple[bytes, dict, dict] | None = None  # the float model, fitted ranges, min..max ranges

    def quantize_int8(self) -> bytes:
        """The int8 model from the fitted ranges (TensorFlow's quantizer), on the exact input grid
        where it applies."""
        from tensorflow.lite.python.convert import mlir_quantize

        tf = import_tensorflow(self.reporter)
        input_type, output_type = io_dtypes(self.source, self.request, tf)
        with self.reporter.quiet_native():
            return self._marked(mlir_quantize(self.calibrated_model, input_data_type=input_type, output_data_type=output_type))

    def _marked(self, content: bytes) -> bytes:
        """On the exact grid, the model records the normalization it folded in (it takes raw pixels)."""
        from tflgen.input_grid import mark_pixel_input

        return mark_pixel_input(content, self.normalization) if self.grid else content

    def int16_ops(self, count: int) -> set[str]:
        """Output names of the ops that compute in int16 when the `count` worst activations are int16:
        each activation's producer and its readers, where LiteRT has 16x8 kernels."""
        from tflgen.mixed_precision import supports_int16

        chosen: set[str] = set()
        for layer in self.activations[:count]:
            for op in self.graph.producers_and_readers(layer.tensor):
                if not op.custom and supports_int16(op.name):
                    chosen.add(op.scope)
        return chosen

    def quantize_mixed(self, int16: int, floats: int = 0) -> bytes:
        """int8 from the fitted ranges with the `int16` worst activations in int16 and the `floats`
        worst layers with weights in float (the AI Edge Quantizer)."""
        from tflgen.mixed_precision import Precision, quantize, split_statistics

        tf = import_tensorflow(self.reporter)
        if self._mixed is None:
            self._mixed = (*split_statistics(self.calibrated_model), split_statistics(self.unfitted_model)[1])
        float_model, fitted, min_max = self._mixed
        graph = self.graph
        precision = {scope: Precision.INT16 for scope in self.int16_ops(int16)}
        # The fitted ranges trade clipping for a finer int8 step; 16 bits have steps to spare, so an
        # int16 activation keeps its whole min..max (clipping would be its largest error).
        ranges = dict(fitted)
        for op in graph.ops:
            if op.scope in precision:
                ranges.update({name: min_max[name] for name in op.outputs if name in min_max})
        for layer in self.layers[:floats]:
            precision[graph.scope_of(layer.tensor)] = Precision.FLOAT
        input_type, output_type = io_dtypes(self.source, self.request, tf)
        try:
            with self.reporter.quiet_native():
                return self._marked(quantize(float_model, ranges, precision, input_type.as_numpy_dtype, output_type.as_numpy_dtype))
        except (ValueError, RuntimeError, KeyError) as exc:
            raise ConversionError(
                f"the AI Edge Quantizer failed on this model: {str(exc).strip().splitlines()[0][:300]}",
                "drop --keep-accuracy (plain int8 works without it), or rerun with --debug and report the model",
            ) from exc


@dataclass(frozen=True)
class GraphOp:
    name: str
    custom: bool
    scope: str  # the op's output names, ';'-joined: what a quantizer recipe's regex matches
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class OpGraph:
    ops: tuple[GraphOp, ...]
    inputs: tuple[str, ...]  # the graph's input tensors

    def producers_and_readers(self, tensor: str) -> list[GraphOp]:
        return [op for op in self.ops if tensor in op.outputs or tensor in op.inputs]

    def scope_of(self, tensor: str) -> str:
        return next(op.scope for op in self.ops if tensor in op.outputs)


def op_graph(content: bytes) -> OpGraph:
    from ai_edge_litert import schema_py_generated as schema

    from tflgen.delegates import read_ops

    graph = schema.ModelT.InitFromPackedBuf(content, 0).subgraphs[0]
    names = [t.name.decode() if isinstance(t.name, bytes) else t.name for t in graph.tensors]
    ops, tensors = read_ops(content)
    return OpGraph(tuple(
        GraphOp(op.name, op.custom, ";".join(names[i] for i in op.outputs),
                tuple(names[i] for i in op.inputs if i >= 0 and not tensors[i].constant), tuple(names[i] for i in op.outputs))
        for op in ops), tuple(names[i] for i in graph.inputs))


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
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    from tflgen.delegates import read_ops
    from tflgen.mixed_precision import pack

    model = schema.ModelT.InitFromPackedBuf(calibrated, 0)
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
    return pack(model), changed, len(fitted)


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


def fewest(count: int, fits: Callable[[int], bool], start: int = 0) -> int | None:
    """The smallest k in start..count for which fits(k), assuming fits is (close to) monotone; None
    when even k = count misses. Tries start, then 1, 2, 4, ... then bisects; calls fits once per k."""
    seen: dict[int, bool] = {}

    def check(k: int) -> bool:
        if k not in seen:
            seen[k] = fits(k)
        return seen[k]

    if check(start):
        return start
    if count <= start:
        return None
    low, high = start, max(start * 2, 1)
    while not check(min(high, count)):
        if high >= count:
            return None
        low, high = high, 2 * high
    high = min(high, count)
    while high - low > 1:
        middle = (low + high) // 2
        if check(middle):
            high = middle
        else:
            low = middle
    return high


# ---------------------------------------------------------------- how much still runs in integer

@dataclass(frozen=True)
class MacShares:
    """Multiply-accumulates per inference, as tflgen.delegates.macs counts them (CONV_2D,
    DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL), by the activation type of their op."""

    integer: int  # int8 or int16 activations
    int8: int
    total: int

    @property
    def integer_share(self) -> float | None:
        return self.integer / self.total if self.total else None

    @property
    def int8_share(self) -> float | None:
        return self.int8 / self.total if self.total else None

    def to_json(self) -> dict:
        return {"integer_macs": self.integer, "int8_macs": self.int8, "total_macs": self.total,
                "integer_mac_share": self.integer_share, "int8_mac_share": self.int8_share}


def mac_shares(content: bytes) -> MacShares:
    from tflgen.delegates import activation_input, macs, read_ops
    from tflgen.tflite_info import INTEGER_DTYPES

    ops, tensors = read_ops(content)
    integer = int8 = total = 0
    for op in ops:
        count = macs(op, tensors)
        total += count
        if count and tensors[activation_input(op)].dtype in INTEGER_DTYPES:
            integer += count
            int8 += count if tensors[activation_input(op)].dtype in ("int8", "uint8") else 0
    return MacShares(integer, int8, total)


@dataclass(frozen=True)
class KeptAccuracy:
    """What --keep-accuracy did: which lever met the target (fitted ranges, int16 activations,
    float layers), every trial, and what the chosen model costs against plain int8."""

    target: AccuracyTarget
    plain: Verification  # plain int8 (tflgen convert --quantize int8), with latency
    chosen: Verification | None  # None: every lever ran out
    lever: Lever | None = None  # what met the target; None: plain int8 did, or nothing did
    int16_activations: tuple[LayerError, ...] = ()
    float_layers: tuple[LayerError, ...] = ()
    ranked: tuple[int, int] = (0, 0)  # (activations, layers with weights) the debugger ranked
    trials: tuple[Trial, ...] = ()
    macs: MacShares = MacShares(0, 0, 0)
    fitted_ranges: tuple[int, int] | None = None  # (ranges shrunk, ranges considered); None: plain int8 met the target
    input_grid: tuple[bool, str] | None = None  # (applied, what it did or why not); None: plain int8 met the target

    @property
    def exhausted(self) -> str | None:
        """Which lever ran out, when none met the target."""
        if self.chosen is not None:
            return None
        return (f"every activation in int16 and all {self.ranked[1]} ranked layers with weights in float" if self.ranked[1]
                else "every activation in int16 (no layer with weights to keep in float)")

    def to_json(self) -> dict:
        def figures(v: Verification) -> dict:
            return {"size_bytes": v.size_bytes, "agreement": v.agreement, "drop": v.drop,
                    "sqnr_db": v.quantization.to_json()["sqnr_db"] if v.quantization else None,
                    "latency_ms": {str(run.threads): run.median_ms for run in v.latency}}

        def layers(found: tuple[LayerError, ...]) -> list[dict]:
            return [{"op": layer.op, "tensor": layer.tensor, "noise_to_signal": layer.noise_to_signal} for layer in found]

        data = {
            "target": self.target.to_json(), "plain_int8": figures(self.plain), "reached": self.chosen is not None,
            "lever": self.lever.value if self.lever else None, "exhausted": self.exhausted,
            "fitted_ranges": {"shrunk": self.fitted_ranges[0], "considered": self.fitted_ranges[1]} if self.fitted_ranges else None,
            "input_grid": {"applied": self.input_grid[0], "detail": self.input_grid[1]} if self.input_grid else None,
            "int16_activations": layers(self.int16_activations), "float_layers": layers(self.float_layers),
            "ranked_activations": self.ranked[0], "ranked_layers": self.ranked[1], "trials": [t.to_json() for t in self.trials],
            **self.macs.to_json(),
        }
        if self.chosen is not None:
            data["chosen"] = figures(self.chosen)
            data["size_ratio_vs_plain_int8"] = self.chosen.size_bytes / self.plain.size_bytes
            data["latency_ratio_vs_plain_int8"] = {
                str(c.threads): c.median_ms / p.median_ms for c, p in zip(self.chosen.latency, self.plain.latency) if p.median_ms > 0
            }
        return data
