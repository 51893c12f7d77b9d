package com.example.shapes.detection.inference

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class EngineHealthTest {
    @Test
    fun aFailingGpuFallsBackToTheCpuOnceAndStaysThere() {
        val health = EngineHealth()
        assertEquals(Backend.GPU, health.backendFor(Backend.GPU))
        val notice = health.failed(Backend.GPU, "delegate error")
        assertTrue(notice, notice.contains("running on the CPU"))
        repeat(3) { assertEquals(Backend.CPU, health.backendFor(Backend.GPU)) }
    }

    @Test
    fun aFailingCpuStopsUntilTheSettingsChange() {
        val health = EngineHealth()
        health.failed(Backend.GPU, "delegate error")
        health.failed(Backend.CPU, "bad model")
        assertNull(health.backendFor(Backend.GPU))
        assertNull(health.backendFor(Backend.CPU))
        assertEquals("bad model", health.stopped)
        health.reset()
        assertNull(health.stopped)
        assertEquals(Backend.GPU, health.backendFor(Backend.GPU))
    }
}
