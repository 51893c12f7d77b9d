package com.example.shapes.detection.inference

/** An upright image as ARGB pixels (what `Bitmap.getPixels` gives), row after row. */
class Frame(val argb: IntArray, val width: Int, val height: Int) {
    init {
        require(width > 0 && height > 0 && argb.size >= width * height) { "${argb.size} pixels for a ${width}x$height frame" }
    }
}
