"""`--quantize int8 --keep-accuracy X`: int8, with the fewest harmful layers kept in float.

1. TensorFlow's quantization debugger (`tf.lite.experimental.QuantizationDebugger`) calibrates once
   and runs each quantized op beside its float twin on the same (quantized) input; a layer's error
   is its noise-to-signal ratio there, mean((float - dequantized)^2) / mean(float^2). Layers are
   ranked worst first. (The debugger's own rmse/scale misses the worst case: a layer whose range
   is blown up by outliers rounds everything else to zero with an error of a normal number of
   quantization steps.)
2. The model is quantized again from the same calibration with the top k layers denylisted
   (`denylisted_nodes`, the debugger's option, which keeps them in float between DEQUANTIZE and
   QUANTIZE ops), and verified against the source like `tflgen verify` does. k grows 1, 2, 4, ...
   until the drop is within X, then a binary search finds the smallest such k (the drop is close
   to monotone in k; the search assumes it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tflgen.calibration import CalibrationSet
from tflgen.console import Reporter, import_tensorflow
from tflgen.convert import ConversionRequest, io_dtypes, make_converter
from tflgen.errors import ConversionError
from tflgen.sources import SourceModel
from tflgen.verify import Verification

DEBUG_SAMPLES = 32  # calibration samples the debugger runs layer by layer (it keeps every tensor)


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
    """The calibrated model and its layers ranked by quantization error, worst first."""

    def __init__(self, source: SourceModel, request: ConversionRequest, calibration: CalibrationSet, reporter: Reporter) -> None:
        tf = import_tensorflow(reporter)
        self.source, self.request, self.reporter = source, request, reporter
        converter = make_converter(source, request, calibration, reporter)
        converter.inference_input_type = converter.inference_output_type = tf.float32  # the debugger feeds float
        samples = calibration.samples
        converter.representative_dataset = lambda: ([sample] for sample in samples)
        debug_samples = samples[np.linspace(0, len(samples) - 1, min(DEBUG_SAMPLES, len(samples))).astype(int)]

        def dataset():  # noqa: ANN202
            return ([sample] for sample in debug_samples)

        debugging = tf.lite.experimental
        try:
            with reporter.quiet_native():
                calibrated = debugging.QuantizationDebugger(converter=converter, debug_dataset=dataset)
                # A second debugger on the instrumented model keeps every tensor, so each layer's
                # float output can be compared with its own dequantized output.
                layers = debugging.QuantizationDebugger(
                    quant_debug_model_content=calibrated.quant_model, debug_dataset=dataset,
                    debug_options=debugging.QuantizationDebugOptions(layer_direct_compare_metrics={"noise_to_signal": _noise_to_signal}),
                )
                layers.run()
                table = io.StringIO()
                layers.layer_statistics_dump(table)
        except Exception as exc:  # the debugger raises ValueError, RuntimeError...
            raise ConversionError(
                f"TensorFlow's quantization debugger failed on this model: {str(exc).strip().splitlines()[0][:300]}",
                "drop --keep-accuracy (plain int8 works without it), or rerun with --verbose for TensorFlow's log",
            ) from exc
        self.calibrated_model: bytes = calibrated.calibrated_model
        table.seek(0)
        rows = [LayerError(row["op_name"], row["tensor_name"], _number(row["noise_to_signal"])) for row in csv.DictReader(table)]
        self.layers = tuple(sorted(rows, key=lambda layer: -layer.noise_to_signal))

    def quantize(self, float_layers: int) -> bytes:
        """The int8 model with the `float_layers` worst layers kept in float (0: plain int8 from this calibration)."""
        from tensorflow.lite.python.convert import mlir_quantize  # what the converter and the debugger call

        tf = import_tensorflow(self.reporter)
        input_type, output_type = io_dtypes(self.source, self.request, tf)
        with self.reporter.quiet_native():
            return mlir_quantize(
                self.calibrated_model, input_data_type=input_type, output_data_type=output_type,
                denylisted_nodes=[layer.tensor for layer in self.layers[:float_layers]],
            )


def _noise_to_signal(float_value: np.ndarray, quantized: np.ndarray, scale: float, zero_point: int) -> float:
    dequantized = (quantized.astype(np.float64) - zero_point) * scale
    signal = float(np.mean(np.square(float_value, dtype=np.float64)))
    noise = float(np.mean((float_value - dequantized) ** 2))
    return noise / signal if signal > 0 else (0.0 if noise == 0 else float("inf"))


def _number(text: str) -> float:
    value = float(text) if text else 0.0
    return 0.0 if np.isnan(value) else value


def fewest_float_layers(count: int, trial_of: Callable[[int], Trial], max_drop: float) -> tuple[int | None, tuple[Trial, ...]]:
    """The smallest k in 1..count whose trial drops at most max_drop (k = 0 is known to miss), and every
    trial made; None when even all `count` layers in float miss. Tries 1, 2, 4, ... then bisects."""
    trials: dict[int, Trial] = {}

    def fits(k: int) -> bool:
        if k not in trials:
            trials[k] = trial_of(k)
        return trials[k].drop <= max_drop + 1e-12

    if count == 0:
        return None, ()
    low, high = 0, 1
    while not fits(high):
        if high == count:
            return None, tuple(trials.values())
        low, high = high, min(2 * high, count)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle
    return high, tuple(trials.values())


# ---------------------------------------------------------------- how much still runs in integer

_INTEGER = ("int8", "uint8", "int16")


def integer_mac_share(content: bytes) -> tuple[int, int]:
    """(multiply-accumulates in ops with integer inputs, all multiply-accumulates) per inference,
    as tflgen.delegates.macs counts them (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL)."""
    from tflgen.delegates import activation_input, macs, read_ops

    ops, tensors = read_ops(content)
    integer = total = 0
    for op in ops:
        count = macs(op, tensors)
        total += count
        if count and tensors[activation_input(op)].dtype in _INTEGER:
            integer += count
    return integer, total


@dataclass(frozen=True)
class KeptFloat:
    """What --keep-accuracy did: which layers stay float, and what that costs against plain int8."""

    max_drop: float
    plain: Verification  # plain int8 (tflgen convert --quantize int8), with latency
    chosen: Verification | None  # None: even every ranked layer in float misses the budget
    float_layers: tuple[LayerError, ...] = ()
    ranked_layers: int = 0
    trials: tuple[Trial, ...] = ()
    integer_macs: tuple[int, int] = (0, 0)  # (in ops with integer inputs, all)

    @property
    def integer_mac_share(self) -> float | None:
        return self.integer_macs[0] / self.integer_macs[1] if self.integer_macs[1] else None

    def to_json(self) -> dict:
        def figures(v: Verification) -> dict:
            return {"size_bytes": v.size_bytes, "agreement": v.agreement, "drop": v.drop,
                    "sqnr_db": v.quantization.to_json()["sqnr_db"] if v.quantization else None,
                    "latency_ms": {str(l.threads): l.median_ms for l in v.latency}}

        data = {
            "max_drop": self.max_drop, "plain_int8": figures(self.plain), "reached": self.chosen is not None,
            "float_layers": [{"op": l.op, "tensor": l.tensor, "noise_to_signal": l.noise_to_signal} for l in self.float_layers],
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
