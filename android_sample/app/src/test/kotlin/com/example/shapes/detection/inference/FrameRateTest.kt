package com.example.shapes.detection.inference

import org.junit.Assert.assertEquals
import org.junit.Test

class FrameRateTest {
    @Test
    fun steadyFramesGiveTheirRate() {
        val rate = FrameRate()
        assertEquals(0f, rate.tick(0L), 0f) // one frame: no interval yet
        var now = 0L
        var fps = 0f
        repeat(10) {
            now += 40_000_000L // 25 fps
            fps = rate.tick(now)
        }
        assertEquals(25f, fps, 1e-3f)
    }

    @Test
    fun slowerFramesLowerTheRateGradually() {
        val rate = FrameRate(smoothing = 0.5f)
        rate.tick(0L)
        rate.tick(20_000_000L) // 50 fps
        val fps = rate.tick(60_000_000L) // a 40 ms interval: mean 30 ms
        assertEquals(1e9f / 30_000_000f, fps, 1e-3f)
    }

    @Test
    fun resetForgetsThePast() {
        val rate = FrameRate()
        rate.tick(0L)
        rate.tick(10_000_000L)
        rate.reset()
        assertEquals(0f, rate.perSecond, 0f)
        assertEquals(0f, rate.tick(50_000_000L), 0f)
    }
}
