package com.example.shapes.detection.camera

import android.content.ContentResolver
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.ImageDecoder
import android.graphics.Matrix
import android.media.ExifInterface
import android.net.Uri
import android.os.Build
import com.example.shapes.detection.inference.Frame
import java.io.IOException
import kotlin.math.max

/** The bitmap's pixels as a [Frame] (a photo: once per photo, so a new array is fine). */
fun Bitmap.toFrame(): Frame {
    val pixels = IntArray(width * height)
    getPixels(pixels, 0, width, 0, 0, width, height)
    return Frame(pixels, width, height)
}

/** The bitmap turned as [turn] says (a new bitmap), or this one when there is nothing to turn. */
fun Bitmap.turned(turn: ImageTurn): Bitmap {
    if (turn == ImageTurn.NONE) return this
    val matrix = Matrix().apply {
        postRotate(turn.degrees.toFloat())
        if (turn.mirrored) postScale(-1f, 1f)
    }
    return Bitmap.createBitmap(this, 0, 0, width, height, matrix, true)
}

/**
 * A picked photo, upright and at most about [maxSide] pixels on its longer side (a 12 MP photo
 * would take 48 MB as ARGB pixels; the model sees a few hundred pixels anyway).
 */
fun decodePhoto(resolver: ContentResolver, uri: Uri, maxSide: Int = 1280): Bitmap {
    if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
        // ImageDecoder applies the EXIF orientation; a software bitmap can be read with getPixels.
        val source = ImageDecoder.createSource(resolver, uri)
        return ImageDecoder.decodeBitmap(source) { decoder, info, _ ->
            decoder.allocator = ImageDecoder.ALLOCATOR_SOFTWARE
            decoder.setTargetSampleSize(sampleSize(info.size.width, info.size.height, maxSide))
        }
    }
    // Android 8: BitmapFactory leaves the EXIF orientation unapplied, so it is read and applied here.
    val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
    resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, bounds) }
    val options = BitmapFactory.Options().apply { inSampleSize = sampleSize(bounds.outWidth, bounds.outHeight, maxSide) }
    val bitmap = resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, options) }
        ?: throw IOException("$uri is not an image this device can decode")
    val orientation = resolver.openInputStream(uri)?.use {
        ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)
    } ?: ExifInterface.ORIENTATION_NORMAL
    return bitmap.turned(exifTurn(orientation))
}

/** The power-of-two subsampling that keeps the longer side at least [maxSide]. */
private fun sampleSize(width: Int, height: Int, maxSide: Int): Int {
    var sample = 1
    while (max(width, height) / (sample * 2) >= maxSide) sample *= 2
    return sample
}
