package com.example.shapes.detection.processing

import org.junit.Assert.assertEquals
import kotlin.math.max

/**
 * Same detections (count, classes, labels, scores) with boxes within 1e-3 model-input pixels, in image pixels:
 * from the op's outputs, or from a raw SSD's outputs decoded + NMS here (the reference did the same in Python).
 */
internal fun checkResults(case: GoldenCase, placement: Placement) {
    val expected = case.expected["results"].items
    val decoder = detectorFor(ModelSpec.outputs, ModelSpec.labels, ModelSpec.ssd)
    val actual = decoder.decode(
        case.outputs(),
        placement,
        scoreThreshold = case.expected["score_threshold"].float(),
        maxResults = case.expected["max_results"].int(),
    )
    assertEquals("$case: number of detections", expected.size, actual.size)
    // 1e-3 of a model-input pixel, in image pixels.
    val tolerance = 1e-3f * max(
        placement.source.width.toFloat() / placement.target.width,
        placement.source.height.toFloat() / placement.target.height,
    )
    for ((i, want) in expected.withIndex()) {
        val got = actual[i]
        assertEquals("$case: class of detection $i", want["class"].int(), got.classIndex)
        assertEquals("$case: label of detection $i", want["label"].string(), got.label)
        assertEquals("$case: score of detection $i", want["score"].float(), got.score, 1e-6f)
        val box = want["box"].items.map { it.float() }
        val sides = listOf(got.box.left, got.box.top, got.box.right, got.box.bottom)
        for ((side, name) in listOf("left", "top", "right", "bottom").withIndex()) {
            assertEquals("$case: $name of detection $i (${got.box})", box[side], sides[side], tolerance)
        }
    }
}
