package com.example.shapes.detection.camera

import com.example.shapes.detection.inference.Frame
import java.nio.ByteBuffer

/** A rectangle of a camera buffer in pixels, as `android.graphics.Rect`: left/top inclusive, right/bottom exclusive. */
data class CropRect(val left: Int, val top: Int, val right: Int, val bottom: Int) {
    val width: Int get() = right - left
    val height: Int get() = bottom - top

    init {
        require(left >= 0 && top >= 0 && width > 0 && height > 0) { "empty or negative crop $left,$top,$right,$bottom" }
    }
}

/**
 * Camera frames (ImageAnalysis' RGBA_8888: one plane, R, G, B, A bytes per pixel, rows [rowStride]
 * bytes apart) to upright ARGB [Frame]s: the [CropRect] that the preview's ViewPort gave the analysis
 * cut out (`ImageProxy.toBitmap()` ignores it), and the sensor rotation undone, in one pass.
 *
 * One pixel array serves every frame: the [Frame] returned is valid until the next call, which is
 * what the single analysis thread needs (a camera frame is analysed before the next one arrives).
 */
class UprightFrames {
    private var pixels = IntArray(0)

    /** The upright ARGB frame of [crop] in [rgba], turned clockwise by [rotationDegrees] (0, 90, 180 or 270). */
    fun convert(rgba: ByteBuffer, rowStride: Int, pixelStride: Int, crop: CropRect, rotationDegrees: Int): Frame {
        require(pixelStride >= 4 && rowStride >= crop.right * pixelStride) { "not an RGBA_8888 plane: pixel stride $pixelStride, row stride $rowStride" }
        val width = crop.width
        val height = crop.height
        if (pixels.size < width * height) pixels = IntArray(width * height)
        val out = pixels
        val turn = ((rotationDegrees % 360) + 360) % 360
        val uprightWidth = if (turn == 90 || turn == 270) height else width
        for (y in 0 until height) {
            var at = (crop.top + y) * rowStride + crop.left * pixelStride
            for (x in 0 until width) {
                val r = rgba.get(at).toInt() and 0xFF
                val g = rgba.get(at + 1).toInt() and 0xFF
                val b = rgba.get(at + 2).toInt() and 0xFF
                at += pixelStride
                // Where (x, y) lands once the image is turned clockwise.
                val index = when (turn) {
                    0 -> y * width + x
                    90 -> x * uprightWidth + (height - 1 - y)
                    180 -> (height - 1 - y) * width + (width - 1 - x)
                    270 -> (width - 1 - x) * uprightWidth + y
                    else -> throw IllegalArgumentException("rotation $rotationDegrees is not a multiple of 90")
                }
                out[index] = OPAQUE or (r shl 16) or (g shl 8) or b
            }
        }
        return Frame(out, uprightWidth, width * height / uprightWidth)
    }

    private companion object {
        const val OPAQUE = 0xFF shl 24
    }
}
