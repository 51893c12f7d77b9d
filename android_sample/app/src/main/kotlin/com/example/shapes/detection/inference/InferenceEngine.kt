package com.example.shapes.detection.inference

import android.os.Build
import com.example.shapes.detection.processing.ModelSpec
import com.example.shapes.detection.processing.Preprocessor
import com.example.shapes.detection.processing.newBuffer
import com.example.shapes.detection.processing.rewindAsBuffer
import com.example.shapes.detection.task.ModelTask
import com.example.shapes.detection.task.TaskResult
import org.tensorflow.lite.Delegate
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import org.tensorflow.lite.nnapi.NnApiDelegate
import java.nio.ByteBuffer

/** One frame's answer and what it cost. */
class Inference(val result: TaskResult, val imageWidth: Int, val imageHeight: Int, val millis: Float)

/**
 * The interpreter with its delegate, the preprocessing and the task's post-processing. Not thread-safe:
 * create, run and close it on one thread (a GPU delegate must stay on the thread that created it).
 */
class InferenceEngine private constructor(
    private val interpreter: Interpreter,
    private val delegate: Delegate?,
    /** Where the interpreter runs: the backend asked for, or the CPU after a fallback. */
    val backend: Backend,
    /** Why [backend] is not the one asked for, or null. */
    val notice: String?,
    private val task: ModelTask,
) : AutoCloseable {
    private val preprocessor = Preprocessor(ModelSpec.input)
    private val outputs: List<ByteBuffer> = ModelSpec.outputs.sortedBy { it.index }.map { it.newBuffer() }
    private val outputsByIndex: Map<Int, Any> = outputs.indices.associateWith { outputs[it] }

    init {
        check(interpreter.inputTensorCount == 1 && interpreter.outputTensorCount == outputs.size) {
            "the model in the app does not match ModelSpec.kt: regenerate the project with tflgen"
        }
    }

    /** Preprocess [frame], run the model, and turn its outputs into the task's result. */
    fun run(frame: Frame, settings: InferenceSettings): Inference {
        val start = System.nanoTime()
        val placement = preprocessor.process(frame.argb, frame.width, frame.height)
        val result = task.interpret(invoke(preprocessor.buffer), placement, settings)
        return Inference(result, frame.width, frame.height, (System.nanoTime() - start) / 1e6f)
    }

    /**
     * Runs the model on an [input] tensor as it is (native byte order) and returns its raw outputs by output
     * index: the buffers this engine reuses, valid until the next run. The instrumented golden test feeds
     * tflgen's reference input through here, the interpreter path every frame takes.
     */
    fun invoke(input: ByteBuffer): List<ByteBuffer> {
        input.rewindAsBuffer()
        for (output in outputs) output.rewindAsBuffer() // the interpreter writes from each buffer's position
        interpreter.runForMultipleInputsOutputs(arrayOf<Any>(input), outputsByIndex)
        return outputs
    }

    override fun close() {
        interpreter.close()
        (delegate as? AutoCloseable)?.close() // after the interpreter that uses it
    }

    companion object {
        /** Opens [model] on the asked backend; an unavailable GPU or NNAPI falls back to the CPU with a [notice]. */
        fun open(model: ByteBuffer, settings: InferenceSettings, task: ModelTask): InferenceEngine {
            if (settings.backend == Backend.CPU) return withInterpreter(model, settings, null, Backend.CPU, null, task)
            var delegate: Delegate? = null
            return try {
                delegate = createDelegate(settings.backend)
                withInterpreter(model, settings, delegate, settings.backend, null, task)
            } catch (e: Exception) {
                (delegate as? AutoCloseable)?.close()
                fallBack(model, settings, task, e.message ?: e.javaClass.simpleName)
            } catch (e: LinkageError) { // the delegate's native library is missing on this device
                (delegate as? AutoCloseable)?.close()
                fallBack(model, settings, task, e.javaClass.simpleName)
            }
        }

        private fun fallBack(model: ByteBuffer, settings: InferenceSettings, task: ModelTask, reason: String): InferenceEngine =
            withInterpreter(model, settings, null, Backend.CPU, "${settings.backend} is not available here ($reason): running on the CPU", task)

        /** The engine around a new interpreter; the interpreter is closed if the engine can't be made. */
        private fun withInterpreter(
            model: ByteBuffer, settings: InferenceSettings, delegate: Delegate?, backend: Backend, notice: String?, task: ModelTask,
        ): InferenceEngine {
            val options = Interpreter.Options().setNumThreads(settings.threads)
            if (delegate != null) options.addDelegate(delegate)
            val interpreter = Interpreter(model, options)
            try {
                return InferenceEngine(interpreter, delegate, backend, notice, task)
            } catch (e: Throwable) {
                interpreter.close()
                throw e
            }
        }

        private fun createDelegate(backend: Backend): Delegate = when (backend) {
            Backend.GPU -> CompatibilityList().use { compatibility ->
                if (!compatibility.isDelegateSupportedOnThisDevice) throw UnsupportedOperationException("this device's GPU is not supported")
                GpuDelegate(compatibility.bestOptionsForThisDevice)
            }
            // NNAPI came with Android 8.1 and is deprecated from Android 15 (labelled so in the settings); it stays
            // because on Android 8.1 to 14 it is the Interpreter API's only way to an NPU or DSP for int8 models.
            Backend.NNAPI -> if (Build.VERSION.SDK_INT < Build.VERSION_CODES.O_MR1) {
                throw UnsupportedOperationException("NNAPI needs Android 8.1")
            } else {
                NnApiDelegate()
            }
            Backend.CPU -> throw IllegalArgumentException("the CPU needs no delegate")
        }
    }
}
