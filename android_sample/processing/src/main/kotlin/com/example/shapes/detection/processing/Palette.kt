package com.example.shapes.detection.processing

/**
 * The PASCAL VOC colour map: distinct colours from the bits of the class index, the same on every
 * device. Mask classes and detection boxes are coloured with it.
 */
object Palette {
    private val rgb = IntArray(256) { voc(it) }

    /** ARGB colour of [classIndex] with [alpha]; class 0 (background) is transparent. */
    fun color(classIndex: Int, alpha: Int = 0xFF): Int {
        if (classIndex == 0) return 0
        return (alpha shl 24) or (if (classIndex in rgb.indices) rgb[classIndex] else voc(classIndex))
    }

    private fun voc(classIndex: Int): Int {
        var r = 0
        var g = 0
        var b = 0
        var c = classIndex
        for (bit in 7 downTo 0) {
            r = r or ((c and 1) shl bit)
            g = g or (((c shr 1) and 1) shl bit)
            b = b or (((c shr 2) and 1) shl bit)
            c = c shr 3
        }
        return (r shl 16) or (g shl 8) or b
    }
}
