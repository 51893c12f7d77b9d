package com.example.shapes.detection

import android.graphics.Bitmap
import com.example.shapes.detection.inference.Backend
import com.example.shapes.detection.inference.InferenceSettings
import com.example.shapes.detection.task.TaskResult

/** What the model is looking at: the live camera or a picked photo. */
enum class ImageSource { CAMERA, PHOTO }

/** Everything the screen shows, produced by [MainViewModel]. */
data class UiState(
    val source: ImageSource = ImageSource.CAMERA,
    /** The picked photo while [source] is PHOTO (kept here so that it survives a rotation). */
    val photo: Bitmap? = null,
    /** The latest result, or null before the first one. */
    val result: TaskResult? = null,
    /** Size of the (upright) image [result] refers to, in pixels. */
    val imageWidth: Int = 0,
    val imageHeight: Int = 0,
    /** Preprocessing, inference and post-processing of the latest frame. */
    val inferenceMillis: Float = 0f,
    /** Camera frames analysed per second (0 for a photo). */
    val framesPerSecond: Float = 0f,
    val settings: InferenceSettings = InferenceSettings(),
    /** Where the interpreter actually runs (the CPU after a fallback). */
    val backendInUse: Backend = settings.backend,
    /** A fallback or failure to tell the user about, or null. */
    val notice: String? = null,
)
