package com.example.shapes.detection.processing

import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.math.floor
import kotlin.math.min

/** The pixel value of the letterbox bars, in every channel, before normalization. */
const val LETTERBOX_PAD = 0f

/**
 * Camera pixels to the model's input tensor, with the same arithmetic as tflgen's Python
 * reference (so golden vectors match it exactly): fit the image as [InputSpec.resize] says with
 * our own bilinear resize (half-pixel centres; never a platform scaler, whose results differ),
 * normalize `(pixel - mean) / std`, and quantize for an integer input. One instance per
 * camera stream: its buffers are reused frame after frame.
 */
class Preprocessor(val input: InputSpec) {
    /** The input tensor, refilled by each [process] call: hand it to the interpreter as is. */
    val buffer: ByteBuffer = ByteBuffer.allocateDirect(input.size * input.type.bytes).order(ByteOrder.nativeOrder())

    private val pixels = FloatArray(input.size) // fitted pixels, model channel order
    private val bytes = if (input.type == TensorType.FLOAT32) ByteArray(0) else ByteArray(input.size)
    private var columns = Axis(0, 0)
    private var rows = Axis(0, 0)

    init {
        require(input.type in listOf(TensorType.FLOAT32, TensorType.UINT8, TensorType.INT8)) { "unsupported input type ${input.type}" }
        require(input.channels == if (input.color == ColorOrder.GRAY) 1 else 3) { "${input.channels} channels for ${input.color}" }
    }

    /**
     * Fills [buffer] from ARGB pixels (what `Bitmap.getPixels` gives, row after row, [width] per row)
     * and returns where the image was placed, to map results back to the image.
     */
    fun process(argb: IntArray, width: Int, height: Int): Placement {
        require(argb.size >= width * height) { "${argb.size} pixels for a ${width}x$height image" }
        val placement = Placement.of(input.resize, width, height, input.width, input.height)
        fit(argb, width, placement)
        encode()
        return placement
    }

    private fun fit(argb: IntArray, stride: Int, placement: Placement) {
        val source = placement.source
        val target = placement.target
        if (target.width != input.width || target.height != input.height) pixels.fill(LETTERBOX_PAD)
        if (columns.sizeIn != source.width || columns.low.size != target.width) columns = Axis(source.width, target.width)
        if (rows.sizeIn != source.height || rows.low.size != target.height) rows = Axis(source.height, target.height)
        val channels = input.channels
        val gray = input.color == ColorOrder.GRAY
        // Bit shift of model channel c inside an ARGB int.
        val shifts = if (input.color == ColorOrder.BGR) intArrayOf(0, 8, 16) else intArrayOf(16, 8, 0)
        for (y in 0 until target.height) {
            val row0 = (source.top + rows.low[y]) * stride + source.left
            val row1 = (source.top + rows.high[y]) * stride + source.left
            val fy = rows.fraction[y]
            var out = ((target.top + y) * input.width + target.left) * channels
            for (x in 0 until target.width) {
                val x0 = columns.low[x]
                val x1 = columns.high[x]
                val fx = columns.fraction[x]
                val p00 = argb[row0 + x0]
                val p01 = argb[row0 + x1]
                val p10 = argb[row1 + x0]
                val p11 = argb[row1 + x1]
                for (c in 0 until channels) {
                    val a = if (gray) luminance(p00) else (p00 ushr shifts[c]) and 0xFF
                    val b = if (gray) luminance(p01) else (p01 ushr shifts[c]) and 0xFF
                    val d = if (gray) luminance(p10) else (p10 ushr shifts[c]) and 0xFF
                    val e = if (gray) luminance(p11) else (p11 ushr shifts[c]) and 0xFF
                    // The reference's order of Float operations, term for term.
                    val top = a.toFloat() + (b.toFloat() - a.toFloat()) * fx
                    val bottom = d.toFloat() + (e.toFloat() - d.toFloat()) * fx
                    pixels[out++] = top + (bottom - top) * fy
                }
            }
        }
    }

    private fun encode() {
        val normalization = input.normalization
        val channels = input.channels
        if (normalization != null) {
            for (i in 0 until input.size step channels) {
                for (c in 0 until channels) pixels[i + c] = (pixels[i + c] - normalization.mean[c]) / normalization.std[c]
            }
        }
        buffer.clearAsBuffer()
        if (input.type == TensorType.FLOAT32) {
            buffer.asFloatBuffer().put(pixels)
            return
        }
        val type = input.type
        if (normalization == null) { // the model takes raw pixels
            for (i in 0 until input.size) bytes[i] = clampTo(type, roundHalfAwayFromZero(pixels[i])).toByte()
        } else {
            val quantization = checkNotNull(input.quantization) { "an integer input with a normalization needs its quantization" }
            for (i in 0 until input.size) bytes[i] = quantization.quantize(pixels[i], type).toByte()
        }
        buffer.put(bytes)
        buffer.rewindAsBuffer()
    }

    /** Source positions for each output position along one axis: half-pixel centres, clamped. */
    private class Axis(val sizeIn: Int, sizeOut: Int) {
        val low = IntArray(sizeOut)
        val high = IntArray(sizeOut)
        val fraction = FloatArray(sizeOut)

        init {
            val scale = sizeIn.toFloat() / sizeOut.toFloat()
            for (i in 0 until sizeOut) {
                val position = ((i.toFloat() + 0.5f) * scale - 0.5f).coerceIn(0f, (sizeIn - 1).toFloat())
                val lower = floor(position).toInt()
                low[i] = lower
                high[i] = min(lower + 1, sizeIn - 1)
                fraction[i] = position - lower.toFloat()
            }
        }
    }
}

/** PIL's luminance, in integers as tflgen's calibration reads gray images: (19595 R + 38470 G + 7471 B + 32768) >> 16. */
fun luminance(argb: Int): Int =
    (((argb ushr 16) and 0xFF) * 19595 + ((argb ushr 8) and 0xFF) * 38470 + (argb and 0xFF) * 7471 + 0x8000) ushr 16
