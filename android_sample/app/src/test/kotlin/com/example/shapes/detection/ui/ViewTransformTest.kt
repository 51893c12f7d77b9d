package com.example.shapes.detection.ui

import org.junit.Assert.assertEquals
import org.junit.Test

class ViewTransformTest {
    @Test
    fun fillCoversTheViewAndCropsTheOverflow() {
        // A 640x480 frame filling a 1080x1920 portrait view: scaled by 4 to 2560 px wide, 740 px cut off each side.
        val transform = ViewTransform(640, 480, 1080, 1920, fill = true)
        assertEquals(4f, transform.scale, 0f)
        assertEquals(-740f, transform.x(0f), 1e-3f)
        assertEquals(1080f + 740f, transform.x(640f), 1e-3f)
        assertEquals(0f, transform.y(0f), 1e-3f)
        assertEquals(1920f, transform.y(480f), 1e-3f)
    }

    @Test
    fun fitShowsTheWholeImageCentred() {
        // The same image fitted: scaled by 1080/640, bars above and below.
        val transform = ViewTransform(640, 480, 1080, 1920, fill = false)
        val scale = 1080f / 640f
        assertEquals(scale, transform.scale, 1e-6f)
        assertEquals(0f, transform.x(0f), 1e-3f)
        assertEquals(1080f, transform.x(640f), 1e-3f)
        val bar = (1920f - 480f * scale) / 2f
        assertEquals(bar, transform.y(0f), 1e-3f)
        assertEquals(1920f - bar, transform.y(480f), 1e-3f)
    }

    @Test
    fun sameAspectRatioMapsCornerToCorner() {
        for (fill in listOf(true, false)) {
            val transform = ViewTransform(300, 200, 600, 400, fill)
            assertEquals(0f, transform.x(0f), 0f)
            assertEquals(600f, transform.x(300f), 0f)
            assertEquals(400f, transform.y(200f), 0f)
        }
    }
}
