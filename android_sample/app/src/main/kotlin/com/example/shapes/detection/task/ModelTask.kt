package com.example.shapes.detection.task

import android.graphics.Canvas
import com.example.shapes.detection.inference.InferenceSettings
import com.example.shapes.detection.processing.Placement
import com.example.shapes.detection.ui.OverlayStyle
import com.example.shapes.detection.ui.ViewTransform
import java.nio.ByteBuffer
import kotlin.math.roundToInt

/**
 * The task-specific end of the app: the interpreter's output buffers to something to draw and list.
 * Each project has one implementation (ClassificationTask, DetectionTask or SegmentationTask), made
 * by its `modelTask()`; the maths is in the `processing` module, proven by its golden tests.
 */
interface ModelTask {
    /** Called on the inference thread, right after the interpreter ran; [outputs] are by output index. */
    fun interpret(outputs: List<ByteBuffer>, placement: Placement, settings: InferenceSettings): TaskResult
}

/** One frame's answer. Immutable: made on the inference thread, drawn on the main thread. */
interface TaskResult {
    /** Rows for the results panel (top classes, detections, mask legend), best first. */
    val lines: List<ResultLine>

    /** Draws onto the overlay above the image; [transform] maps image pixels to view pixels. */
    fun draw(canvas: Canvas, transform: ViewTransform, style: OverlayStyle)
}

/** A results-panel row: text and the ARGB colour of its box or mask class (0: none). */
data class ResultLine(val text: String, val color: Int = 0)

/** A score as a whole percentage: 0.414 -> "41%". */
fun percent(score: Float): String = "${(score * 100f).roundToInt()}%"
