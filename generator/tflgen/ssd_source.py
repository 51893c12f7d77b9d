"""TFLite_Detection_PostProcess on a TensorFlow source: appended to a raw SSD before converting, or
kept from a TF1 export graph's own node.

Given the anchors, we wrap the source so that the converter emits the `TFLite_Detection_PostProcess`
custom op: every LiteRT runtime ships it, it runs in float whatever the model's quantization,
and the app then only reads boxes, classes, scores and a count.

The converter recognises the op from a `tf.function` with `experimental_implements` and
replaces its (placeholder) body. That function must survive until the converter sees it:
freezing with `convert_variables_to_constants_v2` inlines functions and loses the
annotation, so the wrapper is a plain concrete function, and its keepalive is a `tf.Module`
the converter can save as a SavedModel (its path that keeps composites).

This module imports TensorFlow only inside `wrap_with_postprocess`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from tflgen.console import Reporter, import_tensorflow
from tflgen.errors import OptionError, SourceError
from tflgen.recipes import DETECTION_POSTPROCESS_OP
from tflgen.sources import ExportedPostprocess, SourceKind, SourceModel, TensorSig
from tflgen.ssd import (
    ANCHORS_OPTION,
    DETECTIONS_PER_CLASS_OPTION,
    KERNEL_DETECTIONS_PER_CLASS,
    OUTPUT_NAMES,
    SsdParams,
    check_anchor_count,
    classes_for_labels,
    split_raw_outputs,
)


def with_postprocess(source: SourceModel, ssd_params: SsdParams | None, reporter: Reporter) -> SourceModel:
    """The source to convert: with TFLite_Detection_PostProcess appended for --ssd-anchors, or for a TF1
    export graph's own post-process node (TensorFlow runs the graph up to it; see sources.ExportedPostprocess)."""
    if source.exported_postprocess is not None:
        if ssd_params is not None:
            raise OptionError(
                f"{ANCHORS_OPTION} with {source.path}: the graph has its own {source.exported_postprocess.node} node",
                f"drop {ANCHORS_OPTION}: tflgen takes the anchors and settings from the node",
            )
        ssd_params = params_from_export(source.exported_postprocess, source.path)
        reporter.info(f"{source.path}: {source.exported_postprocess.node} kept from the graph "
                      f"({ssd_params.anchor_count} anchors, max {ssd_params.max_detections} detections)")
    return source if ssd_params is None else wrap_with_postprocess(source, ssd_params, reporter)


def resolve_raw_outputs(outputs: tuple[TensorSig, ...], anchor_count: int, label_count: int | None = None,
                        label_offset: int | None = None) -> tuple[int, int, int]:
    """(box encodings index, class scores index, num_classes) among a TF source's raw outputs (float32).

    The classes: `classes_for_labels` (background first unless the labels say otherwise).
    """
    boxes, scores = split_raw_outputs(
        outputs, ("float32",), ANCHORS_OPTION,
        f"give {ANCHORS_OPTION} only for a raw detector; a model that already decodes its boxes needs no anchors",
    )
    check_anchor_count(anchor_count, outputs[boxes].shape[1])
    return boxes, scores, classes_for_labels(outputs[scores].shape[2], label_count, label_offset)


def source_raw_outputs(source: SourceModel, params: SsdParams) -> tuple[int, int, int]:
    """(box encodings index, class scores index, num_classes) of a TF source's raw outputs. An export
    graph's post-process node names them itself (its first two inputs, in that order); other
    sources' are told apart by shape (`resolve_raw_outputs`)."""
    exported = source.exported_postprocess
    if exported is None:
        return resolve_raw_outputs(source.outputs, params.anchor_count, params.label_count, params.label_offset)
    check_anchor_count(params.anchor_count, source.outputs[0].shape[1])
    num_classes = source.outputs[1].shape[2] - 1
    if int(exported.attrs["num_classes"]) != num_classes:
        raise SourceError(
            f"{source.path}: the {DETECTION_POSTPROCESS_OP} node says num_classes {exported.attrs['num_classes']}, but its class scores "
            f"have {num_classes + 1} columns (background first)",
            "export the graph again: the node's num_classes must be the scores' columns minus the background",
        )
    return 0, 1, num_classes


def implements_signature(params: SsdParams, num_classes: int) -> str:
    """The `experimental_implements` text (a NameAttrList) the converter turns into the custom op.

    Floats are written with `repr`, which round-trips: `%f` would turn a 1e-8 threshold into 0.
    """
    attrs = [
        ("max_detections", "i", str(params.max_detections)),
        ("max_classes_per_detection", "i", "1"),
        ("detections_per_class", "i", str(params.detections_per_class)),
        ("use_regular_nms", "b", "true" if params.use_regular_nms else "false"),
        ("nms_score_threshold", "f", repr(float(params.score_threshold))),
        ("nms_iou_threshold", "f", repr(float(params.iou_threshold))),
        *((key, "f", repr(float(value))) for key, value in zip(("y_scale", "x_scale", "h_scale", "w_scale"), params.scales)),
        ("num_classes", "i", str(num_classes)),
    ]
    parts = [f'attr {{ key: "{key}" value {{ {kind}: {value} }} }}' for key, kind, value in attrs]
    return " ".join([f'name: "{DETECTION_POSTPROCESS_OP}"', *parts])


def params_from_export(exported: ExportedPostprocess, where: Path) -> SsdParams:
    """The op's settings as an export graph's own node gives them (see sources.ExportedPostprocess)."""
    attrs = exported.attrs
    context = f"{where}: the {DETECTION_POSTPROCESS_OP} node {exported.node!r}"
    if int(attrs["max_classes_per_detection"]) != 1:
        raise SourceError(
            f"{context} has max_classes_per_detection {attrs['max_classes_per_detection']}",
            "tflgen's reference and app read one class per box: export with max_classes_per_detection 1 (the exporter's default)",
        )
    regular = bool(attrs.get("use_regular_nms", False))
    per_class = int(attrs.get("detections_per_class", KERNEL_DETECTIONS_PER_CLASS))
    if regular and per_class != KERNEL_DETECTIONS_PER_CLASS:
        raise SourceError(
            f"{context} asks regular NMS with detections_per_class {per_class}, which the TFLite converter does not pass on",
            f"export with detections_per_class {KERNEL_DETECTIONS_PER_CLASS} (the kernel's value), or use_regular_nms false",
        )
    try:
        return SsdParams(
            anchors=exported.anchors, scales=tuple(float(attrs[k]) for k in ("y_scale", "x_scale", "h_scale", "w_scale")),
            max_detections=int(attrs["max_detections"]), score_threshold=float(attrs["nms_score_threshold"]),
            iou_threshold=float(attrs["nms_iou_threshold"]), use_regular_nms=regular,
        )  # detections_per_class: only regular NMS reads it, and then it is the kernel's
    except OptionError as exc:  # the checks name the CLI options; here the node said it
        raise SourceError(f"{context}: {exc.message}", "export the graph again with valid post-processing settings") from None


def wrap_with_postprocess(source: SourceModel, params: SsdParams, reporter: Reporter) -> SourceModel:
    """The source with TFLite_Detection_PostProcess appended to its raw outputs.

    The result converts with `TFLiteConverter.from_concrete_functions([function], keepalive)`
    like any source. Its own `predict` returns the placeholder zeros of the composite's body
    (only the converter replaces it): reference detections come from the raw source's
    outputs and `tflgen.reference.ssd_postprocess`.
    """
    if source.kind is SourceKind.TFLITE or source.function is None:
        raise OptionError(
            f"{ANCHORS_OPTION} with {source.path}: a .tflite can't be given post-processing",
            "pass the TensorFlow source (SavedModel, Keras, TF1 graph) the .tflite was converted from; "
            f"or let the app decode it: 'tflgen app MODEL.tflite {ANCHORS_OPTION} ...' decodes the boxes and runs NMS in Kotlin",
        )
    if source.has_detection_postprocess:
        raise OptionError(
            f"{ANCHORS_OPTION} with {source.path}: the model already ends in {DETECTION_POSTPROCESS_OP}",
            f"drop {ANCHORS_OPTION}: the model decodes its boxes itself",
        )
    if params.detections_per_class != KERNEL_DETECTIONS_PER_CLASS:
        # Measured: the converter writes every other attribute into the op's custom options but
        # not this one, so the kernel always runs with its default.
        raise OptionError(
            f"{DETECTIONS_PER_CLASS_OPTION} {params.detections_per_class}: the TFLite converter does not pass it to {DETECTION_POSTPROCESS_OP}",
            f"drop {DETECTIONS_PER_CLASS_OPTION}; the op always keeps up to {KERNEL_DETECTIONS_PER_CLASS} per class (regular NMS only)",
        )
    box_index, score_index, num_classes = source_raw_outputs(source, params)
    tf = import_tensorflow(reporter)
    with reporter.quiet_native():
        function, keepalive = _trace_wrapper(tf, source, params, box_index, score_index, num_classes)
    m = params.max_detections
    outputs = tuple(
        TensorSig(name, shape, "float32") for name, shape in zip(OUTPUT_NAMES, ((1, m, 4), (1, m), (1, m), (1,)))
    )
    return dataclasses.replace(
        source, loader=f"{source.loader} + {DETECTION_POSTPROCESS_OP}", outputs=outputs,
        has_detection_postprocess=True, function=function, keepalive=keepalive,
    )


def _trace_wrapper(tf: Any, source: SourceModel, params: SsdParams, box_index: int, score_index: int, num_classes: int) -> tuple[Any, Any]:
    """(concrete function image -> the op's 4 outputs, the tf.Module that keeps it converting)."""
    holder = _holder(tf, source.keepalive, params.anchors)
    postprocess = tf.function(_placeholder_body(tf, params.max_detections), experimental_implements=implements_signature(params, num_classes))
    raw_function = source.function

    def serve(image: Any) -> tuple[Any, Any, Any, Any]:
        raw = tf.nest.flatten(raw_function(image))  # flattened in the same order as source.outputs
        return postprocess(raw[box_index], raw[score_index], holder.anchors)

    spec = tf.TensorSpec(source.input.shape, tf.as_dtype(source.input.dtype), name=source.input.name)
    holder.serve = tf.function(serve)
    return holder.serve.get_concrete_function(spec), holder


def _holder(tf: Any, keepalive: Any, anchors: np.ndarray) -> Any:
    """A tf.Module tracking the source's own object (its variables) and the anchors.

    The converter saves this object with the wrapper as signature and converts that
    SavedModel, which keeps the composite; without a savable object it falls back to
    freezing, which loses it. Non-trackable keepalives (a TF1 WrappedFunction, whose graph is
    already frozen) are held without being tracked.
    """
    from tensorflow.python.trackable.data_structures import NoDependency

    holder = tf.Module(name="ssd_postprocess")
    if _is_trackable(keepalive):
        holder.source = keepalive
    else:
        holder.untracked_source = NoDependency(keepalive)
    holder.anchors = tf.constant(anchors, dtype=tf.float32, name="anchors")
    return holder


def _is_trackable(value: Any) -> bool:
    from tensorflow.python.eager.polymorphic_function.concrete_function import ConcreteFunction
    from tensorflow.python.trackable.base import Trackable

    return isinstance(value, Trackable) and not isinstance(value, ConcreteFunction)


def _placeholder_body(tf: Any, max_detections: int) -> Any:
    """The composite's body: right shapes and dtypes, never run in the .tflite (the op replaces it)."""

    def body(box_encodings: Any, class_scores: Any, anchors: Any) -> tuple[Any, Any, Any, Any]:  # noqa: ARG001 (the op's inputs)
        return (
            tf.zeros([1, max_detections, 4], tf.float32), tf.zeros([1, max_detections], tf.float32),
            tf.zeros([1, max_detections], tf.float32), tf.zeros([1], tf.float32),
        )

    return body
