package com.example.shapes.detection.processing

import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import java.nio.ByteBuffer
import kotlin.math.abs
import kotlin.math.exp
import kotlin.math.max
import kotlin.math.min

/**
 * Same detections (count, classes, labels, scores) with boxes within 1e-3 model-input pixels, in image pixels:
 * from the op's outputs, or from a raw SSD's outputs decoded + NMS here (the reference did the same in Python),
 * for [outputs] (the golden ones by default).
 *
 * With [tolerances] from a device, scores and boxes may move by what their outputs' tolerances allow, so the
 * detections are matched regardless of order (same class, score and box within those bounds), and a detection
 * whose score is within that bound of a cut (the score threshold, or the lowest score of a full list) may be
 * missing on either side; a full list clear of the threshold stays full. Of two boxes overlapping beyond NMS's IoU
 * limit with scores that close, NMS keeps one: the device may keep the other. (The IoU is taken in image pixels,
 * where NMS took it in the model's input: with letterbox or a crop the clamped boxes may differ slightly.)
 */
fun checkResults(
    case: GoldenCase, placement: Placement, outputs: List<ByteBuffer> = case.outputs(), tolerances: Tolerances = Tolerances.EXACT,
    backend: String? = null,
) {
    val where = case.on(backend)
    val expected = case.expected["results"].items
    val threshold = case.expected["score_threshold"].float()
    val maxResults = case.expected["max_results"].int()
    val decoder = detectorFor(ModelSpec.outputs, ModelSpec.labels, ModelSpec.ssd)
    val actual = decoder.decode(outputs, placement, scoreThreshold = threshold, maxResults = maxResults)
    // 1e-3 of a model-input pixel, in image pixels.
    val pixels = max(placement.source.width.toFloat() / placement.target.width, placement.source.height.toFloat() / placement.target.height)
    val wanted = expected.map { want ->
        Detection(want["class"].int(), want["label"].string(), want["score"].float(), want["box"].items.map { it.float() }.let { Box(it[0], it[1], it[2], it[3]) })
    }
    if (tolerances.exact) {
        checkInOrder(where, wanted, actual, 1e-3f * pixels)
        return
    }
    val bounds = Bounds.of(tolerances, placement, pixels)
    val capacity = min(maxResults, ModelSpec.ssd?.maxDetections ?: ModelSpec.outputs.withRole(Role.SCORES).shape[1])
    val cut = max(threshold, ModelSpec.ssd?.scoreThreshold ?: 0f)
    // A full list whose last score is clear of the threshold stays full: which detections fill it may change, not how many.
    if (listOf(wanted, actual).any { it.size >= capacity && it.minOf { d -> d.score } >= cut + bounds.score }) {
        assertEquals("$where: number of detections (a full list, clear of the threshold)", wanted.size, actual.size)
    }
    val used = BooleanArray(actual.size)
    val unmatched = ArrayList<Detection>()
    for (want in wanted) {
        val match = actual.indices.firstOrNull { !used[it] && same(want, actual[it], bounds) }
        if (match != null) used[match] = true else unmatched.add(want)
    }
    val extra = actual.filterIndexed { i, _ -> !used[i] }
    // NMS kept one of two overlapping boxes whose scores nearly tie; the device may keep the other.
    val iou = case.expected["nms_iou_threshold"].float()
    val swapped = { d: Detection, others: List<Detection> -> others.any { abs(it.score - d.score) <= 2 * bounds.score && overlap(it.box, d.box) > iou } }
    for ((i, want) in unmatched.withIndex()) {
        if (!firm(want.score, wanted, capacity, cut, bounds.score) || swapped(want, extra)) continue
        fail("$where: detection $i of those unmatched ($want) has no match within score ${bounds.score} and box ${bounds.box} px in $actual")
    }
    for (got in extra) {
        if (!firm(got.score, actual, capacity, cut, bounds.score) || swapped(got, unmatched)) continue
        fail("$where: detection $got is not in the reference $wanted")
    }
}

/** Intersection over union of two boxes in image pixels. */
private fun overlap(a: Box, b: Box): Float {
    val width = max(0f, min(a.right, b.right) - max(a.left, b.left))
    val height = max(0f, min(a.bottom, b.bottom) - max(a.top, b.top))
    val intersection = width * height
    val union = (a.right - a.left) * (a.bottom - a.top) + (b.right - b.left) * (b.bottom - b.top) - intersection
    return if (union > 0f) intersection / union else 0f
}

private fun checkInOrder(where: String, expected: List<Detection>, actual: List<Detection>, tolerance: Float) {
    assertEquals("$where: number of detections", expected.size, actual.size)
    for ((i, want) in expected.withIndex()) {
        val got = actual[i]
        assertEquals("$where: class of detection $i", want.classIndex, got.classIndex)
        assertEquals("$where: label of detection $i", want.label, got.label)
        assertEquals("$where: score of detection $i", want.score, got.score, 1e-6f)
        val sides = listOf(want.box.left to got.box.left, want.box.top to got.box.top, want.box.right to got.box.right, want.box.bottom to got.box.bottom)
        for ((side, name) in listOf("left", "top", "right", "bottom").withIndex()) {
            assertEquals("$where: $name of detection $i (${got.box})", sides[side].first, sides[side].second, tolerance)
        }
    }
}

/** How far a score and a box side (image pixels) may move when the outputs are within their tolerances. */
private class Bounds(val score: Float, val box: Float) {
    companion object {
        fun of(tolerances: Tolerances, placement: Placement, pixels: Float): Bounds {
            val ssd = ModelSpec.ssd
            // A box side in 0..1 of the model input: the op's boxes directly; a raw SSD's from its encodings,
            // centre t / scale (anchors within the input) and size exp(t / scale) - 1 (boxes within the input).
            val side = if (ssd == null) {
                tolerances[ModelSpec.outputs.withRole(Role.BOXES)]
            } else {
                val t = tolerances[ModelSpec.outputs.withRole(Role.BOX_ENCODINGS)]
                t / min(ssd.scales[0], ssd.scales[1]) + (exp(t / min(ssd.scales[2], ssd.scales[3])) - 1)
            }
            val scores = ModelSpec.outputs.withRole(if (ssd == null) Role.SCORES else Role.CLASS_SCORES)
            val inputPixels = max(placement.inputWidth, placement.inputHeight)
            return Bounds(tolerances[scores] + 1e-6f, side * inputPixels * pixels + 1e-3f * pixels)
        }
    }
}

/** A detection that must be found on both sides: not within [bound] of the threshold nor of a full list's last score. */
private fun firm(score: Float, list: List<Detection>, capacity: Int, threshold: Float, bound: Float): Boolean {
    if (score < threshold + bound) return false
    return !(list.size >= capacity && score <= list.minOf { it.score } + 2 * bound)
}

private fun same(want: Detection, got: Detection, bounds: Bounds): Boolean =
    want.classIndex == got.classIndex && abs(want.score - got.score) <= bounds.score &&
        abs(want.box.left - got.box.left) <= bounds.box && abs(want.box.top - got.box.top) <= bounds.box &&
        abs(want.box.right - got.box.right) <= bounds.box && abs(want.box.bottom - got.box.bottom) <= bounds.box
