package com.example.shapes.detection.processing

import java.nio.Buffer
import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.math.abs
import kotlin.math.floor
import kotlin.math.sign

/** An integer tensor's real value: `(q - zeroPoint) * scale`. Every tensor has its own (never assume 1/255). */
data class Quantization(val scale: Float, val zeroPoint: Int) {
    fun dequantize(q: Int): Float = (q.toFloat() - zeroPoint.toFloat()) * scale

    /** `clamp(round(x / scale) + zeroPoint)` into [type]'s range, rounding half away from zero. */
    fun quantize(x: Float, type: TensorType): Int = clampTo(type, roundHalfAwayFromZero(x / scale) + zeroPoint.toFloat())
}

/**
 * Rounds half away from zero, in Float as the Python reference does: `sign(x) * floor(|x| + 0.5)`.
 * Not Math.round (half up) nor rint (half to even); the Float addition rounds like numpy's float32.
 */
fun roundHalfAwayFromZero(x: Float): Float = sign(x) * floor(abs(x) + 0.5f)

internal fun clampTo(type: TensorType, value: Float): Int = when (type) {
    TensorType.UINT8 -> value.coerceIn(0f, 255f).toInt()
    TensorType.INT8 -> value.coerceIn(-128f, 127f).toInt()
    else -> throw IllegalArgumentException("no integer range for $type here")
}

/** [buffer] as the interpreter filled it, read from its start in native byte order without moving it. */
internal fun nativeView(buffer: ByteBuffer): ByteBuffer = buffer.duplicate().order(ByteOrder.nativeOrder()).apply { rewindAsBuffer() }

/**
 * Buffer.rewind() and Buffer.clear(), called as Buffer's own methods. Compiled against JDK 9 or later, a call on a
 * ByteBuffer binds to ByteBuffer's covariant override, which Android lacks before Android 10 (API 29): the app,
 * whose minSdk is 26, would crash there with NoSuchMethodError.
 */
fun Buffer.rewindAsBuffer() {
    rewind()
}

fun Buffer.clearAsBuffer() {
    clear()
}

/** A direct buffer in native order, the kind the interpreter reads and writes without copying. */
fun OutputSpec.newBuffer(): ByteBuffer = ByteBuffer.allocateDirect(size * type.bytes).order(ByteOrder.nativeOrder())

/**
 * This output's values as Float, dequantized with its own scale and zero point.
 * [into] is reused when given (no allocation per frame for large outputs).
 */
fun OutputSpec.readFloats(buffer: ByteBuffer, into: FloatArray = FloatArray(size)): FloatArray {
    require(into.size >= size) { "need room for $size values, got ${into.size}" }
    val data = nativeView(buffer)
    val q = quantization
    when (type) {
        TensorType.FLOAT32 -> data.asFloatBuffer().get(into, 0, size)
        TensorType.UINT8 -> for (i in 0 until size) into[i] = valueOf(data.get(i).toInt() and 0xFF, q)
        TensorType.INT8 -> for (i in 0 until size) into[i] = valueOf(data.get(i).toInt(), q)
        TensorType.INT32 -> data.asIntBuffer().let { ints -> for (i in 0 until size) into[i] = valueOf(ints.get(i), q) }
        TensorType.INT64 -> data.asLongBuffer().let { longs -> for (i in 0 until size) into[i] = valueOf(longs.get(i).toInt(), q) }
    }
    return into
}

/** This output's values as Int (a label map's class indices); quantization is not applied. */
fun OutputSpec.readInts(buffer: ByteBuffer, into: IntArray = IntArray(size)): IntArray {
    require(into.size >= size) { "need room for $size values, got ${into.size}" }
    val data = nativeView(buffer)
    when (type) {
        TensorType.UINT8 -> for (i in 0 until size) into[i] = data.get(i).toInt() and 0xFF
        TensorType.INT8 -> for (i in 0 until size) into[i] = data.get(i).toInt()
        TensorType.INT32 -> data.asIntBuffer().get(into, 0, size)
        TensorType.INT64 -> data.asLongBuffer().let { longs -> for (i in 0 until size) into[i] = longs.get(i).toInt() }
        TensorType.FLOAT32 -> data.asFloatBuffer().let { floats -> for (i in 0 until size) into[i] = floats.get(i).toInt() }
    }
    return into
}

private fun valueOf(q: Int, quantization: Quantization?): Float = quantization?.dequantize(q) ?: q.toFloat()
