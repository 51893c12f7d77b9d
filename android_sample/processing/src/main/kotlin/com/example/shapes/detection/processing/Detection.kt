package com.example.shapes.detection.processing

import java.nio.ByteBuffer

data class Detection(val classIndex: Int, val label: String, val score: Float, val box: Box)

/** Turns the model's output tensors into detections in image pixels. */
interface Detector {
    /** Detections with a score of at least [scoreThreshold], at most [maxResults], best first. */
    fun decode(tensors: List<ByteBuffer>, placement: Placement, scoreThreshold: Float, maxResults: Int): List<Detection>
}

/**
 * The detector for a model: [DetectionDecoder] when it ends in TFLite_Detection_PostProcess
 * ([ssd] null), else [RawDetectionDecoder] with the anchors from the module's resources.
 * `detectorFor(ModelSpec.outputs, ModelSpec.labels, ModelSpec.ssd)` gives this project's.
 */
fun detectorFor(outputs: List<OutputSpec>, labels: Labels, ssd: SsdSpec?): Detector =
    if (ssd == null) DetectionDecoder(outputs, labels) else RawDetectionDecoder(outputs, labels, ssd, ssd.loadAnchors())

/**
 * The four outputs of TFLite_Detection_PostProcess to detections in image pixels. The outputs are
 * found by role (the converter lists them in any order), dequantized if need be, read up to
 * `count` (rows past it are left unwritten by the op) and mapped back through the [Placement].
 */
class DetectionDecoder(outputs: List<OutputSpec>, private val labels: Labels) : Detector {
    private val boxes = outputs.withRole(Role.BOXES)
    private val classes = outputs.withRole(Role.CLASSES)
    private val scores = outputs.withRole(Role.SCORES)
    private val count = outputs.withRole(Role.COUNT)
    private val boxValues = FloatArray(boxes.size)
    private val classValues = FloatArray(classes.size)
    private val scoreValues = FloatArray(scores.size)
    private val countValue = FloatArray(count.size)

    /** The op sorts its detections by score already. */
    override fun decode(tensors: List<ByteBuffer>, placement: Placement, scoreThreshold: Float, maxResults: Int): List<Detection> {
        boxes.readFloats(tensors[boxes.index], boxValues)
        classes.readFloats(tensors[classes.index], classValues)
        scores.readFloats(tensors[scores.index], scoreValues)
        count.readFloats(tensors[count.index], countValue)
        val rows = countValue[0].toInt().coerceIn(0, scoreValues.size)
        val found = ArrayList<Detection>()
        for (row in 0 until rows) {
            if (found.size >= maxResults) break
            val score = scoreValues[row]
            if (score < scoreThreshold) continue
            val classIndex = classValues[row].toInt()
            val b = row * 4 // ymin, xmin, ymax, xmax in 0..1 of the model input
            val box = placement.boxToImage(boxValues[b], boxValues[b + 1], boxValues[b + 2], boxValues[b + 3])
            found.add(Detection(classIndex, labels.of(classIndex), score, box))
        }
        return found
    }
}
