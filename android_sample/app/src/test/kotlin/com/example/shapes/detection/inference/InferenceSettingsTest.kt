package com.example.shapes.detection.inference

import com.example.shapes.detection.processing.ModelSpec
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class InferenceSettingsTest {
    @Test
    fun defaultsComeFromTheModelSpec() {
        val settings = InferenceSettings()
        assertEquals(ModelSpec.SCORE_THRESHOLD, settings.scoreThreshold, 0f)
        assertEquals(ModelSpec.MAX_RESULTS, settings.maxResults)
        assertEquals(Backend.CPU, settings.backend)
    }

    @Test
    fun onlyBackendAndThreadsNeedANewInterpreter() {
        val settings = InferenceSettings()
        assertFalse(settings.copy(scoreThreshold = 0.9f, maxResults = 1).needsNewInterpreter(settings))
        assertTrue(settings.copy(backend = Backend.GPU).needsNewInterpreter(settings))
        assertTrue(settings.copy(threads = settings.threads % InferenceSettings.MAX_THREADS + 1).needsNewInterpreter(settings))
    }

    @Test(expected = IllegalArgumentException::class)
    fun thresholdOutsideZeroToOneIsRefused() {
        InferenceSettings(scoreThreshold = 1.5f)
    }

    @Test(expected = IllegalArgumentException::class)
    fun zeroThreadsAreRefused() {
        InferenceSettings(threads = 0)
    }
}
