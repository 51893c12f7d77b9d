package com.example.shapes.detection.camera

import android.content.Context
import android.hardware.display.DisplayManager
import android.util.Size
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.core.resolutionselector.AspectRatioStrategy
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.core.resolutionselector.ResolutionStrategy
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.lifecycle.LifecycleOwner
import com.example.shapes.detection.inference.Frame
import java.util.concurrent.Executor

/**
 * Owns CameraX: the back camera's preview in [previewView] and an analysis stream of upright ARGB
 * frames handed to [onFrame] on [analysisExecutor] while [wantsFrames]. Only the latest frame is
 * kept while the analyzer is busy, and every frame is closed whatever happens (an unclosed frame
 * stalls the camera). Bound to [lifecycleOwner]: CameraX stops and releases the camera with it;
 * call [release] when the owner is destroyed.
 */
class CameraController(
    private val context: Context,
    private val lifecycleOwner: LifecycleOwner,
    private val previewView: PreviewView,
    private val analysisExecutor: Executor,
    private val wantsFrames: () -> Boolean,
    private val onFrame: (Frame) -> Unit,
    private val onError: (String) -> Unit,
) {
    private var provider: ProcessCameraProvider? = null
    private var analysis: ImageAnalysis? = null
    private val displays = context.getSystemService(DisplayManager::class.java)

    // A 180-degree turn does not recreate the activity: keep the frames upright for the display as it is now.
    private val displayListener = object : DisplayManager.DisplayListener {
        override fun onDisplayAdded(displayId: Int) = Unit

        override fun onDisplayRemoved(displayId: Int) = Unit

        override fun onDisplayChanged(displayId: Int) {
            val display = previewView.display ?: return
            if (display.displayId == displayId) analysis?.targetRotation = display.rotation
        }
    }

    fun start() {
        displays.registerDisplayListener(displayListener, null)
        val future = ProcessCameraProvider.getInstance(context)
        future.addListener({
            try {
                bind(future.get())
            } catch (e: Exception) {
                onError("The camera could not be started: ${e.message ?: e.javaClass.simpleName}")
            }
        }, ContextCompat.getMainExecutor(context))
    }

    fun release() {
        displays.unregisterDisplayListener(displayListener)
        provider?.unbindAll()
    }

    private fun bind(cameraProvider: ProcessCameraProvider) {
        provider = cameraProvider
        // Preview and analysis share the 4:3 aspect ratio, so boxes drawn over the preview line up.
        val aspectRatio = AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY
        val preview = Preview.Builder()
            .setResolutionSelector(ResolutionSelector.Builder().setAspectRatioStrategy(aspectRatio).build())
            .build()
        preview.setSurfaceProvider(previewView.surfaceProvider)
        val analysis = ImageAnalysis.Builder()
            .setResolutionSelector(
                ResolutionSelector.Builder()
                    .setAspectRatioStrategy(aspectRatio)
                    .setResolutionStrategy(ResolutionStrategy(ANALYSIS_SIZE, ResolutionStrategy.FALLBACK_RULE_CLOSEST_HIGHER_THEN_LOWER))
                    .build(),
            )
            .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
            .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
            .build()
        analysis.setAnalyzer(analysisExecutor) { image ->
            if (!wantsFrames()) {
                image.close() // a photo is shown: not even converted
            } else {
                val frame = image.use { it.toUprightFrame() }
                onFrame(frame)
            }
        }
        this.analysis = analysis
        cameraProvider.unbindAll()
        cameraProvider.bindToLifecycle(lifecycleOwner, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
    }

    private companion object {
        /** The model input is far smaller; a larger frame would only cost time to convert. */
        val ANALYSIS_SIZE = Size(640, 480)
    }
}
