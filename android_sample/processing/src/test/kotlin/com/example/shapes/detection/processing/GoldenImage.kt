package com.example.shapes.detection.processing

import java.io.ByteArrayInputStream
import javax.imageio.ImageIO

/** Pixels as the app gets them from a Bitmap: ARGB, row after row. */
class ArgbImage(val width: Int, val height: Int, val pixels: IntArray)

/** The case's image.png, decoded by javax.imageio on the JVM (on a device the same pixels come from a Bitmap). */
fun GoldenCase.image(): ArgbImage {
    val image = ImageIO.read(ByteArrayInputStream(bytes("image.png"))) ?: error("$name: image.png is not a readable PNG")
    val pixels = image.getRGB(0, 0, image.width, image.height, null, 0, image.width)
    return ArgbImage(image.width, image.height, pixels)
}
