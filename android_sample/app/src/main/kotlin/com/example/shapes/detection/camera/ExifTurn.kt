package com.example.shapes.detection.camera

/** How to show a stored image upright: turn it clockwise by [degrees], then mirror it left to right if [mirrored]. */
data class ImageTurn(val degrees: Int, val mirrored: Boolean) {
    companion object {
        val NONE = ImageTurn(0, false)
    }
}

/**
 * The turn that shows a photo upright, from its EXIF orientation tag (1..8, TIFF 6.0 / Exif 2.3
 * `Orientation`: where the stored first row and first column are in the picture). Android 8's
 * BitmapFactory leaves it unapplied (ImageDecoder, from Android 9, applies it itself).
 */
fun exifTurn(orientation: Int): ImageTurn = when (orientation) {
    2 -> ImageTurn(0, true) // first row at the top, first column on the right
    3 -> ImageTurn(180, false) // first row at the bottom, first column on the right
    4 -> ImageTurn(180, true) // first row at the bottom, first column on the left
    5 -> ImageTurn(90, true) // first row on the left, first column at the top (transposed)
    6 -> ImageTurn(90, false) // first row on the right, first column at the top
    7 -> ImageTurn(270, true) // first row on the right, first column at the bottom (transversed)
    8 -> ImageTurn(270, false) // first row on the left, first column at the bottom
    else -> ImageTurn.NONE // 1 (normal), 0 (undefined) and anything unknown
}
