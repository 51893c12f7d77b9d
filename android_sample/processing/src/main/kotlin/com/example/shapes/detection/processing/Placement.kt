package com.example.shapes.detection.processing

/** A rectangle in whole pixels. */
data class PixelRect(val left: Int, val top: Int, val width: Int, val height: Int) {
    val right: Int get() = left + width
    val bottom: Int get() = top + height
}

/**
 * Which part of the image ([source], image pixels) the model sees, and where it lands in the
 * model's input ([target], input pixels). The rectangles are integer maths, the mapping back is
 * Float in the Python reference's order (tflgen's geometry.py), so both give the same numbers.
 */
data class Placement(
    val imageWidth: Int,
    val imageHeight: Int,
    val inputWidth: Int,
    val inputHeight: Int,
    val source: PixelRect,
    val target: PixelRect,
) {
    private val scaleX = source.width.toFloat() / target.width.toFloat()
    private val scaleY = source.height.toFloat() / target.height.toFloat()

    /** x in 0..1 of the model input to image pixels (not clamped). */
    fun imageX(x: Float): Float = source.left.toFloat() + (x * inputWidth.toFloat() - target.left.toFloat()) * scaleX

    /** y in 0..1 of the model input to image pixels (not clamped). */
    fun imageY(y: Float): Float = source.top.toFloat() + (y * inputHeight.toFloat() - target.top.toFloat()) * scaleY

    /** A model box (0..1 of the input) in image pixels, clamped to the image. */
    fun boxToImage(ymin: Float, xmin: Float, ymax: Float, xmax: Float): Box {
        val width = imageWidth.toFloat()
        val height = imageHeight.toFloat()
        return Box(
            left = imageX(xmin).coerceIn(0f, width),
            top = imageY(ymin).coerceIn(0f, height),
            right = imageX(xmax).coerceIn(0f, width),
            bottom = imageY(ymax).coerceIn(0f, height),
        )
    }

    companion object {
        /**
         * STRETCH: the whole image onto the whole input. CENTER_CROP: the largest centred part of the
         * image with the input's aspect ratio onto the whole input. LETTERBOX: the whole image onto
         * the largest centred part of the input with the image's aspect ratio (the rest is padding).
         */
        fun of(mode: ResizeMode, imageWidth: Int, imageHeight: Int, inputWidth: Int, inputHeight: Int): Placement {
            require(imageWidth > 0 && imageHeight > 0) { "empty image ${imageWidth}x$imageHeight" }
            val fullImage = PixelRect(0, 0, imageWidth, imageHeight)
            val fullInput = PixelRect(0, 0, inputWidth, inputHeight)
            // Aspect ratios compared exactly, in Long: the image is wider when w/h > W/H.
            val imageSide = imageWidth.toLong() * inputHeight
            val inputSide = imageHeight.toLong() * inputWidth
            val wider = imageSide > inputSide
            val taller = imageSide < inputSide
            var source = fullImage
            var target = fullInput
            when {
                mode == ResizeMode.CENTER_CROP && wider -> {
                    val width = roundDiv(imageHeight.toLong() * inputWidth, inputHeight).coerceIn(1, imageWidth)
                    source = PixelRect((imageWidth - width) / 2, 0, width, imageHeight)
                }
                mode == ResizeMode.CENTER_CROP && taller -> {
                    val height = roundDiv(imageWidth.toLong() * inputHeight, inputWidth).coerceIn(1, imageHeight)
                    source = PixelRect(0, (imageHeight - height) / 2, imageWidth, height)
                }
                mode == ResizeMode.LETTERBOX && wider -> {
                    val height = roundDiv(inputWidth.toLong() * imageHeight, imageWidth).coerceIn(1, inputHeight)
                    target = PixelRect(0, (inputHeight - height) / 2, inputWidth, height)
                }
                mode == ResizeMode.LETTERBOX && taller -> {
                    val width = roundDiv(inputHeight.toLong() * imageWidth, imageHeight).coerceIn(1, inputWidth)
                    target = PixelRect((inputWidth - width) / 2, 0, width, inputHeight)
                }
            }
            return Placement(imageWidth, imageHeight, inputWidth, inputHeight, source, target)
        }

        /** numerator / denominator rounded half up (both positive). */
        private fun roundDiv(numerator: Long, denominator: Int): Int = ((2 * numerator + denominator) / (2L * denominator)).toInt()
    }
}

/** A box in image pixels. */
data class Box(val left: Float, val top: Float, val right: Float, val bottom: Float)
