package com.example.shapes.detection.ui

import kotlin.math.max
import kotlin.math.min

/**
 * Image pixels to view pixels for an image scaled uniformly and centred in a view: [fill] covers the
 * view and crops the overflow (how PreviewView's default FILL_CENTER shows the camera), otherwise
 * the whole image fits inside (an ImageView's fitCenter, used for photos). Plain Kotlin, unit-tested.
 */
class ViewTransform(
    imageWidth: Int,
    imageHeight: Int,
    viewWidth: Int,
    viewHeight: Int,
    fill: Boolean,
) {
    val scale: Float
    private val offsetX: Float
    private val offsetY: Float

    init {
        require(imageWidth > 0 && imageHeight > 0) { "empty image ${imageWidth}x$imageHeight" }
        val scaleX = viewWidth.toFloat() / imageWidth
        val scaleY = viewHeight.toFloat() / imageHeight
        scale = if (fill) max(scaleX, scaleY) else min(scaleX, scaleY)
        offsetX = (viewWidth - imageWidth * scale) / 2f
        offsetY = (viewHeight - imageHeight * scale) / 2f
    }

    fun x(imageX: Float): Float = offsetX + imageX * scale

    fun y(imageY: Float): Float = offsetY + imageY * scale
}
