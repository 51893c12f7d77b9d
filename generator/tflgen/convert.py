"""The one place that maps a quantization recipe to TFLiteConverter settings, and checks the result.

The converter silently keeps float IO, or float ops, when something can't be quantized. After
converting we read the real IO dtypes and the ops left in float back from the flatbuffer and
fail with their names instead of shipping a model that is not what was asked.

int8 with uint8 IO and a --mean/--std goes through the converter's two steps apart, calibration
then its quantizer (`mlir_quantize`, what `convert()` calls in between), so that the exact input
grid (`tflgen.input_grid`) can be set between them: the uint8 input is then the pixel itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tflgen.calibration import CalibrationSet
from tflgen.console import Reporter, import_tensorflow
from tflgen.errors import ConversionError
from tflgen.recipes import DETECTION_POSTPROCESS_OP, IoType, Recipe
from tflgen.reference import Normalization
from tflgen.sources import SourceKind, SourceModel
from tflgen.tflite_info import ModelInfo, read_model


@dataclass(frozen=True)
class ConversionRequest:
    recipe: Recipe
    io_type: IoType  # float32 unless recipe is int8
    integer_only: bool  # no float fallback allowed inside the converter (Edge TPU)
    select_tf_ops: bool
    allow_float_fallback: bool


@dataclass(frozen=True)
class LearnedRanges:
    """int8 from a quantization-aware graph: its FakeQuant nodes' ranges, no calibration; `input_range`
    (float min, max) is given a FakeQuant in front when the graph's input has none of its own."""

    input_range: tuple[float, float] | None
    ORIGIN = "ranges learned in training (quantization-aware)"


@dataclass(frozen=True)
class Conversion:
    content: bytes
    info: ModelInfo
    notes: tuple[str, ...]  # facts worth telling (e.g. SSD outputs stay float)


def convert(source: SourceModel, request: ConversionRequest, calibration: CalibrationSet | None, reporter: Reporter,
            learned: LearnedRanges | None = None, normalization: Normalization | None = None) -> Conversion:
    """The converted model; int8 with uint8 IO, calibration images and `normalization` (what they
    were normalized with) on the exact input grid where the model allows it."""
    grid_notes: tuple[str, ...] = ()
    if source.kind is SourceKind.TFLITE:
        content = source.path.read_bytes()
    elif request.recipe is Recipe.INT8 and request.io_type is IoType.UINT8 and calibration is not None and normalization is not None:
        content, grid_notes = _convert_on_pixel_grid(source, request, calibration, normalization, reporter)
    else:
        content = _run_converter(source, request, calibration, reporter, learned)
    info = read_model(content, "converted model")
    if source.has_detection_postprocess and DETECTION_POSTPROCESS_OP not in info.custom_ops:
        # The converter can drop the composite silently; the .tflite would return its placeholder zeros.
        raise ConversionError(
            f"the source's {DETECTION_POSTPROCESS_OP} function did not become the custom op; the .tflite would return zeros",
            "check the experimental_implements attributes of the post-processing function; rerun with --verbose for the converter's warnings",
        )
    return Conversion(content, info, grid_notes + check_result(info, request, learned_ranges=learned is not None))


def _convert_on_pixel_grid(source: SourceModel, request: ConversionRequest, calibration: CalibrationSet, normalization: Normalization,
                           reporter: Reporter) -> tuple[bytes, tuple[str, ...]]:
    """int8 by the converter's own calibration and quantizer, the exact input grid set in between
    where the model allows it; the model and what to tell of the grid."""
    from tensorflow.lite.python.convert import mlir_quantize  # what TFLiteConverter.convert() calls after calibrating

    from tflgen.input_grid import exact_grid, mark_pixel_input

    calibrated = calibrated_model(source, request, calibration, reporter)
    gridded, what = exact_grid(calibrated, normalization)
    input_type, output_type = io_dtypes(source, request, import_tensorflow(reporter))
    try:
        with reporter.quiet_native():
            content = mlir_quantize(gridded or calibrated, input_data_type=input_type, output_data_type=output_type)
    except Exception as exc:  # the quantizer raises RuntimeError, ValueError...
        raise explain_converter_error(f"{exc}\n{reporter.native_log}", request.select_tf_ops) from exc
    if gridded is None:
        return content, (f"the uint8 input is not on the pixel grid ({what}): pixels may fall up to half a step between its codes",)
    return mark_pixel_input(content, normalization), (f"exact input grid: {what}; the app feeds raw pixels",)


def calibrated_model(source: SourceModel, request: ConversionRequest, calibration: CalibrationSet, reporter: Reporter) -> bytes:
    """The float model as TensorFlow's converter makes it for int8, each activation's min/max over
    the calibration images recorded in its quantization field (what its quantizer would use)."""
    tf = import_tensorflow(reporter)
    converter = make_converter(source, request, calibration, reporter)
    converter.inference_input_type = converter.inference_output_type = tf.float32  # calibration feeds float
    converter._experimental_calibrate_only = True  # noqa: SLF001 (as the quantization debugger does)
    return _run(converter, request, calibration, reporter)


def _run_converter(source: SourceModel, request: ConversionRequest, calibration: CalibrationSet | None, reporter: Reporter,
                   learned: LearnedRanges | None = None) -> bytes:
    converter = make_converter(source, request, calibration, reporter, learned)
    return _run(converter, request, calibration if request.recipe is Recipe.INT8 else None, reporter)


def _run(converter, request: ConversionRequest, calibration: CalibrationSet | None, reporter: Reporter) -> bytes:  # noqa: ANN001
    """converter.convert(), fed the calibration images (with progress) when there are any."""
    try:
        with reporter.quiet_native():
            if calibration is None:
                return converter.convert()
            with reporter.progress("Calibrating", len(calibration.samples)) as advance:

                def representative_dataset():  # noqa: ANN202
                    for sample in calibration.samples:
                        yield [sample]
                        advance(1)

                converter.representative_dataset = representative_dataset
                return converter.convert()
    except Exception as exc:  # the converter raises ConverterError, RuntimeError, ValueError...
        # Explained after quiet_native has closed, so that its captured log is complete.
        raise explain_converter_error(f"{exc}\n{reporter.native_log}", request.select_tf_ops) from exc


def io_dtypes(source: SourceModel, request: ConversionRequest, tf):  # noqa: ANN001, ANN201 (tf.DType pair)
    """The int8 model's input and output dtypes. The detection op emits float boxes/classes/scores/count;
    quantizing them after the op would only lose precision (a uint8 count, boxes in steps of 1/190)."""
    dtypes = {IoType.FLOAT32: tf.float32, IoType.INT8: tf.int8, IoType.UINT8: tf.uint8}
    return dtypes[request.io_type], tf.float32 if source.has_detection_postprocess else dtypes[request.io_type]


def make_converter(source: SourceModel, request: ConversionRequest, calibration: CalibrationSet | None, reporter: Reporter,  # noqa: ANN201
                   learned: LearnedRanges | None = None):
    """A TFLiteConverter set up for the recipe (the caller sets the representative dataset)."""
    tf = import_tensorflow(reporter)
    function = source.function
    if learned is not None and learned.input_range is not None:
        function = _with_input_range(tf, source, learned.input_range)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], source.keepalive)
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8 if request.integer_only else tf.lite.OpsSet.TFLITE_BUILTINS]
    if request.select_tf_ops:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops
    if request.recipe is Recipe.FLOAT16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif request.recipe is Recipe.DYNAMIC:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif request.recipe is Recipe.INT8:
        if calibration is None and learned is None:
            raise ConversionError("int8 needs calibration data", "pass --calibration DIR")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.inference_input_type, converter.inference_output_type = io_dtypes(source, request, tf)
    return converter


def _with_input_range(tf, source: SourceModel, input_range: tuple[float, float]):  # noqa: ANN001, ANN202
    """The source with a FakeQuant of `input_range` on its input: the range its int8 input gets."""
    inner = source.function
    low, high = input_range

    def quantized_input(image):  # noqa: ANN001, ANN202
        return inner(tf.quantization.fake_quant_with_min_max_args(image, min=low, max=high, num_bits=8))

    spec = tf.TensorSpec(source.input.shape, tf.as_dtype(source.input.dtype), name=source.input.name)
    return tf.function(quantized_input).get_concrete_function(spec)


_UNSUPPORTED_OP = re.compile(r"'(?:tf|tfl)\.(\w+)' op is neither a custom op nor a flex op")
_NOT_QUANTIZABLE = re.compile(r"[Qq]uantization not yet supported for op: '?(\w+)'?")
_LEGALIZE = re.compile(r"failed to legalize operation '(?:tf|tfl)\.(\w+)'")


def explain_converter_error(text: str, select_tf_ops: bool) -> ConversionError:
    """Known converter failures in plain language; anything else with its first real line."""
    if "lacking min/max data" in text or "min/max" in text and "missing" in text:
        return ConversionError(
            "the converter lacks min/max ranges for some tensors (calibration never reached them)",
            "calibrate with images that exercise the whole model (--calibration DIR), or convert a quantization-aware-trained model",
        )
    ops = sorted(set(_NOT_QUANTIZABLE.findall(text)))
    if ops:
        return ConversionError(
            f"op(s) {', '.join(ops)} have no integer kernel, so the model can't be integer-only",
            "replace those ops in the model, or drop --target edgetpu and pass --allow-float-fallback to keep them in float",
        )
    ops = sorted(set(_UNSUPPORTED_OP.findall(text)) | set(_LEGALIZE.findall(text)))
    if ops and select_tf_ops:
        return ConversionError(
            f"TensorFlow op(s) {', '.join(ops)} have no TFLite builtin and are not available as Flex ops either",
            "replace them in the model with ops TFLite supports",
        )
    if ops:
        return ConversionError(
            f"TensorFlow op(s) {', '.join(ops)} have no TFLite builtin",
            "pass --select-tf-ops to keep them as Flex ops (the app then needs the Flex delegate), or replace them in the model",
        )
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(("W0000", "I0000", "WARNING"))]
    first = next((line for line in lines if "error" in line.lower()), lines[0] if lines else "unknown error")
    return ConversionError(f"the TFLite converter failed: {first[:300]}", "rerun with --verbose to see the converter's log")


def check_result(info: ModelInfo, request: ConversionRequest, kept_float_by: str = "--allow-float-fallback",
                 learned_ranges: bool = False) -> tuple[str, ...]:
    """Compare the real IO dtypes and float ops with the request; return notes worth telling.
    `kept_float_by`: the option that accepts float ops (the note names it)."""
    notes = []
    expected = request.io_type.value if request.recipe is Recipe.INT8 else None
    detection = DETECTION_POSTPROCESS_OP in info.custom_ops
    wrong = []
    for tensor in info.inputs:
        if expected and tensor.dtype != expected:
            wrong.append(f"input {tensor.name!r} is {tensor.dtype}")
    for tensor in info.outputs:
        # The detection op's outputs are float by design (boxes in 0..1, classes, scores, count).
        want = "float32" if detection else expected
        if want and tensor.dtype != want:
            wrong.append(f"output {tensor.name!r} is {tensor.dtype}, expected {want}")
    if detection:
        notes.append(f"{DETECTION_POSTPROCESS_OP} is a custom op that every LiteRT runtime ships")
        if expected and expected != "float32":
            dtypes = ", ".join(sorted({t.dtype for t in info.outputs}))
            notes.append(f"input {expected}; the detection outputs are {dtypes} by design, which is correct")
    unknown_custom = [op for op in info.custom_ops if op != DETECTION_POSTPROCESS_OP and not op.startswith("Flex")]
    if unknown_custom:
        notes.append(f"custom op(s) {', '.join(unknown_custom)} need their own kernel registered in the app")
    if any(op.startswith("Flex") for op, _ in info.op_counts):
        notes.append("the model uses Flex (select TF) ops: the app needs the Flex delegate (tensorflow-lite-select-tf-ops), which adds megabytes")
    float_ops = [f"{op}×{n}" for op, n in info.float_ops] if request.recipe is Recipe.INT8 else []
    if (wrong or float_ops) and not request.allow_float_fallback and learned_ranges:
        unranged = ", ".join(info.float_tensors[:8]) or ", ".join(float_ops + wrong)
        raise ConversionError(
            f"the quantization-aware graph has no learned range (no FakeQuant) for: {unranged}",
            "pass --calibration DIR to calibrate what training left unranged, or --allow-float-fallback to keep it in float",
        )
    if (wrong or float_ops) and not request.allow_float_fallback:
        parts = wrong + ([f"ops left in float: {', '.join(float_ops)}"] if float_ops else [])
        hint = (
            "those ops have no integer kernel; replace them in the model, or pass --allow-float-fallback "
            + ("(the Edge TPU then hands everything from the first float op on to the CPU)" if request.integer_only else "to accept float there (slower)")
        )
        raise ConversionError(f"asked for int8 with {request.io_type.value} IO, but the converter kept float: {'; '.join(parts)}", hint)
    if float_ops or wrong:
        notes.append(f"kept in float ({kept_float_by}): {', '.join(float_ops + wrong)}")
    return tuple(notes)
