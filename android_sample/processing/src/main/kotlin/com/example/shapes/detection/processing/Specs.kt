package com.example.shapes.detection.processing

/** The element types the interpreter's tensors can have here, with their size in bytes. */
enum class TensorType(val bytes: Int) { FLOAT32(4), UINT8(1), INT8(1), INT32(4), INT64(8) }

enum class Task { CLASSIFICATION, DETECTION, SEGMENTATION }

/** The model's channel order; GRAY is one luminance channel. */
enum class ColorOrder { RGB, BGR, GRAY }

/** How the camera image is fitted into the model's input (see [Placement]). */
enum class ResizeMode { STRETCH, LETTERBOX, CENTER_CROP }

/** What an output tensor means: found by tflgen from shapes and ops, never from output order. */
enum class Role { LOGITS, PROBABILITIES, BOXES, CLASSES, SCORES, COUNT, MASK, LABEL_MAP, BOX_ENCODINGS, CLASS_SCORES }

/** `x = (pixel - mean[c]) / std[c]` for model channel c. */
class Normalization(val mean: FloatArray, val std: FloatArray)

class InputSpec(
    val name: String,
    val width: Int,
    val height: Int,
    val channels: Int,
    val type: TensorType,
    /** Null for a float input. */
    val quantization: Quantization?,
    /** Null when the model takes raw pixels (an integer input without normalization). */
    val normalization: Normalization?,
    val color: ColorOrder,
    val resize: ResizeMode,
) {
    val size: Int get() = width * height * channels
}

class OutputSpec(
    val name: String,
    val role: Role,
    /** The interpreter's output index. */
    val index: Int,
    val shape: IntArray,
    val type: TensorType,
    /** Null for a float (or label-map) output. */
    val quantization: Quantization?,
) {
    val size: Int get() = shape.fold(1) { product, dimension -> product * dimension }
}

/**
 * How a raw SSD (box encodings and class scores, no TFLite_Detection_PostProcess in the model) is
 * decoded here: the op's settings, run by [RawDetectionDecoder]. The [anchorCount] anchors
 * (cy, cx, h, w) are the resource [anchorsResource] beside this package's classes.
 */
class SsdSpec(
    val anchorCount: Int,
    /** The box coder's y, x, h, w scales. */
    val scales: FloatArray,
    val maxDetections: Int,
    /** Anchors whose best class scores at least this are candidates. */
    val scoreThreshold: Float,
    /** A candidate overlapping a kept box with an IoU above this is dropped. */
    val iouThreshold: Float,
    val anchorsResource: String,
    /** The class scores' first column is the background (the TF Object Detection API's way), else one column per class. */
    val background: Boolean,
)

/** The label of model class i is `names[i + offset]`; classes without one are called "class i". */
class Labels(val names: List<String>, val offset: Int) {
    fun of(classIndex: Int): String = names.getOrNull(classIndex + offset) ?: "class $classIndex"
}

/** The output with [role]; the generated ModelSpec has one of each role its task needs. */
fun List<OutputSpec>.withRole(role: Role): OutputSpec =
    firstOrNull { it.role == role } ?: throw IllegalArgumentException("the model has no $role output")
