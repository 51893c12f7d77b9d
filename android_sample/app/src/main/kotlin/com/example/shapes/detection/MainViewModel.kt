package com.example.shapes.detection

import android.graphics.Bitmap
import androidx.lifecycle.ViewModel
import com.example.shapes.detection.inference.Backend
import com.example.shapes.detection.inference.EngineHealth
import com.example.shapes.detection.inference.Frame
import com.example.shapes.detection.inference.FrameRate
import com.example.shapes.detection.inference.Inference
import com.example.shapes.detection.inference.InferenceEngine
import com.example.shapes.detection.inference.InferenceSettings
import com.example.shapes.detection.task.ModelTask
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import java.nio.ByteBuffer
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * Runs the model on camera frames and photos and publishes the [UiState]. Holds no Context: it gets
 * a way to load the model and the task. All interpreter work happens on one background thread,
 * the [inferenceExecutor], which the camera's analyzer also runs on; the engine is closed there
 * when the app goes to the background ([release]; reopened by the next frame) and when the
 * ViewModel is cleared.
 */
class MainViewModel(private val loadModel: () -> ByteBuffer, private val task: ModelTask) : ViewModel() {
    /**
     * The inference thread. CameraX gets it as is: work it submits after the ViewModel is cleared
     * is rejected, and CameraX then closes the frame itself.
     */
    val inferenceExecutor: ExecutorService = Executors.newSingleThreadExecutor { runnable -> Thread(runnable, "inference") }

    private val mutableState = MutableStateFlow(UiState())
    val state: StateFlow<UiState> = mutableState.asStateFlow()

    // Touched on the inference thread only.
    private var model: ByteBuffer? = null
    private var engine: InferenceEngine? = null
    private val health = EngineHealth() // a failing backend falls back once, then stops: never reopened every frame
    private var photoFrame: Frame? = null
    private val frameRate = FrameRate()

    /** Whether camera frames are wanted now (the camera controller drops the others unconverted). */
    fun wantsCameraFrames(): Boolean = mutableState.value.source == ImageSource.CAMERA

    /** A camera frame; called on [inferenceExecutor] by the camera's analyzer. */
    fun analyzeCameraFrame(frame: Frame) {
        if (!wantsCameraFrames()) return
        val inference = infer(frame) ?: return
        val fps = frameRate.tick(System.nanoTime())
        mutableState.update { if (it.source == ImageSource.CAMERA) it.withInference(inference, fps) else it }
    }

    /** Shows a picked photo ([frame] holds its pixels) and runs the model on it. */
    fun showPhoto(photo: Bitmap, frame: Frame) {
        mutableState.update { it.copy(source = ImageSource.PHOTO, photo = photo, result = null, framesPerSecond = 0f) }
        post {
            photoFrame = frame
            analyzePhoto()
        }
    }

    /** Back to the live camera. */
    fun showCamera() {
        mutableState.update { it.copy(source = ImageSource.CAMERA, photo = null, result = null, framesPerSecond = 0f) }
        post {
            photoFrame = null
            frameRate.reset()
        }
    }

    fun updateSettings(settings: InferenceSettings) {
        val previous = mutableState.value.settings
        if (settings == previous) return
        mutableState.update { it.copy(settings = settings) }
        post {
            if (settings.needsNewInterpreter(previous)) {
                closeEngine() // reopened with the new settings by the next frame
                health.reset()
            }
            if (mutableState.value.source == ImageSource.PHOTO) analyzePhoto()
        }
    }

    /** Tells the user about a problem outside inference (the camera, a photo). */
    fun showNotice(notice: String) {
        mutableState.update { it.copy(notice = notice) }
    }

    /** The app left the screen: free the interpreter and its delegate (GPU memory); the next frame opens them again. */
    fun release() {
        post { closeEngine() }
    }

    override fun onCleared() {
        post { closeEngine() }
        inferenceExecutor.shutdown()
    }

    private fun post(work: () -> Unit) {
        if (!inferenceExecutor.isShutdown) inferenceExecutor.execute { work() }
    }

    private fun analyzePhoto() {
        val frame = photoFrame ?: return
        val inference = infer(frame) ?: return
        mutableState.update { if (it.source == ImageSource.PHOTO) it.withInference(inference, fps = 0f) else it }
    }

    /** Runs the engine, opening it first if need be; a failure becomes the notice. */
    private fun infer(frame: Frame): Inference? {
        val settings = mutableState.value.settings
        val current = engine ?: openEngine(settings) ?: return null
        return try {
            current.run(frame, settings)
        } catch (e: Exception) {
            closeEngine()
            val notice = health.failed(current.backend, e.message ?: e.javaClass.simpleName)
            mutableState.update { it.copy(result = null, notice = notice) }
            null
        }
    }

    /** The engine on the backend [health] allows for [settings], or null when inference has stopped. */
    private fun openEngine(settings: InferenceSettings): InferenceEngine? {
        val backend = health.backendFor(settings.backend) ?: return null
        return try {
            val bytes = model ?: loadModel().also { model = it }
            InferenceEngine.open(bytes, settings.copy(backend = backend), task).also { opened ->
                engine = opened
                // A fallback chosen by [health] keeps its notice; the engine's own fallback brings one.
                mutableState.update { it.copy(backendInUse = opened.backend, notice = opened.notice ?: it.notice.takeIf { backend != settings.backend }) }
            }
        } catch (e: Exception) {
            // open() already falls back to the CPU: this is the CPU interpreter failing on the model.
            val notice = health.failed(Backend.CPU, "the model could not be loaded: ${e.message ?: e.javaClass.simpleName}")
            mutableState.update { it.copy(result = null, notice = notice) }
            null
        }
    }

    private fun closeEngine() {
        engine?.close()
        engine = null
    }

    private fun UiState.withInference(inference: Inference, fps: Float): UiState = copy(
        result = inference.result,
        imageWidth = inference.imageWidth,
        imageHeight = inference.imageHeight,
        inferenceMillis = inference.millis,
        framesPerSecond = fps,
    )
}
