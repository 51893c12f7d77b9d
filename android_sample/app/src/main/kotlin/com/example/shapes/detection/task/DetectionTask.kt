package com.example.shapes.detection.task

import android.graphics.Canvas
import com.example.shapes.detection.inference.InferenceSettings
import com.example.shapes.detection.processing.Detection
import com.example.shapes.detection.processing.ModelSpec
import com.example.shapes.detection.processing.Palette
import com.example.shapes.detection.processing.Placement
import com.example.shapes.detection.processing.detectorFor
import com.example.shapes.detection.ui.OverlayStyle
import com.example.shapes.detection.ui.ViewTransform
import java.nio.ByteBuffer

/** This project's task: object detection. */
fun modelTask(): ModelTask = DetectionTask()

class DetectionTask : ModelTask {
    private val detector = detectorFor(ModelSpec.outputs, ModelSpec.labels, ModelSpec.ssd)

    override fun interpret(outputs: List<ByteBuffer>, placement: Placement, settings: InferenceSettings): TaskResult =
        DetectionResult(detector.decode(outputs, placement, settings.scoreThreshold, settings.maxResults))
}

/** Boxes in image pixels, each with its label and score. */
class DetectionResult(val detections: List<Detection>) : TaskResult {
    override val lines: List<ResultLine> =
        detections.map { ResultLine("${it.label}  ${percent(it.score)}", classColor(it.classIndex)) }

    override fun draw(canvas: Canvas, transform: ViewTransform, style: OverlayStyle) {
        for (detection in detections) {
            val box = detection.box
            style.drawBox(
                canvas,
                left = transform.x(box.left),
                top = transform.y(box.top),
                right = transform.x(box.right),
                bottom = transform.y(box.bottom),
                color = classColor(detection.classIndex),
                caption = "${detection.label} ${percent(detection.score)}",
            )
        }
    }
}

/** Class 0 is a real class for a detector: shift by one so that it gets a visible palette colour. */
private fun classColor(classIndex: Int): Int = Palette.color(classIndex + 1)
