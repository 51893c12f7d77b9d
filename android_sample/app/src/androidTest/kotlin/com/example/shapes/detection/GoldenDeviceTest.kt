package com.example.shapes.detection

import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import com.example.shapes.detection.inference.Backend
import com.example.shapes.detection.inference.InferenceEngine
import com.example.shapes.detection.inference.InferenceSettings
import com.example.shapes.detection.inference.loadModel
import com.example.shapes.detection.processing.GoldenBackend
import com.example.shapes.detection.processing.GoldenCase
import com.example.shapes.detection.processing.GoldenFiles
import com.example.shapes.detection.processing.checkResults
import com.example.shapes.detection.processing.outputMismatch
import com.example.shapes.detection.task.modelTask
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Assume.assumeTrue
import org.junit.Test
import org.junit.runner.RunWith
import java.io.FileNotFoundException

/**
 * The golden cases on this device's LiteRT runtime: the model loaded as the app loads it, each case's reference
 * input run through [InferenceEngine.invoke] (the path every camera frame takes) on the CPU and, where the device
 * supports it, on the GPU delegate with its default float16 precision. Raw outputs must be within the tolerances
 * tflgen wrote into tensors.json, and the results must match expected.json under GoldenTest's rules, loosened only
 * near a tie by what those tolerances allow (see processing's DeviceToleranceTest, which proves the rules on the JVM):
 *
 * - CPU: two quanta of an integer output (two 8-bit steps of a float output's magnitude in an integer model),
 *   1e-5 of the output's magnitude for a float model, or twice the spread tflgen measured between LiteRT's two
 *   CPU kernel sets on the case, whichever is largest: kernels for other CPUs round differently.
 * - GPU: the CPU tolerance plus 32 float16 unit roundoffs (32 x 2^-11) of the output's magnitude. An integer model
 *   has no GPU tolerance (the delegate computes it in float, off by the quantization error itself): skipped.
 *
 * The golden files are the processing module's test resources, packaged as this test APK's assets.
 */
@RunWith(AndroidJUnit4::class)
class GoldenDeviceTest {
    private val instrumentation = InstrumentationRegistry.getInstrumentation()
    private val files = GoldenFiles { path ->
        try {
            instrumentation.context.assets.open(path).use { it.readBytes() }
        } catch (e: FileNotFoundException) {
            null
        }
    }

    @Test
    fun cpuGivesTheGoldenOutputs() = check(Backend.CPU, GoldenBackend.CPU)

    @Test
    fun gpuGivesTheGoldenOutputsWithinFloat16() = check(Backend.GPU, GoldenBackend.GPU)

    private fun check(backend: Backend, tolerance: GoldenBackend) {
        val cases = GoldenCase.all(files)
        assertTrue("no golden case in the test APK's assets (golden/cases.txt): this test would check nothing", cases.isNotEmpty())
        val tolerances = cases.map { it.tolerances(tolerance) }
        assumeTrue("no $backend tolerance in tensors.json (an integer model: the GPU computes it in float)", tolerances.all { it != null })
        val model = loadModel(instrumentation.targetContext.assets)
        InferenceEngine.open(model, InferenceSettings(backend = backend), modelTask()).use { engine ->
            assumeTrue("${engine.notice}", engine.backend == backend) // no usable GPU here: the engine fell back to the CPU
            for ((case, within) in cases.zip(tolerances.requireNoNulls())) {
                val outputs = engine.invoke(case.input())
                outputMismatch(case, backend.name, outputs, within)?.let { fail(it) }
                checkResults(case, case.placement(), outputs, within, backend.name)
            }
        }
    }
}
