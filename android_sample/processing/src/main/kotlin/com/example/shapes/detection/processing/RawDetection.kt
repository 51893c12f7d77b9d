package com.example.shapes.detection.processing

import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.math.exp
import kotlin.math.max
import kotlin.math.min

/**
 * A raw SSD's outputs to detections in image pixels, for models without TFLite_Detection_PostProcess:
 * the op's fast path (one class per box, classes compete in one NMS) done here, step for step as
 * tflgen's Python reference (`reference.ssd_postprocess`, bit-exact with LiteRT's kernel) does it:
 *
 * - box encodings (ty, tx, th, tw) against the anchors (cy, cx, h, w): centre and half size
 *   computed in Double and rounded to Float, corners subtracted/added in Float;
 * - per anchor the best class (column 0 is skipped when it is the background; the lowest class wins ties);
 * - candidates: best score `>=` [SsdSpec.scoreThreshold], sorted by score, best first, the lower
 *   anchor first on equal scores;
 * - greedy NMS: a candidate is dropped when its IoU (in Float) with a kept box is `>`
 *   [SsdSpec.iouThreshold]; at most [SsdSpec.maxDetections] are kept.
 *
 * Buffers are allocated once; [decode] allocates only the detections it returns.
 */
class RawDetectionDecoder(
    outputs: List<OutputSpec>,
    private val labels: Labels,
    private val ssd: SsdSpec,
    /** [anchorCount, 4] cy, cx, h, w in 0..1 of the model input, row after row. */
    private val anchors: FloatArray,
) : Detector {
    private val encodings = outputs.withRole(Role.BOX_ENCODINGS)
    private val classScores = outputs.withRole(Role.CLASS_SCORES)
    private val anchorCount = encodings.shape[1]
    private val columns = classScores.shape[2]
    private val firstClass = if (ssd.background) 1 else 0 // the column of class 0
    private val codes = FloatArray(encodings.size)
    private val scores = FloatArray(classScores.size)
    private val boxes = FloatArray(anchorCount * 4) // ymin, xmin, ymax, xmax
    private val bestClass = IntArray(anchorCount)
    private val bestScore = FloatArray(anchorCount)
    private val order = LongArray(anchorCount) // candidates as sort keys: score descending, then anchor
    private val active = BooleanArray(anchorCount)
    private val selected = IntArray(ssd.maxDetections)

    init {
        require(encodings.shape.size == 3 && encodings.shape[2] == 4) { "box encodings must be [1, N, 4], not ${encodings.shape.toList()}" }
        require(classScores.shape.size == 3 && classScores.shape[1] == anchorCount && columns > firstClass) {
            "class scores must be [1, $anchorCount, classes${if (ssd.background) " + 1" else ""}], not ${classScores.shape.toList()}"
        }
        require(ssd.anchorCount == anchorCount && anchors.size == anchorCount * 4) {
            "${anchors.size / 4} anchors (spec: ${ssd.anchorCount}) for a model predicting $anchorCount boxes"
        }
    }

    override fun decode(tensors: List<ByteBuffer>, placement: Placement, scoreThreshold: Float, maxResults: Int): List<Detection> {
        encodings.readFloats(tensors[encodings.index], codes)
        classScores.readFloats(tensors[classScores.index], scores)
        decodeBoxes()
        val kept = suppress(candidates())
        val found = ArrayList<Detection>(min(kept, maxResults))
        for (k in 0 until kept) {
            if (found.size >= maxResults) break
            val anchor = selected[k]
            val score = bestScore[anchor]
            if (score < scoreThreshold) continue
            val b = anchor * 4
            val box = placement.boxToImage(boxes[b], boxes[b + 1], boxes[b + 2], boxes[b + 3])
            found.add(Detection(bestClass[anchor], labels.of(bestClass[anchor]), score, box))
        }
        return found
    }

    /** Center-size decoding, as the kernel: Double for centre and half size, each rounded to Float. */
    private fun decodeBoxes() {
        val yScale = ssd.scales[0].toDouble()
        val xScale = ssd.scales[1].toDouble()
        val hScale = ssd.scales[2].toDouble()
        val wScale = ssd.scales[3].toDouble()
        for (a in 0 until anchorCount) {
            val i = a * 4
            val ya = anchors[i].toDouble()
            val xa = anchors[i + 1].toDouble()
            val ha = anchors[i + 2].toDouble()
            val wa = anchors[i + 3].toDouble()
            val yCenter = (codes[i] / yScale * ha + ya).toFloat()
            val xCenter = (codes[i + 1] / xScale * wa + xa).toFloat()
            val halfH = (0.5 * exp(codes[i + 2] / hScale) * ha).toFloat()
            val halfW = (0.5 * exp(codes[i + 3] / wScale) * wa).toFloat()
            boxes[i] = yCenter - halfH
            boxes[i + 1] = xCenter - halfW
            boxes[i + 2] = yCenter + halfH
            boxes[i + 3] = xCenter + halfW
        }
    }

    /** Each anchor's best class and score; the anchors scoring at least the threshold, sorted. Returns their number. */
    private fun candidates(): Int {
        var count = 0
        for (a in 0 until anchorCount) {
            val row = a * columns
            var best = firstClass
            var top = scores[row + firstClass]
            for (c in firstClass + 1 until columns) {
                val s = scores[row + c]
                // The first maximum wins, and like numpy's argmax a NaN counts as the maximum.
                if (s > top || (s.isNaN() && !top.isNaN())) {
                    top = s
                    best = c
                }
            }
            bestClass[a] = best - firstClass
            bestScore[a] = top
            if (top >= ssd.scoreThreshold) order[count++] = sortKey(top, a)
        }
        java.util.Arrays.sort(order, 0, count)
        return count
    }

    /** Greedy NMS over the sorted candidates; the kept anchors go into [selected]. Returns their number. */
    private fun suppress(candidates: Int): Int {
        val limit = min(candidates, ssd.maxDetections)
        active.fill(true, 0, candidates)
        var kept = 0
        for (i in 0 until candidates) {
            if (kept >= limit) break
            if (!active[i]) continue
            val anchor = anchorOf(order[i])
            selected[kept++] = anchor
            for (j in i + 1 until candidates) {
                if (active[j] && intersectionOverUnion(anchor, anchorOf(order[j])) > ssd.iouThreshold) active[j] = false
            }
        }
        return kept
    }

    /** IoU of two decoded boxes in Float; 0 when either has no area (as the kernel does). */
    private fun intersectionOverUnion(a: Int, b: Int): Float {
        val i = a * 4
        val j = b * 4
        val areaA = (boxes[i + 2] - boxes[i]) * (boxes[i + 3] - boxes[i + 1])
        val areaB = (boxes[j + 2] - boxes[j]) * (boxes[j + 3] - boxes[j + 1])
        if (areaA <= 0f || areaB <= 0f) return 0f
        val height = max(min(boxes[i + 2], boxes[j + 2]) - max(boxes[i], boxes[j]), 0f)
        val width = max(min(boxes[i + 3], boxes[j + 3]) - max(boxes[i + 1], boxes[j + 1]), 0f)
        val intersection = height * width
        return intersection / (areaA + areaB - intersection)
    }

    private companion object {
        /**
         * A key whose ascending order is score descending, then anchor ascending (a stable sort by
         * score): the score's bits made order-preserving as an Int (-0 taken as +0), inverted, in
         * the high half; the anchor in the low half.
         */
        fun sortKey(score: Float, anchor: Int): Long {
            val bits = java.lang.Float.floatToRawIntBits(if (score == 0f) 0f else score)
            val ordered = bits xor ((bits shr 31) and 0x7fffffff)
            return (ordered.inv().toLong() shl 32) or anchor.toLong()
        }

        fun anchorOf(key: Long): Int = (key and 0xffffffffL).toInt()
    }
}

/**
 * This spec's anchors: the resource [SsdSpec.anchorsResource] beside this package's classes
 * (tflgen writes it into `processing/src/main/resources`), float32 little-endian [anchorCount, 4].
 */
fun SsdSpec.loadAnchors(): FloatArray {
    val bytes = RawDetectionDecoder::class.java.getResourceAsStream(anchorsResource)?.use { it.readBytes() }
        ?: error("the anchors resource $anchorsResource is missing beside ${RawDetectionDecoder::class.java.name}")
    check(bytes.size == anchorCount * 4 * 4) { "$anchorsResource holds ${bytes.size} bytes, not $anchorCount anchors of 4 floats" }
    val anchors = FloatArray(anchorCount * 4)
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(anchors)
    return anchors
}
