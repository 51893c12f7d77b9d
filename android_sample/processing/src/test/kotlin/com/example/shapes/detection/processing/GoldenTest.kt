package com.example.shapes.detection.processing

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.junit.runners.Parameterized
import java.nio.ByteBuffer
import kotlin.math.abs
import kotlin.math.max

/**
 * The parity contract: for every golden case, this module's preprocessing gives the input tensor
 * tflgen's Python reference gave (within one quantum, 1e-5 for float), and its post-processing of
 * the outputs LiteRT gave yields the reference's results (checked per task in the task's *Golden.kt).
 */
@RunWith(Parameterized::class)
class GoldenTest(private val case: GoldenCase) {
    private val image by lazy { case.image() }
    private val placement by lazy { Placement.of(ModelSpec.input.resize, image.width, image.height, ModelSpec.input.width, ModelSpec.input.height) }

    @Test
    fun tensorsFitTheModelSpec() {
        val input = case.tensors["input"]
        assertEquals("$case: input type", ModelSpec.input.type.name.lowercase(), input["dtype"].string())
        assertArrayEquals("$case: input shape", intArrayOf(1, ModelSpec.input.height, ModelSpec.input.width, ModelSpec.input.channels), input["shape"].ints())
        val outputs = case.tensors["outputs"].items
        assertEquals("$case: number of outputs", ModelSpec.outputs.size, outputs.size)
        for (output in ModelSpec.outputs) {
            val entry = outputs[output.index]
            assertEquals("$case: output ${output.index} type", output.type.name.lowercase(), entry["dtype"].string())
            assertArrayEquals("$case: output ${output.index} shape", output.shape, entry["shape"].ints())
        }
    }

    @Test
    fun placementMatchesTheReference() {
        val expected = case.expected["placement"]
        assertEquals("$case: image width", case.expected["image"]["width"].int(), image.width)
        assertEquals("$case: image height", case.expected["image"]["height"].int(), image.height)
        assertEquals("$case: source rectangle", expected["source"].rect(), placement.source)
        assertEquals("$case: target rectangle", expected["target"].rect(), placement.target)
    }

    @Test
    fun inputTensorMatchesTheReference() {
        val preprocessor = Preprocessor(ModelSpec.input)
        assertEquals("$case: placement", placement, preprocessor.process(image.pixels, image.width, image.height))
        val actual = preprocessor.buffer
        val expected = case.input()
        assertEquals("$case: input bytes", expected.capacity(), actual.capacity())
        val float = ModelSpec.input.type == TensorType.FLOAT32
        var different = 0
        var worst = 0f
        var failedAt = -1
        for (i in 0 until ModelSpec.input.size) {
            val want = value(expected, i)
            val difference = abs(value(actual, i) - want)
            // One quantum for an integer input; 1e-5 for a float one (relative beyond 1, for raw 0..255 inputs).
            val tolerance = if (float) 1e-5f * max(1f, abs(want)) else 1f
            if (difference > 0f) different++
            worst = max(worst, difference)
            if (difference > tolerance && failedAt < 0) failedAt = i
        }
        if (different > 0) println("$case: $different of ${ModelSpec.input.size} input values differ from the reference, by at most $worst")
        if (failedAt >= 0) {
            fail(
                "$case: input value $failedAt is ${value(actual, failedAt)}, the reference has ${value(expected, failedAt)} " +
                    "($different of ${ModelSpec.input.size} values differ)",
            )
        }
    }

    @Test
    fun resultsMatchTheReference() {
        checkResults(case, placement)
    }

    private fun value(buffer: ByteBuffer, i: Int): Float = when (ModelSpec.input.type) {
        TensorType.FLOAT32 -> buffer.getFloat(i * 4)
        TensorType.UINT8 -> (buffer.get(i).toInt() and 0xFF).toFloat()
        else -> buffer.get(i).toFloat()
    }

    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun cases(): List<GoldenCase> = GoldenCase.all().also {
            check(it.isNotEmpty()) { "no golden case in the test resources (golden/cases.txt): the parity tests would check nothing" }
        }
    }
}

internal fun Json.ints(): IntArray = items.map { it.int() }.toIntArray()

internal fun Json.rect() = PixelRect(this["left"].int(), this["top"].int(), this["width"].int(), this["height"].int())
