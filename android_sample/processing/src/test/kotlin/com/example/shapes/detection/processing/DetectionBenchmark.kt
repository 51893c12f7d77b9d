@file:JvmName("Benchmark")

package com.example.shapes.detection.processing

import kotlin.math.sqrt

/**
 * Per-frame cost of preprocessing and post-processing a 640x480 frame, for a 300x300 uint8 SSD
 * with 1917 anchors and 90 classes, both ways: decoded by TFLite_Detection_PostProcess inside the
 * model (the app reads the op's four outputs), and raw (box encodings and class scores decoded +
 * NMS here by [RawDetectionDecoder]); and for this project's model. Run: ./gradlew :processing:benchmark
 */
fun main() {
    val ssdInput = InputSpec(
        name = "image", width = 300, height = 300, channels = 3, type = TensorType.UINT8,
        quantization = Quantization(0.0078125f, 128),
        normalization = Normalization(floatArrayOf(127.5f, 127.5f, 127.5f), floatArrayOf(127.5f, 127.5f, 127.5f)),
        color = ColorOrder.RGB, resize = ResizeMode.STRETCH,
    )
    val ssdOutputs = listOf(
        OutputSpec("boxes", Role.BOXES, 0, intArrayOf(1, 10, 4), TensorType.FLOAT32, null),
        OutputSpec("classes", Role.CLASSES, 1, intArrayOf(1, 10), TensorType.FLOAT32, null),
        OutputSpec("scores", Role.SCORES, 2, intArrayOf(1, 10), TensorType.FLOAT32, null),
        OutputSpec("count", Role.COUNT, 3, intArrayOf(1), TensorType.FLOAT32, null),
    )
    run("SSD 300x300 uint8, 1917 anchors, op outputs", ssdInput, ssdOutputs, DetectionDecoder(ssdOutputs, NO_LABELS))
    val anchors = ssdAnchors()
    val rawOutputs = listOf(
        OutputSpec("box_encodings", Role.BOX_ENCODINGS, 0, intArrayOf(1, 1917, 4), TensorType.UINT8, Quantization(0.05f, 128)),
        OutputSpec("class_scores", Role.CLASS_SCORES, 1, intArrayOf(1, 1917, 91), TensorType.UINT8, Quantization(0.00390625f, 0)),
    )
    val ssd = SsdSpec(1917, floatArrayOf(10f, 10f, 5f, 5f), 10, 1e-8f, 0.6f, "unused", background = true)
    run("SSD 300x300 uint8, 1917 anchors, raw outputs (decode + NMS)", ssdInput, rawOutputs, RawDetectionDecoder(rawOutputs, NO_LABELS, ssd, anchors))
    val model = detectorFor(ModelSpec.outputs, NO_LABELS, ModelSpec.ssd)
    run("this model (${ModelSpec.input.width}x${ModelSpec.input.height} ${ModelSpec.input.type})", ModelSpec.input, ModelSpec.outputs, model)
}

private val NO_LABELS = Labels(emptyList(), 0)

private fun run(name: String, input: InputSpec, outputs: List<OutputSpec>, decoder: Detector) {
    val frame = syntheticFrame()
    val preprocessor = Preprocessor(input)
    val tensors = randomOutputs(outputs) { output, buffer, random ->
        fillRandom(output, buffer, random)
        if (output.role == Role.COUNT) buffer.putFloat(0, 10f)
        if (output.role == Role.CLASSES) {
            for (i in 0 until output.size) buffer.putFloat(i * 4, random.nextInt(90).toFloat())
        }
    }
    val placement = preprocessor.process(frame, FRAME_WIDTH, FRAME_HEIGHT)
    val pre = measure("$name: preprocess") { preprocessor.process(frame, FRAME_WIDTH, FRAME_HEIGHT) }
    val post = measure("$name: post-process") { decoder.decode(tensors, placement, 0.3f, 10) }
    printTotal("$name: pre + post", pre + post)
}

/** SSD MobileNet-style anchors (cy, cx, h, w) for 300x300: 19x19x3 + 10x10x6 + 5x5x6 + 3x3x6 + 2x2x6 + 1x1x6 = 1917. */
private fun ssdAnchors(): FloatArray {
    val layers = listOf(19 to 3, 10 to 6, 5 to 6, 3 to 6, 2 to 6, 1 to 6)
    val anchors = ArrayList<Float>()
    for ((layer, pair) in layers.withIndex()) {
        val (grid, perCell) = pair
        val scale = 0.2f + 0.75f * layer / (layers.size - 1)
        val ratios = floatArrayOf(1f, 2f, 0.5f, 3f, 1f / 3f, 1f).copyOf(perCell)
        for (y in 0 until grid) for (x in 0 until grid) for (ratio in ratios) {
            val root = sqrt(ratio)
            anchors.addAll(listOf((y + 0.5f) / grid, (x + 0.5f) / grid, scale / root, scale * root))
        }
    }
    return anchors.toFloatArray()
}
