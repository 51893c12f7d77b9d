package com.example.shapes.detection.processing

import java.nio.ByteBuffer
import java.util.Random

/** The frame size the benchmarks feed: a 640x480 camera frame. */
const val FRAME_WIDTH = 640
const val FRAME_HEIGHT = 480

/** A camera-like frame: smooth gradients plus noise, so that no branch is always taken. */
fun syntheticFrame(width: Int = FRAME_WIDTH, height: Int = FRAME_HEIGHT, seed: Long = 1): IntArray {
    val random = Random(seed)
    return IntArray(width * height) { i ->
        val x = i % width
        val y = i / width
        val r = (x * 255 / width + random.nextInt(16)) and 0xFF
        val g = (y * 255 / height + random.nextInt(16)) and 0xFF
        val b = ((x + y) * 255 / (width + height) + random.nextInt(16)) and 0xFF
        (0xFF shl 24) or (r shl 16) or (g shl 8) or b
    }
}

/** Output buffers filled with random bytes (valid values for the output's type are set by [fill]). */
fun randomOutputs(outputs: List<OutputSpec>, seed: Long = 2, fill: (OutputSpec, ByteBuffer, Random) -> Unit = ::fillRandom): List<ByteBuffer> {
    val random = Random(seed)
    return outputs.sortedBy { it.index }.map { output -> output.newBuffer().also { fill(output, it, random) } }
}

fun fillRandom(output: OutputSpec, buffer: ByteBuffer, random: Random) {
    when (output.type) {
        TensorType.FLOAT32 -> for (i in 0 until output.size) buffer.putFloat(i * 4, random.nextFloat())
        else -> for (i in 0 until output.size * output.type.bytes) buffer.put(i, random.nextInt(256).toByte())
    }
}

/** Runs [block] until the JIT has settled, then prints the median and 90th percentile of [runs] timed calls. */
fun measure(label: String, warmup: Int = 300, runs: Int = 500, block: () -> Unit): Double {
    repeat(warmup) { block() }
    val times = DoubleArray(runs) {
        val start = System.nanoTime()
        block()
        (System.nanoTime() - start) / 1e6
    }
    times.sort()
    val median = times[runs / 2]
    println(String.format("%-76s median %7.3f ms   p90 %7.3f ms", label, median, times[runs * 9 / 10]))
    return median
}

/** A sum of medians, aligned with [measure]'s lines. */
fun printTotal(label: String, milliseconds: Double) {
    println(String.format("%-76s median %7.3f ms (sum)", label, milliseconds))
}
