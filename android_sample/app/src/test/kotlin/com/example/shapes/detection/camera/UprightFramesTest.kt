package com.example.shapes.detection.camera

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertSame
import org.junit.Test
import java.nio.ByteBuffer

class UprightFramesTest {
    // A 5x3 RGBA buffer with 8 padding bytes after each row; pixel (x, y) has R = x, G = y, B = 7.
    private val width = 5
    private val height = 3
    private val rowStride = width * 4 + 8
    private val buffer: ByteBuffer = ByteBuffer.allocateDirect(rowStride * height).apply {
        for (y in 0 until height) for (x in 0 until width) {
            val at = y * rowStride + x * 4
            put(at, x.toByte()); put(at + 1, y.toByte()); put(at + 2, 7.toByte()); put(at + 3, 0x80.toByte())
        }
    }

    private fun argb(x: Int, y: Int) = (0xFF shl 24) or (x shl 16) or (y shl 8) or 7

    /** What turning [rows] (row after row) clockwise by [degrees] gives, the slow and obvious way. */
    private fun turned(rows: List<List<Int>>, degrees: Int): List<List<Int>> {
        var image = rows
        repeat(degrees / 90) { image = image[0].indices.map { column -> image.indices.reversed().map { image[it][column] } } }
        return image
    }

    @Test
    fun cropsAndTurnsEveryWay() {
        val crop = CropRect(1, 0, 4, 2) // 3x2: x 1..3, y 0..1
        val cropped = (0 until 2).map { y -> (1 until 4).map { x -> argb(x, y) } }
        for (degrees in listOf(0, 90, 180, 270)) {
            val frame = UprightFrames().convert(buffer, rowStride, 4, crop, degrees)
            val expected = turned(cropped, degrees)
            assertEquals("width at $degrees", expected[0].size, frame.width)
            assertEquals("height at $degrees", expected.size, frame.height)
            assertArrayEquals("pixels at $degrees", expected.flatten().toIntArray(), frame.argb.copyOf(frame.width * frame.height))
        }
    }

    @Test
    fun theWholeBufferUnturnedIsThePixelsAsTheyAre() {
        val frame = UprightFrames().convert(buffer, rowStride, 4, CropRect(0, 0, width, height), 0)
        assertEquals(argb(4, 2), frame.argb[2 * width + 4])
        assertEquals(argb(0, 0), frame.argb[0])
    }

    @Test
    fun onePixelArrayServesEveryFrame() {
        val frames = UprightFrames()
        val first = frames.convert(buffer, rowStride, 4, CropRect(0, 0, width, height), 90)
        val second = frames.convert(buffer, rowStride, 4, CropRect(1, 1, 3, 3), 0)
        assertSame(first.argb, second.argb)
    }

    @Test(expected = IllegalArgumentException::class)
    fun aRotationOffTheRightAnglesIsRefused() {
        UprightFrames().convert(buffer, rowStride, 4, CropRect(0, 0, width, height), 45)
    }
}
