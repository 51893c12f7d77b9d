package com.example.shapes.detection.camera

import android.content.Context
import android.hardware.display.DisplayManager
import android.util.Size
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.core.UseCaseGroup
import androidx.camera.core.resolutionselector.AspectRatioStrategy
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.core.resolutionselector.ResolutionStrategy
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.core.view.doOnLayout
import androidx.lifecycle.LifecycleOwner
import com.example.shapes.detection.inference.Frame
import java.util.concurrent.Executor

/**
 * Owns CameraX: the back camera's preview in [previewView] and an analysis stream of upright ARGB
 * frames handed to [onFrame] on [analysisExecutor] while [wantsFrames]. Only the latest frame is
 * kept while the analyzer is busy, and every frame is closed whatever happens (an unclosed frame
 * stalls the camera). Bound to [lifecycleOwner]: CameraX stops and releases the camera with it;
 * call [release] when the owner is destroyed.
 *
 * Preview and analysis are bound as one [UseCaseGroup] with the preview's [androidx.camera.core.ViewPort],
 * so CameraX gives the analysis frames a crop rect that is exactly what the preview shows; the frames
 * are cut to it, so results drawn over the preview (scaled to fill it) line up with what is on screen.
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
    private val frames = UprightFrames() // reused: one pixel array for every camera frame
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
            // The preview's viewport exists once the view has its size.
            previewView.doOnLayout {
                try {
                    bind(future.get())
                } catch (e: Exception) {
                    onError("The camera could not be started: ${e.message ?: e.javaClass.simpleName}")
                }
            }
        }, ContextCompat.getMainExecutor(context))
    }

    fun release() {
        displays.unregisterDisplayListener(displayListener)
        provider?.unbindAll()
    }

    private fun bind(cameraProvider: ProcessCameraProvider) {
        provider = cameraProvider
        // Both streams 4:3 (the sensor's own shape on most phones); the viewport then crops both to the preview's shape.
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
            // Converted (or skipped while a photo is shown) and closed before the model runs, so the
            // camera can fill its next buffer meanwhile; the pixels are in [frames]' own array.
            val frame = image.use {
                if (!wantsFrames()) return@use null
                val plane = it.planes[0]
                val crop = it.cropRect
                frames.convert(plane.buffer, plane.rowStride, plane.pixelStride, CropRect(crop.left, crop.top, crop.right, crop.bottom), it.imageInfo.rotationDegrees)
            }
            if (frame != null) onFrame(frame)
        }
        this.analysis = analysis
        val group = UseCaseGroup.Builder().addUseCase(preview).addUseCase(analysis)
        previewView.viewPort?.let(group::setViewPort)
        cameraProvider.unbindAll()
        cameraProvider.bindToLifecycle(lifecycleOwner, CameraSelector.DEFAULT_BACK_CAMERA, group.build())
    }

    private companion object {
        /** The model input is far smaller; a larger frame would only cost time to convert. */
        val ANALYSIS_SIZE = Size(640, 480)
    }
}
