package com.example.shapes.detection.processing

import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assume.assumeTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.junit.runners.Parameterized
import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.math.floor
import kotlin.random.Random

/**
 * The rules the app's instrumented test (app/src/androidTest) applies to outputs computed on a device, checked here
 * on the JVM: the golden outputs pass them, any outputs within their tolerances pass them (results included), an
 * output beyond its tolerance fails with a message naming the case, the backend and the output, and outputs that
 * are turned around fail the device check.
 */
@RunWith(Parameterized::class)
class DeviceToleranceTest(private val case: GoldenCase, private val backend: GoldenBackend) {
    private val tolerances by lazy { case.tolerances(backend) }
    private val placement by lazy { case.placement() }

    @Test
    fun goldenOutputsPass() {
        val tolerances = tolerancesOrSkip()
        assertNull(outputMismatch(case, backend.name, case.outputs(), tolerances))
        checkResults(case, placement, case.outputs(), tolerances, backend.name)
    }

    @Test
    fun outputsWithinTheirTolerancesPass() {
        val tolerances = tolerancesOrSkip()
        // Moving a raw SSD's class scores can flip an anchor's best class where two classes nearly tie; the results
        // check can't see the scores behind a detection's class, so it doesn't forgive that.
        assumeTrue("a raw SSD's anchors may change class on near-tied class scores: not covered", ModelSpec.ssd == null)
        val random = Random(case.name.hashCode() * 31 + backend.ordinal)
        val moved = ModelSpec.outputs.sortedBy { it.index }.map { output ->
            copy(case.outputs()[output.index]).also { if (output.role !in FIXED) move(output, it, tolerances[output], random) }
        }
        assertNull(outputMismatch(case, backend.name, moved, tolerances))
        checkResults(case, placement, moved, tolerances, "${backend.name} (moved within the tolerances)")
    }

    @Test
    fun anOutputBeyondItsToleranceFails() {
        val tolerances = tolerancesOrSkip()
        val output = ModelSpec.outputs.firstOrNull { it.role !in DECIDED_ROLES }
        assumeTrue("the op's detections and label maps are compared as results", output != null)
        output!!
        val outputs = case.outputs()
        beyond(output, outputs[output.index], tolerances[output])
        val message = outputMismatch(case, backend.name, outputs, tolerances)
        assertNotNull("$case: an element beyond the tolerance ${tolerances[output]} went unnoticed", message)
        assertTrue(message, listOf(case.name, backend.name, "output ${output.index}").all { it in message!! })
    }

    @Test
    fun reversedOutputsFail() {
        val tolerances = tolerancesOrSkip()
        assumeTrue("$case: the reference found nothing, so no result can go missing", ModelSpec.task != Task.DETECTION || case.expected["results"].items.isNotEmpty())
        val spoiled = ModelSpec.outputs.sortedBy { it.index }.map { output -> copy(case.outputs()[output.index]).also { reverse(output, it) } }
        // What the device test runs: the raw outputs against their tolerances, then the results.
        val caught = outputMismatch(case, backend.name, spoiled, tolerances) != null ||
            runCatching { checkResults(case, placement, spoiled, tolerances, backend.name) }.exceptionOrNull() is AssertionError
        assertTrue("$case on $backend: reversed outputs passed the device check", caught)
    }

    @Test
    fun nmsKeepingTheOtherOfTwoNearTiedBoxesIsForgiven() {
        val tolerances = tolerancesOrSkip()
        assumeTrue("the detection op's outputs only", ModelSpec.task == Task.DETECTION && ModelSpec.ssd == null)
        val expected = case.expected["results"].items
        val threshold = case.expected["score_threshold"].float()
        val first = expected.firstOrNull()?.get("score")?.float()
        assumeTrue("$case: no detection clear of the cuts", first != null && first > threshold + 0.1f && first > expected.last()["score"].float() + 0.1f)
        val boxes = ModelSpec.outputs.withRole(Role.BOXES)
        val outputs = case.outputs().map(::copy)
        val box = outputs[boxes.index] // row 0, the first detection: ymin, xmin, ymax, xmax in 0..1 of the input
        val (xmin, xmax) = box.getFloat(4) to box.getFloat(12)
        val toward = if (xmin > 1f - xmax) -1f else 1f
        // Another box of the same object, which NMS could have kept instead: the same box moved sideways by a fraction
        // f of its width overlaps it with IoU (1 - f) / (1 + f); half the largest f that stays above NMS's limit.
        val iou = case.expected["nms_iou_threshold"].float()
        val near = toward * 0.5f * (1 - iou) / (1 + iou) * (xmax - xmin)
        box.putFloat(4, xmin + near)
        box.putFloat(12, xmax + near)
        checkResults(case, placement, outputs, tolerances, "${backend.name} (NMS kept a neighbour)")
        // Moved by two widths it is another detection: not forgiven.
        box.putFloat(4, xmin + toward * 2 * (xmax - xmin))
        box.putFloat(12, xmax + toward * 2 * (xmax - xmin))
        val failure = runCatching { checkResults(case, placement, outputs, tolerances, backend.name) }.exceptionOrNull()
        assertTrue("$case on $backend: a box two widths away passed as the same detection", failure is AssertionError)
    }

    private fun tolerancesOrSkip(): Tolerances {
        assumeTrue("$case: no $backend tolerance (an integer model on a GPU)", tolerances != null)
        return tolerances!!
    }

    companion object {
        /** Class indices and counts: moving them by a fraction means nothing. */
        private val FIXED = setOf(Role.CLASSES, Role.COUNT, Role.LABEL_MAP)

        @JvmStatic
        @Parameterized.Parameters(name = "{0} {1}")
        fun cases(): List<Array<Any>> = GoldenCase.all().flatMap { case -> GoldenBackend.entries.map { arrayOf<Any>(case, it) } }

        private fun copy(buffer: ByteBuffer): ByteBuffer {
            val copy = ByteBuffer.allocateDirect(buffer.capacity()).order(ByteOrder.nativeOrder())
            for (i in 0 until buffer.capacity()) copy.put(i, buffer.get(i))
            return copy
        }

        /** Each value moved by up to 0.9 of [tolerance] (whole quanta for an integer output), at random. */
        private fun move(output: OutputSpec, buffer: ByteBuffer, tolerance: Float, random: Random) {
            val q = output.quantization
            for (i in 0 until output.size) {
                when (output.type) {
                    TensorType.FLOAT32 -> buffer.putFloat(i * 4, buffer.getFloat(i * 4) + (random.nextFloat() * 2 - 1) * 0.9f * tolerance)
                    TensorType.UINT8, TensorType.INT8 -> {
                        val steps = if (q == null) 0 else floor(0.9f * tolerance / q.scale).toInt()
                        val value = raw(output, buffer, i) + random.nextInt(-steps, steps + 1)
                        buffer.put(i, clamp(output.type, value).toByte())
                    }
                    else -> Unit
                }
            }
        }

        /** Element 0 moved beyond [tolerance], towards whichever end has room. */
        private fun beyond(output: OutputSpec, buffer: ByteBuffer, tolerance: Float) {
            val q = output.quantization
            when (output.type) {
                TensorType.FLOAT32 -> buffer.putFloat(0, buffer.getFloat(0) + 2 * tolerance + 1e-3f * (1 + kotlin.math.abs(buffer.getFloat(0))))
                TensorType.UINT8, TensorType.INT8 -> {
                    val steps = floor(tolerance / q!!.scale).toInt() + 1
                    val value = raw(output, buffer, 0)
                    val up = clamp(output.type, value + steps) == value + steps
                    buffer.put(0, (if (up) value + steps else value - steps).toByte())
                }
                else -> error("output ${output.index}: no test moves a ${output.type} value")
            }
        }

        /**
         * Every value turned around: scores and logits negated (the best class becomes the worst, detections fall
         * below any threshold), boxes to negative coordinates, quantized values mirrored in their range, a label
         * map's background and first class swapped. Counts and detection classes stay.
         */
        private fun reverse(output: OutputSpec, buffer: ByteBuffer) {
            if (output.role == Role.CLASSES || output.role == Role.COUNT) return
            for (i in 0 until output.size) {
                when {
                    output.role == Role.LABEL_MAP -> when (output.type) {
                        TensorType.INT32 -> buffer.putInt(i * 4, if (buffer.getInt(i * 4) == 0) 1 else 0)
                        TensorType.INT64 -> buffer.putLong(i * 8, if (buffer.getLong(i * 8) == 0L) 1L else 0L)
                        else -> buffer.put(i, if (buffer.get(i).toInt() == 0) 1 else 0)
                    }
                    output.type == TensorType.FLOAT32 && output.role == Role.MASK && output.shape[3] == 1 ->
                        buffer.putFloat(i * 4, 1f - buffer.getFloat(i * 4))
                    output.type == TensorType.FLOAT32 -> buffer.putFloat(i * 4, -buffer.getFloat(i * 4))
                    output.type == TensorType.UINT8 -> buffer.put(i, (255 - raw(output, buffer, i)).toByte())
                    output.type == TensorType.INT8 -> buffer.put(i, (-1 - raw(output, buffer, i)).toByte())
                }
            }
        }

        private fun raw(output: OutputSpec, buffer: ByteBuffer, i: Int): Int =
            if (output.type == TensorType.UINT8) buffer.get(i).toInt() and 0xFF else buffer.get(i).toInt()

        private fun clamp(type: TensorType, value: Int): Int = if (type == TensorType.UINT8) value.coerceIn(0, 255) else value.coerceIn(-128, 127)
    }
}
